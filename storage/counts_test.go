package storage

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// countEvents gives retentionEvents names, sources and readOnly values, and
// makes every 50th event's columns inexact.
func countEvents(n int) []*cairnv1.Event {
	events := retentionEvents(n, 800, day0)
	names := []string{"GetObject", "PutObject", "ConsoleLogin", "AssumeRole", "DescribeInstances"}
	for i, e := range events {
		e.EventName = names[i%len(names)]
		e.EventSource = e.EventName[:3] + ".amazonaws.com"
		e.ReadOnly = []string{"true", "false", ""}[i%3]
		e.Columns = columnsExact | 2
		if i%50 == 0 {
			e.Columns = 2
		}
	}
	return events
}

// countGroup names what ScanCounts counts by.
func countGroup(account, source, name, category, readOnly string) string {
	return fmt.Sprintf("%s/%s/%s/%s/%s", account, source, name, category, readOnly)
}

// wantCounts counts events by countGroup, judged one by one.
func wantCounts(events []*cairnv1.Event, keep func(*cairnv1.Event) bool) map[string]uint64 {
	m := map[string]uint64{}
	for _, e := range events {
		if keep == nil || keep(e) {
			m[countGroup(e.Account, e.EventSource, e.EventName, e.EventCategory, e.ReadOnly)]++
		}
	}
	return m
}

// scanCounts sums what ScanCounts gives by countGroup, and counts the
// events it gave one by one.
func scanCounts(t *testing.T, db *DB, q ScanQuery) (counts map[string]uint64, single int) {
	t.Helper()
	counts = map[string]uint64{}
	st, err := db.ScanCounts(q, func(f *Fields, n uint64, _ func() ([]byte, error)) (bool, error) {
		if f.EventID != nil {
			single++
			if n != 1 {
				return false, fmt.Errorf("event %s given with n %d", f.EventID, n)
			}
		}
		counts[countGroup(string(f.Account), string(f.EventSource), string(f.EventName), string(f.Category), string(f.ReadOnly))] += n
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, n := range counts {
		total += n
	}
	if st.Events != total {
		t.Errorf("ScanCounts stats: %d events, gave %d", st.Events, total)
	}
	return counts, single
}

// TestCountsFollowIngestAndCuts: the counts equal the events stored, judged
// one by one, after ingest (with duplicates), with a retention applied at
// read time, and after a cut; days with an inexact event, or split by a
// cutoff, are given event by event.
func TestCountsFollowIngestAndCuts(t *testing.T) {
	events := countEvents(5000)
	db := mustOpen(t, t.TempDir(), Options{})
	for j := 0; j < len(events); j += 500 {
		mustApply(t, db, uint64(j/500+1), events[j:j+500]...)
	}
	mustApply(t, db, 11, events[100:300]...) // all duplicates
	got, single := scanCounts(t, db, ScanQuery{})
	if want := wantCounts(events, nil); !maps.Equal(got, want) {
		t.Fatalf("counts after ingest differ from the events: %d groups, want %d", len(got), len(want))
	}
	if single == 0 || single > len(events)/5 {
		t.Errorf("%d events given one by one; want some, for the days with an inexact event", single)
	}

	r := NewRetention(retentionRules(), day0.UnixNano())
	keep := func(e *cairnv1.Event) bool { return !r.Expired(e.Account, e.EventCategory, e.EventTimeUnixNano) }
	want := wantCounts(events, keep)
	if got, _ := scanCounts(t, db, ScanQuery{Retention: r}); !maps.Equal(got, want) {
		t.Fatalf("counts with retention differ from the events kept: %d groups, want %d", len(got), len(want))
	}
	accounts := []string{"111111111111", "333333333333"}
	if got, _ := scanCounts(t, db, ScanQuery{Retention: r, Accounts: accounts}); !maps.Equal(got, wantCounts(events, func(e *cairnv1.Event) bool {
		return keep(e) && slices.Contains(accounts, e.Account)
	})) {
		t.Fatal("counts of two accounts differ from their events")
	}

	if _, err := db.ApplyCut(12, r); err != nil {
		t.Fatal(err)
	}
	if got, _ := scanCounts(t, db, ScanQuery{}); !maps.Equal(got, want) {
		t.Fatalf("counts after the cut differ from the events kept: %d groups, want %d", len(got), len(want))
	}
	// Sent again, the events the cut deleted are stored again, the others are
	// duplicates: the counts the cut changed are read afresh, not taken from
	// what ingest remembered before the cut.
	for j := 0; j < len(events); j += 500 {
		mustApply(t, db, uint64(j/500+13), events[j:j+500]...)
	}
	if got, _ := scanCounts(t, db, ScanQuery{}); !maps.Equal(got, wantCounts(events, nil)) {
		t.Fatalf("counts after the cut events came back differ from the events: %d groups, want %d", len(got), len(wantCounts(events, nil)))
	}
	if _, err := db.ScanCounts(ScanQuery{From: 1}, nil); err == nil {
		t.Error("ScanCounts accepted a time range")
	}
}

func TestCountKeyRoundTrip(t *testing.T) {
	for _, k := range []countKey{
		{day: -3, account: []byte("111111111111"), eventSource: []byte("s3.amazonaws.com"), eventName: []byte("GetObject"),
			category: []byte("Data"), readOnly: []byte("true"), columns: 3},
		{day: 0, account: []byte("a"), eventSource: []byte{}, eventName: []byte("x\x00y"), category: []byte{}, readOnly: []byte{}},
	} {
		got, err := parseCountKey(appendCountKey(nil, &k))
		if err != nil || !slices.Equal(got.account, k.account) || !slices.Equal(got.eventName, k.eventName) ||
			!slices.Equal(got.eventSource, k.eventSource) || !slices.Equal(got.category, k.category) ||
			!slices.Equal(got.readOnly, k.readOnly) || got.columns != k.columns || got.day != k.day {
			t.Errorf("parseCountKey(appendCountKey(%+v)) = %+v, %v", k, got, err)
		}
	}
	bad := appendCountKey(nil, &countKey{account: []byte("a"), columns: 1})
	for _, src := range [][]byte{nil, bad[:len(bad)-1], append(slices.Clone(bad), 0), append(bad[:len(bad)-1], 8)} {
		if _, err := parseCountKey(src); err == nil {
			t.Errorf("parseCountKey(%x) accepted a malformed key", src)
		}
	}
}
