package storage

import (
	"bytes"
	"cmp"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func TestDayOf(t *testing.T) {
	for _, tc := range []struct {
		t    int64
		want int32
	}{
		{0, 0},
		{1, 0},
		{nanosPerDay - 1, 0},
		{nanosPerDay, 1},
		{-1, -1},
		{-nanosPerDay, -1},
		{-nanosPerDay - 1, -2},
		{day0.UnixNano(), 20513},
		{math.MaxInt64, 106751},
		{math.MinInt64, -106752},
	} {
		if got := dayOf(tc.t); got != tc.want {
			t.Errorf("dayOf(%d) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

func TestEventKeyRoundTrip(t *testing.T) {
	for _, k := range []eventKey{
		{account: "123456789012", region: "us-east-1", eventTime: day0.UnixNano(), eventID: "3c856bc0-1a07-4c18-89d9-4d9205856714"},
		{account: "123456789012", region: "", eventTime: 0, eventID: "x"},
		{account: "a", region: "eu-west-1", eventTime: -1, eventID: "before-1970"},
		{account: "a", region: "r", eventTime: math.MinInt64, eventID: "min"},
		{account: "a", region: "r", eventTime: math.MaxInt64, eventID: "max"},
		{account: "ünïcode", region: "ap-southeast-2", eventTime: nanosPerDay, eventID: "id\xff\x01"},
	} {
		key := appendSummaryKey([]byte("prefix"), k.account, k.region, k.eventTime, k.eventID)
		if !bytes.HasPrefix(key, []byte("prefix")) {
			t.Fatalf("appendSummaryKey(%+v) did not append: %q", k, key)
		}
		got, err := parseEventKey(key[len("prefix"):])
		if err != nil {
			t.Fatalf("parseEventKey(appendSummaryKey(%+v)): %v", k, err)
		}
		if got != k {
			t.Errorf("round trip of %+v gave %+v", k, got)
		}

		for _, api := range [][2]string{{"s3.amazonaws.com", "GetObject"}, {"", ""}, {"a\x00b", "\xff"}} {
			key := appendRecordKey([]byte("prefix"), k.account, api[0], api[1], k.region, k.eventTime, k.eventID)
			kb, source, name, err := splitRecordKey(key[len("prefix"):])
			if err != nil {
				t.Fatalf("splitRecordKey(appendRecordKey(%+v, %q)): %v", k, api, err)
			}
			got := eventKey{account: string(kb.account), region: string(kb.region), eventTime: kb.eventTime, eventID: string(kb.eventID)}
			if got != k || string(source) != api[0] || string(name) != api[1] {
				t.Errorf("round trip of %+v, %q gave %+v, %q, %q", k, api, got, source, name)
			}
		}
	}
}

// summaryKey is the summary key of k.
func summaryKey(k eventKey) []byte {
	return appendSummaryKey(nil, k.account, k.region, k.eventTime, k.eventID)
}

func TestEventIDKeyRoundTrip(t *testing.T) {
	for _, k := range []eventKey{
		{account: "123456789012", region: "us-east-1", eventTime: day0.UnixNano() + 12345, eventID: "3c856bc0-1a07-4c18-89d9-4d9205856714"},
		{account: "a", region: "", eventTime: -5, eventID: "b"},
		{account: "", region: "eu-central-1", eventTime: math.MaxInt64, eventID: ""},
		{account: "a", region: "r\xff", eventTime: math.MinInt64, eventID: "id\xff"},
	} {
		key := appendEventIDKey(nil, k.account, k.region, k.eventTime, k.eventID)
		got, err := splitEventIDKey(key)
		if err != nil {
			t.Fatalf("splitEventIDKey(appendEventIDKey(%+v)): %v", k, err)
		}
		if got.hash != eventIDHash(k.eventID) || string(got.account) != k.account || string(got.region) != k.region || got.eventTime != k.eventTime {
			t.Errorf("round trip of %+v gave %+v", k, got)
		}
		// The entry leads back to the event's summary key.
		if sk := appendSummaryKey(nil, got.account, got.region, got.eventTime, []byte(k.eventID)); !bytes.Equal(sk, summaryKey(k)) {
			t.Errorf("summary key from the entry of %+v = %q, want %q", k, sk, summaryKey(k))
		}
		if prefix := appendEventIDPrefix(nil, dayOf(k.eventTime), k.eventID); !bytes.HasPrefix(key, prefix) {
			t.Errorf("key %x does not start with its eventID prefix %x", key, prefix)
		}
	}
}

// The hash is part of the layout: a change would make every stored entry
// unfindable. It is 32-bit FNV-1a: the published test values, and the
// standard library's on a CloudTrail eventID.
func TestEventIDHashIsFNV1a(t *testing.T) {
	for id, want := range map[string]uint32{"": 0x811c9dc5, "a": 0xe40c292c, "foobar": 0xbf9cf968} {
		if got := eventIDHash(id); got != want {
			t.Errorf("eventIDHash(%q) = %#x, want %#x", id, got, want)
		}
	}
	id := "3c856bc0-1a07-4c18-89d9-4d9205856714"
	h := fnv.New32a()
	h.Write([]byte(id))
	if got, want := eventIDHash(id), h.Sum32(); got != want || eventIDHash([]byte(id)) != want {
		t.Errorf("eventIDHash(%q) = %#x, want %#x", id, got, want)
	}
}

func TestUint64RoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 1 << 32, math.MaxUint64} {
		got, err := parseUint64(appendUint64(nil, v))
		if err != nil || got != v {
			t.Errorf("round trip of %d gave %d, %v", v, got, err)
		}
	}
}

// Byte order of keys must be the logical order of their fields: day, account,
// region, eventTime, eventID. Checked on random keys, including negative times
// and accounts that are prefixes of each other.
func TestEventKeyOrderIsLogicalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	times := []int64{math.MinInt64, -nanosPerDay - 1, -1, 0, 1, nanosPerDay - 1, nanosPerDay, day0.UnixNano(), math.MaxInt64}
	keys := make([]eventKey, 500)
	for i := range keys {
		keys[i] = eventKey{
			account:   pick("1", "12", "123", "2", "a", ""),
			region:    pick("", "us-east-1", "us-east-10", "eu-west-1"),
			eventTime: times[rng.IntN(len(times))],
			eventID:   pick("", "a", "ab", "b", "\xff"),
		}
		if t := keys[i].eventTime; t != math.MinInt64 && t != math.MaxInt64 {
			keys[i].eventTime += int64(rng.IntN(3)) - 1
		}
	}
	logical := func(a, b eventKey) int {
		return cmp.Or(
			cmp.Compare(dayOf(a.eventTime), dayOf(b.eventTime)),
			cmp.Compare(a.account, b.account),
			cmp.Compare(a.region, b.region),
			cmp.Compare(a.eventTime, b.eventTime),
			cmp.Compare(a.eventID, b.eventID),
		)
	}
	for i := 0; i+1 < len(keys); i++ {
		a, b := keys[i], keys[i+1]
		want := logical(a, b)
		got := bytes.Compare(summaryKey(a), summaryKey(b))
		if got != want {
			t.Fatalf("bytes.Compare(%+v, %+v) = %d, logical order says %d", a, b, got, want)
		}
	}
	// And sorting by bytes gives the logical order.
	byBytes := slices.Clone(keys)
	slices.SortFunc(byBytes, func(a, b eventKey) int {
		return bytes.Compare(summaryKey(a), summaryKey(b))
	})
	if !slices.IsSortedFunc(byBytes, logical) {
		t.Error("keys sorted by bytes are not in logical order")
	}
}

// Within one day and eventID hash, entries are in (account, eventTime,
// region) order, and days in day order.
func TestEventIDKeyOrderIsLogicalOrder(t *testing.T) {
	keys := []eventKey{
		{account: "z", eventTime: math.MinInt64, eventID: "x"},
		{account: "a", eventTime: -1, eventID: "x"},
		{account: "", eventTime: 5, eventID: "x"},
		{account: "a", eventTime: 5, region: "", eventID: "x"},
		{account: "a", eventTime: 5, region: "r", eventID: "x"},
		{account: "a", eventTime: 6, region: "", eventID: "x"},
		{account: "ab", eventTime: 0, eventID: "x"},
		{account: "", eventTime: nanosPerDay, eventID: "x"},
		{account: "", eventTime: math.MaxInt64, eventID: "x"},
	}
	for i := 0; i+1 < len(keys); i++ {
		a := appendEventIDKey(nil, keys[i].account, keys[i].region, keys[i].eventTime, keys[i].eventID)
		b := appendEventIDKey(nil, keys[i+1].account, keys[i+1].region, keys[i+1].eventTime, keys[i+1].eventID)
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("key of %+v does not sort before key of %+v", keys[i], keys[i+1])
		}
	}
}

func TestKeyspacesAreDisjointAndBounded(t *testing.T) {
	sk := summaryKey(eventKey{account: "\xff\xff", region: "\xff", eventTime: math.MaxInt64, eventID: "\xff\xff\xff"})
	rk := appendRecordKey(nil, "\xff\xff", "\xff", "\xff", "\xff", math.MaxInt64, "\xff\xff\xff")
	ik := appendEventIDKey(nil, "\xff", "\xff", math.MaxInt64, "\xff\xff")
	for _, tc := range []struct {
		key, lower, upper []byte
	}{
		{appliedIndexKey, allKeysLower, keyUpperBound([]byte{prefixMeta})},
		{eventCountKey, allKeysLower, keyUpperBound([]byte{prefixMeta})},
		{sk, summaryKeyspace, keyUpperBound(summaryKeyspace)},
		{rk, recordKeyspace, keyUpperBound(recordKeyspace)},
		{ik, eventIDKeyspace, keyUpperBound(eventIDKeyspace)},
		{sk, allKeysLower, allKeysUpper},
		{rk, allKeysLower, allKeysUpper},
		{ik, allKeysLower, allKeysUpper},
	} {
		if bytes.Compare(tc.key, tc.lower) < 0 || bytes.Compare(tc.key, tc.upper) >= 0 {
			t.Errorf("key %x is outside [%x, %x)", tc.key, tc.lower, tc.upper)
		}
	}
	if bytes.Compare(keyUpperBound(summaryKeyspace), recordKeyspace) > 0 || bytes.Compare(keyUpperBound(recordKeyspace), eventIDKeyspace) > 0 {
		t.Error("the summary, record and eventID keyspaces overlap")
	}
}

func TestKeyUpperBound(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte{0x20}, []byte{0x21}},
		{[]byte{0x20, 0x01}, []byte{0x20, 0x02}},
		{[]byte{0x20, 0xff}, []byte{0x21}},
		{[]byte{0x20, 0xff, 0xff}, []byte{0x21}},
		{[]byte{0xff}, nil},
	} {
		if got := keyUpperBound(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("keyUpperBound(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
}

func TestParseRejectsMalformedKeys(t *testing.T) {
	good := summaryKey(eventKey{account: "a", region: "r", eventTime: 5, eventID: "e"})
	record := appendRecordKey(nil, "a", "s", "n", "r", 5, "e")
	parseRecord := func(src []byte) error { _, _, _, err := splitRecordKey(src); return err }
	wrongDay := slices.Clone(good)
	wrongDay[4]++ // day field no longer matches eventTime
	parseEvent := func(src []byte) error { _, err := parseEventKey(src); return err }
	parseIndex := func(src []byte) error { _, err := splitEventIDKey(src); return err }
	idKey := appendEventIDKey(nil, "a", "r", 5, "e")
	idWrongDay := slices.Clone(idKey)
	idWrongDay[4]++
	for name, tc := range map[string]struct {
		parse func([]byte) error
		src   []byte
	}{
		"empty":                     {parseEvent, nil},
		"eventID key as event key":  {parseEvent, idKey},
		"event key as eventID key":  {parseIndex, good},
		"meta key":                  {parseEvent, appliedIndexKey},
		"short day":                 {parseEvent, good[:3]},
		"no account terminator":     {parseEvent, good[:6]},
		"short time":                {parseEvent, good[:len(good)-5]},
		"day differs from time":     {parseEvent, wrongDay},
		"empty eventID key":         {parseIndex, nil},
		"eventID key without day":   {parseIndex, []byte{prefixEventID}},
		"eventID key without hash":  {parseIndex, idKey[:7]},
		"eventID key without term.": {parseIndex, idKey[:10]},
		"eventID key, short time":   {parseIndex, idKey[:13]},
		"eventID key, wrong day":    {parseIndex, idWrongDay},
		"summary key as record key": {parseRecord, good},
		"record key as summary key": {parseEvent, record},
		"record key, short source":  {parseRecord, record[:8]},
		"record key, short name":    {parseRecord, record[:10]},
		"record key, short time":    {parseRecord, record[:len(record)-5]},
	} {
		if err := tc.parse(tc.src); !errors.Is(err, errBadKey) {
			t.Errorf("%s: parse(%x) error = %v, want errBadKey", name, tc.src, err)
		}
	}
	if _, err := parseUint64([]byte{1, 2, 3}); !errors.Is(err, errBadKey) {
		t.Errorf("parseUint64 of 3 bytes: error = %v, want errBadKey", err)
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	e := &cairnv1.Event{EventName: "PutObject", EventSource: "s3.amazonaws.com", Username: "alice", AccessKeyId: "AKIAEXAMPLE",
		ErrorCode: "AccessDenied", SourceIp: "203.0.113.7", ReadOnly: "false",
		Resources: []*cairnv1.Resource{{Name: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}, {Name: "arn:aws:s3:::b/k", Type: "AWS::S3::Object"}},
		Columns:   300, EventCategory: "Data"}
	enc := appendSummary(nil, e)
	columnsLen := 2 + 1 + len("Data") // uvarint 300, then the category
	s, err := parseSummary(enc)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{string(s.eventName), string(s.eventSource), string(s.username), string(s.accessKeyID), string(s.errorCode), string(s.sourceIP), string(s.readOnly)}
	want := []string{e.EventName, e.EventSource, e.Username, e.AccessKeyId, e.ErrorCode, e.SourceIp, e.ReadOnly}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %q, want %q", got, want)
	}
	if !s.hasResource(0, "arn:aws:s3:::b/k") || !s.hasResource(1, "AWS::S3::Bucket") || s.hasResource(0, "AWS::S3::Bucket") || s.hasResource(1, "x") {
		t.Fatal("hasResource answers wrong")
	}
	if s.columns != e.Columns || string(s.category) != e.EventCategory {
		t.Fatalf("columns %d category %q, want %d %q", s.columns, s.category, e.Columns, e.EventCategory)
	}
	// A summary written before the category existed ends after the columns.
	if old, err := parseSummary(enc[:len(enc)-1-len("Data")]); err != nil || old.columns != e.Columns || len(old.category) != 0 {
		t.Fatalf("summary without category: %+v, %v", old, err)
	}
	// A summary written before columns existed ends after the resources.
	old, err := parseSummary(enc[:len(enc)-columnsLen])
	if err != nil || old.columns != 0 || !old.hasResource(0, "arn:aws:s3:::b/k") {
		t.Fatalf("summary without columns: %+v, %v", old, err)
	}
	for cut := range len(enc) {
		if _, err := parseSummary(enc[:cut]); err == nil && cut != len(enc)-columnsLen && cut != len(enc)-1-len("Data") {
			t.Fatalf("summary cut at %d parsed", cut)
		}
	}
	if _, err := parseSummary(append(enc, 0)); err == nil {
		t.Fatal("summary with a trailing byte parsed")
	}
}
