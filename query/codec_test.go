package query

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

var sampleValues = []Value{
	nullValue, BoolValue(true), BoolValue(false), IntValue(0), IntValue(-1), IntValue(math.MaxInt64), IntValue(math.MinInt64),
	FloatValue(1.5), FloatValue(math.Inf(-1)), FloatValue(math.NaN()), StringValue(""), StringValue("héllo \"x\"\n"),
	TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC)), dateValue(-1), dateValue(20455),
	intervalValue(-86400e9 - 1), monthsValue(14), JSONValue(`{"a":[1,2]}`), JSONValue(`"s"`),
}

func TestValueCodecRoundTrip(t *testing.T) {
	var buf []byte
	for _, v := range sampleValues {
		buf = appendValue(buf, v)
	}
	buf = append(buf, 0xff) // what follows the values
	rest := buf
	for i, want := range sampleValues {
		var got Value
		var err error
		if rest, err = parseValue(rest, &got); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if got.kind != want.kind || got.n != want.n || got.s != want.s {
			t.Errorf("value %d: got %#v, want %#v", i, got, want)
		}
	}
	if !bytes.Equal(rest, []byte{0xff}) {
		t.Errorf("rest = %x", rest)
	}
	for _, bad := range [][]byte{{}, {tagInt}, {tagFloat, 1, 2}, {tagString, 5, 'a'}, {99}} {
		var v Value
		if _, err := parseValue(bad, &v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("parseValue(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestValueJSONAndString(t *testing.T) {
	tests := []struct {
		v          Value
		json, text string
	}{
		{nullValue, `null`, `NULL`},
		{BoolValue(true), `true`, `true`},
		{IntValue(-42), `-42`, `-42`},
		{FloatValue(2.5), `2.5`, `2.5`},
		{FloatValue(math.NaN()), `"NaN"`, `NaN`},
		{FloatValue(math.Inf(1)), `"Infinity"`, `Infinity`},
		{StringValue("a\"b\\c\x01"), `"a\"b\\c\u0001"`, "a\"b\\c\x01"},
		{TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), `"2026-01-02T03:04:05Z"`, `2026-01-02T03:04:05Z`},
		{TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 120e6, time.UTC)), `"2026-01-02T03:04:05.120Z"`, `2026-01-02T03:04:05.120Z`},
		{TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC)), `"2026-01-02T03:04:05.000001Z"`, `2026-01-02T03:04:05.000001Z`},
		{TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 1, time.FixedZone("x", 3600))), `"2026-01-02T02:04:05.000000001Z"`, `2026-01-02T02:04:05.000000001Z`},
		{dateValue(20455), `"2026-01-02"`, `2026-01-02`},
		{intervalValue(7*86400e9 + 3600e9 + 1e6), `"7 01:00:00.001"`, `7 01:00:00.001`},
		{monthsValue(-14), `"-1-2"`, `-1-2`},
		{JSONValue(`[{"a":1}]`), `[{"a":1}]`, `[{"a":1}]`},
	}
	for _, tt := range tests {
		if got := string(tt.v.JSON()); got != tt.json {
			t.Errorf("%#v.JSON() = %s, want %s", tt.v, got, tt.json)
		}
		if got := tt.v.String(); got != tt.text {
			t.Errorf("%#v.String() = %s, want %s", tt.v, got, tt.text)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	good := map[string]string{
		"2026-01-02":                      "2026-01-02T00:00:00Z",
		"2026-01-02 03:04":                "2026-01-02T03:04:00Z",
		"2026-01-02 03:04:05":             "2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05Z":            "2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05.5Z":          "2026-01-02T03:04:05.500Z",
		"2026-01-02 03:04:05.123456789":   "2026-01-02T03:04:05.123456789Z",
		"2026-01-02T03:04:05+01:00":       "2026-01-02T02:04:05Z",
		"2026-01-02 03:04:05 -0130":       "2026-01-02T04:34:05Z",
		"2026-01-02 03:04:05 UTC":         "2026-01-02T03:04:05Z",
		"2024-02-29T00:00:00Z":            "2024-02-29T00:00:00Z",
		"2026-01-02T03:04:05.1234567891Z": "2026-01-02T03:04:05.123456789Z",
	}
	for in, want := range good {
		ns, ok := parseTimestamp(in)
		if !ok || formatISO(ns) != want {
			t.Errorf("parseTimestamp(%q) = %s, %v; want %s", in, formatISO(ns), ok, want)
		}
	}
	for _, bad := range []string{"", "2026", "2026-1-2", "2026-13-01", "2025-02-29", "2026-01-02X", "2026-01-02 25:00",
		"2026-01-02 03:04:61", "2026-01-02T03:04:05.Z", "2026-01-02 03:04:05 +25:00", "${date_filter}", "3000-01-01"} {
		if _, ok := parseTimestamp(bad); ok {
			t.Errorf("parseTimestamp(%q) succeeded", bad)
		}
	}
}

func TestMergeRejectsBadInput(t *testing.T) {
	_, raws := fixture()
	p := mustCompile(t, `SELECT eventName, count(*) FROM events GROUP BY 1`)
	pa := p.NewPartial()
	for _, r := range raws {
		if err := pa.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := pa.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation is corrupt; none panics.
	for i := 0; i < len(enc); i++ {
		if err := p.NewMerger().Merge(enc[:i]); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrPlanMismatch) {
			t.Fatalf("Merge of %d of %d bytes: %v", i, len(enc), err)
		}
	}
	other := mustCompile(t, `SELECT eventName, count(*) FROM events GROUP BY 1 LIMIT 1`)
	if err := other.NewMerger().Merge(enc); !errors.Is(err, ErrPlanMismatch) {
		t.Errorf("another query's partial: %v", err)
	}
	later, err := Compile(`SELECT eventName, count(*) FROM events GROUP BY 1`, Options{Now: testNow.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := later.NewMerger().Merge(enc); !errors.Is(err, ErrPlanMismatch) {
		t.Errorf("a partial compiled with another Now: %v", err)
	}
	bad := append([]byte{}, enc...)
	bad[0] = 9
	if err := p.NewMerger().Merge(bad); !errors.Is(err, ErrPlanMismatch) {
		t.Errorf("another codec version: %v", err)
	}
	if err := p.NewMerger().Merge(append(enc, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("trailing byte: %v", err)
	}
	m := p.NewMerger()
	_ = m.Merge(enc[:5])
	if err := m.Merge(enc); err == nil {
		t.Error("a Merger that failed must keep failing")
	}
}

func TestPartialEncodingIsCompact(t *testing.T) {
	_, raws := fixture()
	p := mustCompile(t, `SELECT eventID FROM events ORDER BY eventTime DESC LIMIT 3`)
	pa := p.NewPartial()
	for _, r := range raws {
		if err := pa.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := pa.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Three rows of an id and a timestamp: well under 200 bytes.
	if len(enc) > 200 {
		t.Errorf("top-3 partial is %d bytes", len(enc))
	}
	if st := pa.Stats(); st.Seen != int64(len(raws)) || st.Matched != int64(len(raws)) {
		t.Errorf("stats %+v", st)
	}
	m := p.NewMerger()
	if err := m.Merge(enc); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(enc); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Seen != 2*int64(len(raws)) {
		t.Errorf("merged stats %+v", st)
	}
}

func TestDoneAndLimits(t *testing.T) {
	_, raws := fixture()
	p := mustCompile(t, `SELECT eventID FROM events WHERE readOnly LIMIT 5`)
	pa := p.NewPartial()
	n := 0
	for _, r := range raws {
		if pa.Done() {
			break
		}
		if err := pa.Add(r); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if !pa.Done() || pa.Stats().Matched != 5 || n == len(raws) {
		t.Errorf("LIMIT 5: done %v after %d records, stats %+v", pa.Done(), n, pa.Stats())
	}
	enc, _ := pa.Encode()
	m := p.NewMerger()
	if m.Done() {
		t.Error("an empty Merger is done")
	}
	_ = m.Merge(enc)
	if !m.Done() {
		t.Error("Merger with LIMIT rows is not done")
	}
	if ordered := mustCompile(t, `SELECT eventID FROM events ORDER BY eventTime LIMIT 5`).NewPartial(); ordered.Add(raws[0]) != nil || ordered.Done() {
		t.Error("a top-N partial must not be done early")
	}
	if d := mustCompile(t, `SELECT DISTINCT awsRegion FROM events LIMIT 2`).NewPartial(); func() bool {
		for _, r := range raws {
			_ = d.Add(r)
		}
		return !d.Done()
	}() {
		t.Error("SELECT DISTINCT … LIMIT 2 must be done after two regions")
	}

	// Resource limits.
	opts := testOptions()
	opts.MaxGroups = 10
	lim, err := Compile(`SELECT eventID, count(*) FROM events GROUP BY eventID`, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(lim, raws); !errors.Is(err, ErrLimit) || err.Error() != "query result too large: more than 10 groups and distinct values; narrow the query (WHERE, a shorter time range, fewer GROUP BY keys, LIMIT) or raise Options.MaxGroups" {
		t.Errorf("MaxGroups: %v", err)
	}
	lim, _ = Compile(`SELECT count(DISTINCT eventID) FROM events`, opts)
	if _, err := Execute(lim, raws); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxGroups for DISTINCT values: %v", err)
	}
	opts.MaxRows = 10
	lim, _ = Compile(`SELECT eventID FROM events`, opts)
	if _, err := Execute(lim, raws); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxRows: %v", err)
	}
	lim, _ = Compile(`SELECT eventID FROM events ORDER BY eventTime LIMIT 50`, opts)
	if _, err := Execute(lim, raws); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxRows for a top-N: %v", err)
	}
	lim, _ = Compile(`SELECT eventID FROM events ORDER BY eventTime LIMIT 10`, opts)
	if _, err := Execute(lim, raws); err != nil {
		t.Errorf("a top-10 within MaxRows 10: %v", err)
	}
}
