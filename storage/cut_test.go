package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// retentionEvents returns n events of 5 accounts (A…E) spread over days
// days before now, of every category (and none), some with an errorCode.
func retentionEvents(n, days int, now time.Time) []*cairnv1.Event {
	r := rand.New(rand.NewPCG(5, 5))
	accounts := []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}
	categories := []string{"Management", "Data", "Insight", ""}
	events := make([]*cairnv1.Event, n)
	for i := range events {
		at := now.Add(-time.Duration(r.Int64N(int64(days) * 24 * int64(time.Hour))))
		e := ev(accounts[r.IntN(len(accounts))], "us-east-1", fmt.Sprintf("e%06d", i), at)
		e.EventCategory = categories[r.IntN(len(categories))]
		if r.IntN(4) == 0 {
			e.ErrorCode = "AccessDenied"
		}
		if i%5 != 0 {
			e.EventName = []string{"GetObject", "ConsoleLogin", "AssumeRole"}[i%3]
		}
		events[i] = e
	}
	return events
}

// retentionRules: a default of 365 days, account A 30 days, account B's
// Data 7 days, account C on hold, account D's Insight 1000 days (longer
// than the default).
func retentionRules() *cairnv1.RetentionRules {
	return &cairnv1.RetentionRules{
		Policies: []*cairnv1.RetentionPolicy{
			{Days: 365},
			{Account: "111111111111", Days: 30},
			{Account: "222222222222", Category: "Data", Days: 7},
			{Account: "444444444444", Category: "Insight", Days: 1000},
		},
		Holds: []*cairnv1.LegalHold{{Account: "333333333333", Reason: "litigation"}},
	}
}

// wantKept is the reference: the events r keeps, judged one by one.
func wantKept(events []*cairnv1.Event, r *Retention) []string {
	var kept []*cairnv1.Event
	for _, e := range events {
		days := uint32(DefaultRetentionDays)
		if p := r.Effective(e.Account, e.EventCategory); p != nil {
			days = p.Days
		}
		if r.Held(e.Account) || e.EventTimeUnixNano >= r.Now()-int64(days)*nanosPerDay {
			kept = append(kept, e)
		}
	}
	return keysOf(kept)
}

func TestRetentionCutoffs(t *testing.T) {
	now := day0.UnixNano()
	r := NewRetention(retentionRules(), now)
	for _, tt := range []struct {
		account, category string
		days              int64
	}{
		{"999999999999", "", 365},
		{"999999999999", "Data", 365},
		{"111111111111", "Data", 30},
		{"222222222222", "Data", 7},
		{"222222222222", "Management", 365},
		{"222222222222", "", 365},
		{"444444444444", "Insight", 1000},
		{"444444444444", "NetworkActivity", 365},
	} {
		if got, want := r.Cutoff(tt.account, tt.category), now-tt.days*nanosPerDay; got != want {
			t.Errorf("Cutoff(%s, %q) = %d days back, want %d", tt.account, tt.category, (now-got)/nanosPerDay, tt.days)
		}
	}
	if got := r.Cutoff("333333333333", "Data"); got > day0.AddDate(-100, 0, 0).UnixNano() {
		t.Errorf("an account on hold has cutoff %d", got)
	}
	// No policy at all: the built-in seven years.
	if got := NewRetention(nil, now).Cutoff("1", ""); got != now-DefaultRetentionDays*nanosPerDay {
		t.Errorf("built-in cutoff %d days back", (now-got)/nanosPerDay)
	}
	// The most specific policy wins.
	if p := r.Effective("222222222222", "Data"); p == nil || p.Account != "222222222222" || p.Days != 7 {
		t.Errorf("Effective(B, Data) = %v", p)
	}
	if p := r.Effective("222222222222", ""); p == nil || p.Account != "" || p.Days != 365 {
		t.Errorf("Effective(B, Management) = %v", p)
	}
}

