package storage

import (
	"errors"
	"slices"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func TestScanEventKeysOrderAndContent(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	events := []*cairnv1.Event{
		ev("222222222222", "us-east-1", "b", day0.Add(time.Hour)),
		ev("111111111111", "us-east-1", "z", day0.Add(25*time.Hour)), // next day: after all of day0
		ev("111111111111", "eu-west-1", "c", day0.Add(time.Minute)),
		ev("11111111111", "us-east-1", "y", day0.Add(2*time.Hour)), // 11 digits: a prefix of the other accounts
		ev("111111111111", "us-east-1", "a", day0.Add(3*time.Hour)),
		ev("999999999999", "us-east-1", "old", day0.Add(-time.Second)), // the day before
	}
	mustApply(t, db, 1, events[:3]...)
	mustFlush(t, db) // half in sstables, half in the memtable
	mustApply(t, db, 2, events[3:]...)

	want := []string{
		"999999999999/old", // the day before
		"11111111111/y",    // day0: accounts in order, "11111111111" first
		"111111111111/c",   // then regions
		"111111111111/a",
		"222222222222/b",
		"111111111111/z", // the next day
	}
	if got := mustEventKeys(t, db); !slices.Equal(got, want) {
		t.Errorf("ScanEventKeys = %v, want %v", got, want)
	}
	if got := keysOf(events); !slices.Equal(got, want) {
		t.Errorf("test helper keysOf = %v, want %v", got, want)
	}
}

func TestScanEventKeysStopsOnError(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	for i, e := range entries(8, 2, 10) {
		mustApply(t, db, uint64(i+1), e...)
	}
	stop := errors.New("stop")
	var calls int
	err := db.ScanEventKeys(func(string, string) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Errorf("ScanEventKeys = %v after %d calls, want the callback's error after 3", err, calls)
	}
}

func TestScanEventKeysEmpty(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	if err := db.SetAppliedIndex(1); err != nil { // a meta key must not show up
		t.Fatal(err)
	}
	if got := mustEventKeys(t, db); len(got) != 0 {
		t.Errorf("empty DB scan = %v", got)
	}
}

func TestGetRawNotFound(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	e := ev("111111111111", "us-east-1", "a", day0)
	mustApply(t, db, 1, e)
	for name, q := range map[string]struct {
		account, id string
		at          time.Time
	}{
		"other account": {"222222222222", "a", day0},
		"other id":      {"111111111111", "b", day0},
		"other day":     {"111111111111", "a", day0.Add(-time.Nanosecond)},
	} {
		if _, err := db.GetRaw(q.account, q.id, q.at.UnixNano()); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: GetRaw error = %v, want ErrNotFound", name, err)
		}
	}
}

