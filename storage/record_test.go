package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// cloudTrailRecord is a record as CloudTrail writes it, with the fields a
// record key holds.
const cloudTrailRecord = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"ops"},` +
	`"eventTime":"2026-11-07T13:22:35Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"eu-central-1",` +
	`"sourceIPAddress":"203.0.113.7","requestParameters":{"bucketName":"logs","key":"a/b"},"requestID":"VZ8C4DMCT244X186",` +
	`"eventID":"2f29c1ef-d7e1-49ec-8fc2-344fb8d95167","readOnly":false,"eventType":"AwsApiCall","managementEvent":false,` +
	`"recipientAccountId":"111122223333","eventCategory":"Data"}`

func cloudTrailKey() recordKey[string] {
	return recordKey[string]{account: "111122223333", source: "s3.amazonaws.com", name: "PutObject", region: "eu-central-1",
		eventID: "2f29c1ef-d7e1-49ec-8fc2-344fb8d95167", eventTime: time.Date(2026, 11, 7, 13, 22, 35, 0, time.UTC).UnixNano()}
}

// roundTrip stores raw under k and reads it back, and returns the value.
func roundTrip(t *testing.T, raw string, k recordKey[string]) []byte {
	t.Helper()
	value := appendRecordValue([]byte("prefix"), []byte(raw), &k)
	if !bytes.HasPrefix(value, []byte("prefix")) {
		t.Fatalf("appendRecordValue dropped what dst held: %q", value)
	}
	value = value[len("prefix"):]
	bk := recordKey[[]byte]{account: []byte(k.account), source: []byte(k.source), name: []byte(k.name),
		region: []byte(k.region), eventID: []byte(k.eventID), eventTime: k.eventTime}
	got, err := appendRecord([]byte("x"), value, &bk)
	if err != nil {
		t.Fatalf("appendRecord(%q): %v", value, err)
	}
	if string(got) != "x"+raw {
		t.Fatalf("record read back as %q,\nwant %q\n(value %q)", got[1:], raw, value)
	}
	return value
}

// cutsOf returns the fields value cuts, in the order of the record, and its
// body.
func cutsOf(t *testing.T, value []byte) (cut []string, body string) {
	t.Helper()
	if len(value) == 0 || value[0] != recordCut {
		return nil, string(value)
	}
	rest := value[2:]
	for range value[1] {
		c, n := binary.Uvarint(rest)
		if n <= 0 {
			t.Fatalf("bad cut in %q", value)
		}
		cut = append(cut, recordFields[c&7])
		rest = rest[n:]
	}
	return cut, string(rest)
}

func TestRecordValueCutsTheKeysFields(t *testing.T) {
	k := cloudTrailKey()
	value := roundTrip(t, cloudTrailRecord, k)
	cut, body := cutsOf(t, value)
	if want := []string{"eventTime", "eventSource", "eventName", "awsRegion", "eventID", "recipientAccountId"}; !slices.Equal(cut, want) {
		t.Errorf("cut %q, want %q", cut, want)
	}
	want := cloudTrailRecord
	for _, v := range []string{"2026-11-07T13:22:35Z", "s3.amazonaws.com", "PutObject", "eu-central-1", k.eventID, `"recipientAccountId":"111122223333"`} {
		if strings.HasPrefix(v, `"`) { // the account is in userIdentity too, and stays there
			want = strings.Replace(want, v, `"recipientAccountId":""`, 1)
		} else {
			want = strings.Replace(want, v, "", 1)
		}
	}
	if body != want {
		t.Errorf("body = %q,\nwant %q", body, want)
	}
	if saved := len(cloudTrailRecord) - len(value); saved < 20+16+9+12+36+12-12 {
		t.Errorf("value is only %d bytes shorter than the record", saved)
	}
}