// TestApplyCut: a cut deletes exactly the events the rules expire, on two
// replicas with different sstable layouts, which end with the same digest;
// before the cut, reads with the retention already skip the same events.
func TestApplyCut(t *testing.T) {
	now := day0
	events := retentionEvents(6000, 800, now)
	r := NewRetention(retentionRules(), now.UnixNano())
	want := wantKept(events, r)
	if len(want) < len(events)/10 || len(want) > len(events)*9/10 {
		t.Fatalf("the rules keep %d of %d events: a poor test", len(want), len(events))
	}

	dbs := []*DB{mustOpen(t, t.TempDir(), Options{}), mustOpen(t, t.TempDir(), Options{})}
	for i, db := range dbs {
		for j := 0; j < len(events); j += 500 {
			mustApply(t, db, uint64(j/500+1), events[j:j+500]...)
			if i == 1 && j%1500 == 0 {
				mustFlush(t, db)
			}
		}
	}
	db := dbs[0]

	// Reads with the retention see only what it keeps.
	var seen []*cairnv1.Event
	byID := map[string]*cairnv1.Event{}
	for _, e := range events {
		byID[e.Account+"/"+e.EventId] = e
	}
	if _, err := db.ScanFields(ScanQuery{Retention: r}, func(f *Fields, _ func() ([]byte, error)) (bool, error) {
		seen = append(seen, byID[string(f.Account)+"/"+string(f.EventID)])
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(seen); !slices.Equal(got, want) {
		t.Fatalf("ScanFields with retention: %d events, want %d", len(got), len(want))
	}
	var raws int
	if _, err := db.ScanEvents(ScanQuery{Retention: r}, func([]byte) (bool, error) { raws++; return true, nil }); err != nil || raws != len(want) {
		t.Fatalf("ScanEvents with retention: %d events, %v; want %d", raws, err, len(want))
	}
	found, _, err := db.Lookup(LookupQuery{From: 0, To: now.UnixNano() + 1, Limit: 1000, Retention: r,
		Filters: []Filter{{Attr: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE, Value: "AccessDenied"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		e := byID[f.Account+"/"+f.EventID]
		if !slices.Contains(want, f.Account+"/"+f.EventID) {
			t.Fatalf("Lookup with retention returned expired event %s/%s (%s)", f.Account, f.EventID, e.EventCategory)
		}
	}

	var stats []CutStats
	for _, db := range dbs {
		st, err := db.ApplyCut(100, r)
		if err != nil {
			t.Fatal(err)
		}
		stats = append(stats, st)
		if got := mustEventKeys(t, db); !slices.Equal(got, want) {
			t.Fatalf("after the cut %d events remain, want %d", len(got), len(want))
		}
		if db.EventCount() != uint64(len(want)) {
			t.Fatalf("event count %d after the cut, want %d", db.EventCount(), len(want))
		}
	}
	if stats[0].Events != uint64(len(events)-len(want)) || stats[0].Ranges == 0 || stats[0].Points == 0 {
		t.Fatalf("cut stats %+v; want %d events, ranges and points", stats[0], len(events)-len(want))
	}
	if d0, d1 := mustDigest(t, dbs[0]), mustDigest(t, dbs[1]); d0 != d1 {
		t.Fatalf("replicas differ after the cut: %+v vs %+v", d0, d1)
	}
	// Nothing is left of a deleted event: no summary, eventID or index entry.
	for _, db := range dbs {
		if n := countKeys(t, db); n.summaries != len(want) || n.ids != len(want) || n.errorIndex != countErrors(want, byID) || n.nameIndex != countCalls(want, byID) {
			t.Fatalf("after the cut: %+v; want %d summaries and ids, %d errorCode and %d eventName entries", n, len(want), countErrors(want, byID), countCalls(want, byID))
		}
	}
	// A second cut with the same rules deletes nothing.
	if st, err := db.ApplyCut(101, r); err != nil || st.Events != 0 {
		t.Fatalf("second cut: %+v, %v", st, err)
	}
	// Clearing the hold lets the next cut take C's expired events.
	rules := retentionRules()
	rules.Holds = nil
	r2 := NewRetention(rules, now.UnixNano())
	if _, err := db.ApplyCut(102, r2); err != nil {
		t.Fatal(err)
	}
	if got := mustEventKeys(t, db); !slices.Equal(got, wantKept(events, r2)) {
		t.Fatalf("after the hold is cleared %d events remain, want %d", len(got), len(wantKept(events, r2)))
	}
}

// TestApplyCutWholeDays: where every account's whole day has expired, the
// cut deletes the day with one range deletion per keyspace; where only some
// accounts' day has, it deletes those accounts' ranges and their eventID
// entries one by one. Either way nothing of a deleted event is left.
func TestApplyCutWholeDays(t *testing.T) {
	now := day0
	events := retentionEvents(3000, 100, now)
	byID := map[string]*cairnv1.Event{}
	for _, e := range events {
		byID[e.Account+"/"+e.EventId] = e
	}
	// Everything older than 30 days goes, and account A's older than 10.
	r := NewRetention(&cairnv1.RetentionRules{Policies: []*cairnv1.RetentionPolicy{
		{Days: 30}, {Account: "111111111111", Days: 10},
	}}, now.UnixNano())
	want := wantKept(events, r)
	db := mustOpen(t, t.TempDir(), Options{})
	for j := 0; j < len(events); j += 500 {
		mustApply(t, db, uint64(j/500+1), events[j:j+500]...)
	}
	st, err := db.ApplyCut(100, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEventKeys(t, db); !slices.Equal(got, want) {
		t.Fatalf("after the cut %d events remain, want %d", len(got), len(want))
	}
	// About 70 whole days for all, 20 days of A alone, and the days that
	// the cutoffs split.
	if st.Events != uint64(len(events)-len(want)) || st.Ranges < 85 || st.Ranges > 92 {
		t.Fatalf("cut stats %+v; want %d events in 85–92 ranges", st, len(events)-len(want))
	}
	if n := countKeys(t, db); n.summaries != len(want) || n.ids != len(want) || n.errorIndex != countErrors(want, byID) || n.nameIndex != countCalls(want, byID) {
		t.Fatalf("after the cut: %+v; want %d summaries and ids, %d errorCode and %d eventName entries", n, len(want), countErrors(want, byID), countCalls(want, byID))
	}
}

type keyCounts struct{ summaries, ids, errorIndex, nameIndex int }

func countKeys(t *testing.T, db *DB) keyCounts {
	t.Helper()
	var n keyCounts
	for _, c := range []struct {
		prefix byte
		n      *int
	}{{prefixSummary, &n.summaries}, {prefixEventID, &n.ids}, {prefixIndex + byte(attrErrorCode), &n.errorIndex},
		{prefixCalls, &n.nameIndex}} {
		iter, err := db.pdb.NewIter(nil)
		if err != nil {
			t.Fatal(err)
		}
		for valid := iter.SeekGE([]byte{c.prefix}); valid && iter.Key()[0] == c.prefix; valid = iter.Next() {
			*c.n++
		}
		if err := iter.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// countErrors and countCalls count the index entries the events of keys
// need: one errorCode entry per (account, region, eventTime, value) of those
// with an errorCode, one eventName entry per (day, eventName, account,
// eventSource).
func countErrors(keys []string, byID map[string]*cairnv1.Event) int {
	return countWith(keys, byID, func(e *cairnv1.Event) string {
		if e.ErrorCode == "" {
			return ""
		}
		return fmt.Sprint(e.Account, e.Region, e.EventTimeUnixNano, e.ErrorCode)
	})
}

func countCalls(keys []string, byID map[string]*cairnv1.Event) int {
	return countWith(keys, byID, func(e *cairnv1.Event) string {
		if e.EventName == "" {
			return ""
		}
		return fmt.Sprint(dayOf(e.EventTimeUnixNano), e.EventName, e.Account, e.EventSource)
	})
}

// countWith counts the distinct non-empty entry(e) of the events of keys.
func countWith(keys []string, byID map[string]*cairnv1.Event, entry func(*cairnv1.Event) string) int {
	entries := map[string]bool{}
	for _, k := range keys {
		if v := entry(byID[k]); v != "" {
			entries[v] = true
		}
	}
	return len(entries)
}

// A lookup index entry stands for every event of its value, account,
// eventTime and region. A cut that deletes some of them one by one keeps the
// entry while one of them stays, and deletes it with the last.
func TestApplyCutKeepsSharedIndexEntries(t *testing.T) {
	now := day0
	at := now.Add(-10 * 24 * time.Hour)
	event := func(id, category, name string, at time.Time) *cairnv1.Event {
		e := ev("222222222222", "us-east-1", id, at)
		e.EventCategory, e.EventName, e.ErrorCode = category, name, "AccessDenied"
		return e
	}
	events := []*cairnv1.Event{
		event("data-1", "Data", "GetObject", at), // shares its entries with mgmt-1
		event("mgmt-1", "Management", "GetObject", at),
		event("data-2", "Data", "GetObject", at.Add(time.Second)), // alone
		event("data-3", "Data", "PutObject", at),                  // shares only its errorCode entry
	}
	db := mustOpen(t, t.TempDir(), Options{})
	mustApply(t, db, 1, events...)
	if n := countKeys(t, db); n.nameIndex != 2 || n.errorIndex != 2 {
		t.Fatalf("before the cut: %+v; want 2 eventName and 2 errorCode entries", n)
	}
	// Account B's Data goes after 7 days.
	r := NewRetention(retentionRules(), now.UnixNano())
	if st, err := db.ApplyCut(2, r); err != nil || st.Events != 3 || st.Points != 3 {
		t.Fatalf("cut: %+v, %v; want 3 events deleted one by one", st, err)
	}
	if n := countKeys(t, db); n.summaries != 1 || n.nameIndex != 1 || n.errorIndex != 1 {
		t.Fatalf("after the cut: %+v; want 1 summary, 1 eventName and 1 errorCode entry", n)
	}
	for _, f := range []Filter{{Attr: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME, Value: "GetObject"},
		{Attr: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE, Value: "AccessDenied"}} {
		found, _, err := db.Lookup(LookupQuery{To: now.UnixNano(), Limit: 10, Filters: []Filter{f}})
		if err != nil || len(found) != 1 || found[0].EventID != "mgmt-1" {
			t.Errorf("lookup %v after the cut: %d found, %v; want mgmt-1", f, len(found), err)
		}
	}
	var names []string
	if _, err := db.ScanFields(ScanQuery{Prefilter: &Prefilter{EventNames: []string{"GetObject", "PutObject"}}}, func(f *Fields, _ func() ([]byte, error)) (bool, error) {
		names = append(names, string(f.EventID))
		return true, nil
	}); err != nil || !slices.Equal(names, []string{"mgmt-1"}) {
		t.Errorf("scan by eventName after the cut: %v, %v; want [mgmt-1]", names, err)
	}
	// With mgmt-1 gone too, nothing is left.
	rules := retentionRules()
	rules.Policies = append(rules.Policies, &cairnv1.RetentionPolicy{Account: "222222222222", Days: 5})
	if st, err := db.ApplyCut(3, NewRetention(rules, now.UnixNano())); err != nil || st.Events != 1 {
		t.Fatalf("second cut: %+v, %v; want 1 event", st, err)
	}
	if n := countKeys(t, db); n != (keyCounts{}) {
		t.Fatalf("after the second cut: %+v; want nothing", n)
	}
}

// collidingEventIDs returns two eventIDs with the same eventIDHash (about
// 80,000 tries).
func collidingEventIDs() (string, string) {
	seen := map[uint32]string{}
	for i := 0; ; i++ {
		id := fmt.Sprintf("id-%d", i)
		if other, ok := seen[eventIDHash(id)]; ok {
			return other, id
		}
		seen[eventIDHash(id)] = id
	}
}

// Two events of one account, region and second whose eventIDs share a hash
// share an eventID index entry: both are stored, each is found by its own
// eventID and is a duplicate when re-sent, and a cut that deletes one keeps
// the entry for the other.
func TestEventIDHashCollision(t *testing.T) {
	now := day0
	at := now.Add(-10 * 24 * time.Hour)
	a, b := collidingEventIDs()
	data := ev("222222222222", "us-east-1", a, at)
	data.EventCategory = "Data"
	mgmt := ev("222222222222", "us-east-1", b, at)
	mgmt.EventCategory = "Management"
	if !bytes.Equal(appendEventIDKey(nil, data.Account, data.Region, data.EventTimeUnixNano, data.EventId),
		appendEventIDKey(nil, mgmt.Account, mgmt.Region, mgmt.EventTimeUnixNano, mgmt.EventId)) {
		t.Fatalf("%s and %s have different eventID index keys; the test proves nothing", a, b)
	}
	check := func(db *DB, stage string, want ...*cairnv1.Event) {
		t.Helper()
		if n := countKeys(t, db); n.summaries != len(want) || n.ids != min(len(want), 1) {
			t.Errorf("%s: %+v; want %d summaries and %d eventID entries", stage, n, len(want), min(len(want), 1))
		}
		for _, e := range []*cairnv1.Event{data, mgmt} {
			kept := slices.Contains(want, e)
			raw, err := db.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano)
			if kept && (err != nil || !bytes.Equal(raw, e.Raw)) || !kept && !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: GetRaw(%s) = %q, %v; kept: %v", stage, e.EventId, raw, err, kept)
			}
			found, _, err := db.Lookup(LookupQuery{To: now.UnixNano(), Limit: 10,
				Filters: []Filter{{Attr: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID, Value: e.EventId}}})
			wantFound := 0
			if kept {
				wantFound = 1
			}
			if err != nil || len(found) != wantFound || kept && found[0].EventID != e.EventId {
				t.Errorf("%s: lookup of eventID %s: %+v, %v; kept: %v", stage, e.EventId, found, err, kept)
			}
		}
	}

	// One after the other, with and without the dedup memory; and in one
	// entry.
	for name, days := range map[string]int{"memory": seenMaxDays, "no memory": 0} {
		t.Run(name, func(t *testing.T) {
			defer func(d int) { seenMaxDays = d }(seenMaxDays)
			seenMaxDays = days
			db := mustOpen(t, t.TempDir(), Options{})
			if got := mustApply(t, db, 1, data); got[0] != stored {
				t.Fatalf("first: %v", got)
			}
			if got := mustApply(t, db, 2, mgmt); got[0] != stored {
				t.Fatalf("second, sharing the first's eventID entry: %v, want stored", got)
			}
			if got := mustApply(t, db, 3, mgmt, data); !slices.Equal(got, []cairnv1.EventStatus{duplicate, duplicate}) {
				t.Fatalf("re-sent: %v, want duplicates", got)
			}
			check(db, "stored", data, mgmt)
		})
	}
	db := mustOpen(t, t.TempDir(), Options{})
	if got := mustApply(t, db, 1, data, mgmt, data); !slices.Equal(got, []cairnv1.EventStatus{stored, stored, duplicate}) {
		t.Fatalf("in one entry: %v, want stored, stored, duplicate", got)
	}
	check(db, "stored in one entry", data, mgmt)

	// Account B's Data goes after 7 days, its Management stays.
	if st, err := db.ApplyCut(2, NewRetention(retentionRules(), now.UnixNano())); err != nil || st.Events != 1 {
		t.Fatalf("cut: %+v, %v; want 1 event deleted", st, err)
	}
	check(db, "after the cut of one", mgmt)
	rules := retentionRules()
	rules.Policies = append(rules.Policies, &cairnv1.RetentionPolicy{Account: "222222222222", Days: 5})
	if st, err := db.ApplyCut(3, NewRetention(rules, now.UnixNano())); err != nil || st.Events != 1 {
		t.Fatalf("second cut: %+v, %v; want 1 event", st, err)
	}
	check(db, "after the cut of both")
}

func TestRetentionShortens(t *testing.T) {
	now := day0.UnixNano()
	base := retentionRules()
	r := NewRetention(base, now)
	for name, tt := range map[string]struct {
		change func(*cairnv1.RetentionRules)
		want   bool
	}{
		"same rules":               {func(*cairnv1.RetentionRules) {}, false},
		"longer default":           {func(x *cairnv1.RetentionRules) { x.Policies[0].Days = 400 }, false},
		"shorter default":          {func(x *cairnv1.RetentionRules) { x.Policies[0].Days = 300 }, true},
		"shorter account":          {func(x *cairnv1.RetentionRules) { x.Policies[1].Days = 10 }, true},
		"a new hold":               {func(x *cairnv1.RetentionRules) { x.Holds = append(x.Holds, &cairnv1.LegalHold{Account: "9"}) }, false},
		"a hold cleared":           {func(x *cairnv1.RetentionRules) { x.Holds = nil }, true},
		"a longer category policy": {func(x *cairnv1.RetentionRules) { x.Policies[3].Days = 2000 }, false},
		"a shorter new category rule": {func(x *cairnv1.RetentionRules) {
			x.Policies = append(x.Policies, &cairnv1.RetentionPolicy{Category: "Insight", Days: 5})
		}, true},
		"a policy deleted": {func(x *cairnv1.RetentionRules) { x.Policies = x.Policies[:3] }, true}, // D's Insight falls back from 1000 to 365 days
	} {
		after := proto.Clone(base).(*cairnv1.RetentionRules)
		tt.change(after)
		if got := r.Shortens(NewRetention(after, now)); got != tt.want {
			t.Errorf("%s: Shortens = %v, want %v", name, got, tt.want)
		}
	}
}