func TestScanEventsBounds(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	g := newEventGen(3, start)
	var events []*cairnv1.Event
	for i := range 6 {
		batch := g.batch(300)
		for j, e := range batch {
			e.EventTimeUnixNano += int64(i) * 24 * int64(time.Hour)
			e.Columns = uint32(j % 32)
		}
		mustApply(t, db, uint64(i+1), batch...)
		events = append(events, batch...)
	}
	byID := map[string]*cairnv1.Event{}
	for _, e := range events {
		byID[e.Account+"/"+e.EventId] = e
	}
	day := 24 * int64(time.Hour)
	for _, q := range []ScanQuery{
		{},
		{From: start.UnixNano() + 2*day + day/2},
		{To: start.UnixNano() + 3*day + 7},
		{From: start.UnixNano() + day, To: start.UnixNano() + 4*day},
		{Accounts: []string{events[0].Account, events[1].Account, events[0].Account}},
		{Accounts: []string{events[5].Account}, From: start.UnixNano() + day, To: start.UnixNano() + 2*day},
		{Accounts: []string{"000000000000"}},
		{Prefilter: &Prefilter{EventNames: []string{events[7].EventName, events[9].EventName}}},
		{Prefilter: &Prefilter{EventNames: []string{events[9].EventName, "NoSuchName", events[7].EventName, "AAA"}},
			Accounts: []string{events[7].Account, events[9].Account}, From: start.UnixNano() + day/2, To: start.UnixNano() + 4*day},
		{Prefilter: &Prefilter{EventNames: []string{events[4].EventName}, SourceIPs: []string{events[4].SourceIp}}, To: start.UnixNano() + 5*day},
		{Prefilter: &Prefilter{ErrorCodes: []string{"AccessDenied"}, Regions: []string{events[3].Region}}, From: start.UnixNano() + day},
		{Prefilter: &Prefilter{EventIDs: []string{events[11].EventId}}, Accounts: []string{events[11].Account}},
		{Prefilter: &Prefilter{}},
	} {
		want := map[string]bool{}
		for _, e := range events {
			pf := q.Prefilter
			if pf == nil {
				pf = &Prefilter{}
			}
			in := func(vals []string, v string) bool { return vals == nil || slices.Contains(vals, v) }
			if (q.From == 0 || e.EventTimeUnixNano >= q.From) && (q.To == 0 || e.EventTimeUnixNano < q.To) &&
				(q.Accounts == nil || slices.Contains(q.Accounts, e.Account)) &&
				in(pf.EventNames, e.EventName) && in(pf.ErrorCodes, e.ErrorCode) && in(pf.Regions, e.Region) && in(pf.EventIDs, e.EventId) &&
				in(pf.SourceIPs, e.SourceIp) {
				want[string(e.Raw)] = true
			}
		}
		if len(want) == 0 && !slices.Equal(q.Accounts, []string{"000000000000"}) {
			t.Fatalf("%+v: no event matches; a poor test", q)
		}
		got := map[string]bool{}
		var order []string
		stats, err := db.ScanEvents(q, func(raw []byte) (bool, error) {
			if got[string(raw)] {
				t.Fatalf("%+v: an event came twice", q)
			}
			got[string(raw)] = true
			order = append(order, string(raw))
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || stats.Events != uint64(len(want)) {
			t.Fatalf("%+v: %d events (stats %d), want %d", q, len(got), stats.Events, len(want))
		}
		for raw := range want {
			if !got[raw] {
				t.Fatalf("%+v: an event is missing", q)
			}
		}

		// ScanFields visits the same events (in the order of the summaries),
		// with their fields, and reads their raw bytes on request.
		var i int
		fieldsSeen := map[string]bool{}
		fstats, err := db.ScanFields(q, func(f *Fields, raw func() ([]byte, error)) (bool, error) {
			e := byID[string(f.Account)+"/"+string(f.EventID)]
			if e == nil || !got[string(e.Raw)] || fieldsSeen[string(e.Raw)] {
				t.Fatalf("%+v: ScanFields visits %s/%s, which ScanEvents did not, or twice", q, f.Account, f.EventID)
			}
			fieldsSeen[string(e.Raw)] = true
			gotF := []string{string(f.Account), string(f.Region), string(f.EventID), string(f.EventName), string(f.EventSource),
				string(f.ErrorCode), string(f.SourceIP), string(f.ReadOnly)}
			wantF := []string{e.Account, e.Region, e.EventId, e.EventName, e.EventSource, e.ErrorCode, e.SourceIp, e.ReadOnly}
			if !slices.Equal(gotF, wantF) || f.EventTime != e.EventTimeUnixNano || f.Columns != e.Columns {
				t.Fatalf("%+v: event %d: fields %q %d %d, want %q %d %d", q, i, gotF, f.EventTime, f.Columns, wantF, e.EventTimeUnixNano, e.Columns)
			}
			if i%7 == 0 {
				b, err := raw()
				if err != nil || string(b) != string(e.Raw) {
					t.Fatalf("%+v: event %d: raw() = %.40q, %v", q, i, b, err)
				}
			}
			i++
			return true, nil
		})
		if err != nil || i != len(order) || fstats.Events != uint64(len(order)) {
			t.Fatalf("%+v: ScanFields: %d events (stats %d), %v; want %d", q, i, fstats.Events, err, len(order))
		}
	}
	// Early stop.
	n := 0
	if _, err := db.ScanEvents(ScanQuery{}, func([]byte) (bool, error) { n++; return n < 10, nil }); err != nil || n != 10 {
		t.Fatalf("early stop: %d events, %v", n, err)
	}
}