func TestRecordValueKeepsWhatItCannotCut(t *testing.T) {
	k := recordKey[string]{account: "111122223333", source: "ec2.amazonaws.com", name: "RunInstances", region: "us-east-1",
		eventID: "id-1", eventTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()}
	for _, tc := range []struct {
		name, raw string
		cut       []string
		body      string // when cut
	}{
		{"nothing of the key", `{"a":1}`, nil, ""},
		{"escaped eventID", `{"eventID":"id\u002d1"}`, nil, ""},
		{"white space", "{ \"eventID\" :\t\"id-1\", \n\"eventName\": \"RunInstances\"}", []string{"eventID", "eventName"}, "{ \"eventID\" :\t\"\", \n\"eventName\": \"\"}"},
		{"another eventID", `{"eventID":"id-2"}`, nil, ""},
		{"a longer eventID", `{"eventID":"id-12","x":1}`, nil, ""},
		{"eventID not a string", `{"eventID":1}`, nil, ""},
		{"a nested field first", `{"requestParameters":{"eventName":"RunInstances"},"eventName":"RunInstances"}`,
			[]string{"eventName"}, `{"requestParameters":{"eventName":"RunInstances"},"eventName":""}`},
		{"in an array", `{"resources":[{"eventID":"id-1"}],"eventID":"id-1"}`, []string{"eventID"}, `{"resources":[{"eventID":"id-1"}],"eventID":""}`},
		{"a value that looks like a name", `{"x":"eventID","y":"id-1"}`, nil, ""},
		{"an escaped quote before", `{"x":"a\"b","eventID":"id-1"}`, []string{"eventID"}, `{"x":"a\"b","eventID":""}`},
		{"fractional seconds", `{"eventTime":"2026-01-02T03:04:05.000Z"}`, nil, ""},
		{"an offset", `{"eventTime":"2026-01-02T03:04:05+00:00"}`, nil, ""},
		{"canonical time", `{"eventTime":"2026-01-02T03:04:05Z"}`, []string{"eventTime"}, `{"eventTime":""}`},
		{"account from userIdentity only", `{"userIdentity":{"accountId":"111122223333"}}`, nil, ""},
		{"twice", `{"eventID":"id-1","eventID":"id-1"}`, []string{"eventID"}, `{"eventID":"","eventID":"id-1"}`},
		{"out of order", `{"recipientAccountId":"111122223333","awsRegion":"us-east-1"}`, []string{"recipientAccountId", "awsRegion"}, `{"recipientAccountId":"","awsRegion":""}`},
		{"not JSON, starting with the header byte", "\x01\x01\x04{\"eventID\":\"\"}", nil, ""},
		{"unterminated", `{"eventID":"id-1`, nil, ""},
		{"empty", ``, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value := roundTrip(t, tc.raw, k)
			cut, body := cutsOf(t, value)
			if !slices.Equal(cut, tc.cut) {
				t.Errorf("cut %q, want %q", cut, tc.cut)
			}
			if tc.cut != nil && body != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
			if tc.cut == nil && (tc.raw == "" || tc.raw[0] != recordCut) && string(value) != tc.raw {
				t.Errorf("value = %q, want the record as it is", value)
			}
		})
	}
	// A key field that is empty is never cut.
	empty := recordKey[string]{eventID: "e"}
	if cut, _ := cutsOf(t, roundTrip(t, `{"awsRegion":"","eventID":"e"}`, empty)); !slices.Equal(cut, []string{"eventID"}) {
		t.Errorf("cut %q, want only eventID", cut)
	}
}

func TestRecordValueRejectsCorruptValues(t *testing.T) {
	k := recordKey[[]byte]{eventID: []byte("e")}
	for _, value := range []string{
		"\x01",           // no count
		"\x01\x07",       // too many cuts
		"\x01\x01",       // a missing cut
		"\x01\x01\x80",   // an unfinished cut
		"\x01\x01\x06{}", // a field that does not exist
		"\x01\x01\x1c{}", // a gap past the body
		"\x01\x01\x00{}", // an eventTime the key cannot give
	} {
		k.eventTime = 1 // not a whole second
		if raw, err := appendRecord(nil, []byte(value), &k); !errors.Is(err, errBadKey) {
			t.Errorf("appendRecord(%q) = %q, %v; want errBadKey", value, raw, err)
		}
	}
}

func TestAppendRecordTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 7, 13, 22, 35, 0, time.UTC), "2026-11-07T13:22:35Z"},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), "1900-01-01T00:00:00Z"},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), "1969-12-31T23:59:59Z"},
		{time.Date(2026, 11, 7, 13, 22, 35, 1, time.UTC), ""},
	} {
		if got := appendRecordTime(nil, tc.t.UnixNano()); string(got) != tc.want {
			t.Errorf("appendRecordTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// FuzzRecordValue checks that every record reads back as it was stored,
// whatever its bytes and key.
func FuzzRecordValue(f *testing.F) {
	k := cloudTrailKey()
	f.Add([]byte(cloudTrailRecord), k.account, k.source, k.name, k.region, k.eventID, k.eventTime)
	f.Add([]byte(`{"eventName":"","x":{"eventName":"a"},"eventName":"a"}`), "", "", "a", "", "", int64(0))
	f.Add([]byte("\x01\x01\x00\"eventTime\":\"\""), "", "", "", "", "", int64(0))
	f.Add([]byte(`{"eventID":"a\\"b","awsRegion":"r","x":[{"eventName":"n"}],"eventName":"n"}`), "", "", "n", "r", `a\"b`, int64(0))
	f.Fuzz(func(t *testing.T, raw []byte, account, source, name, region, eventID string, eventTime int64) {
		k := recordKey[string]{account: account, source: source, name: name, region: region, eventID: eventID, eventTime: eventTime}
		value := appendRecordValue(nil, raw, &k)
		got, err := appendRecord(nil, value, &k)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("record %q stored as %q read back as %q, %v", raw, value, got, err)
		}
	})
}

func BenchmarkRecordValue(b *testing.B) {
	k := cloudTrailKey()
	bk := recordKey[[]byte]{account: []byte(k.account), source: []byte(k.source), name: []byte(k.name),
		region: []byte(k.region), eventID: []byte(k.eventID), eventTime: k.eventTime}
	raw := []byte(cloudTrailRecord)
	var value, back []byte
	b.Run("cut", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			value = appendRecordValue(value[:0], raw, &k)
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			back, _ = appendRecord(back[:0], value, &bk)
		}
	})
}

func BenchmarkRecordValueGenerated(b *testing.B) {
	events := newEventGen(1, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)).batch(1000)
	keys := make([]recordKey[string], len(events))
	var size int
	for i, e := range events {
		keys[i] = recordKey[string]{account: e.Account, source: e.EventSource, name: e.EventName, region: e.Region, eventID: e.EventId, eventTime: e.EventTimeUnixNano}
		size += len(e.Raw)
	}
	var value []byte
	b.Run("find", func(b *testing.B) {
		for b.Loop() {
			for _, e := range events {
				findRecordFields(e.Raw)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/record")
	})
	b.Run("cut", func(b *testing.B) {
		for b.Loop() {
			for i, e := range events {
				value = appendRecordValue(value[:0], e.Raw, &keys[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/record")
		b.ReportMetric(float64(size)/float64(len(events)), "B/record")
	})
}

func TestRecordFieldIndex(t *testing.T) {
	for i, f := range recordFields {
		if got := recordFieldIndex([]byte(f)); got != i {
			t.Errorf("recordFieldIndex(%q) = %d, want %d", f, got, i)
		}
	}
	for _, name := range []string{"", "eventid", "eventType", "eventNamE", "awsregion", "eventSourcE", "userIdentity", "recipientAccountID", "requestParameters"} {
		if got := recordFieldIndex([]byte(name)); got != -1 {
			t.Errorf("recordFieldIndex(%q) = %d, want -1", name, got)
		}
	}
}
