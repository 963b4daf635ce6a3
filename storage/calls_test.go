package storage

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// TestNamedEvents: lookups and scans by eventName find exactly the events
// with that name, newest first for lookups, for names rare and frequent, for
// a name that two event sources share, and after retention cuts that delete
// whole days, an account's whole day, and some of an account's events; and
// the eventName index holds one entry per (day, eventName, account,
// eventSource) with events, and no more.
func TestNamedEvents(t *testing.T) {
	const a, b, c = "111111111111", "222222222222", "333333333333"
	now := day0
	day, mid, old := now.Add(-24*time.Hour), now.Add(-2*24*time.Hour), now.Add(-5*24*time.Hour)
	var events []*cairnv1.Event
	add := func(account, region, source, name, category string, n int, at time.Time) {
		for i := range n {
			e := ev(account, region, fmt.Sprintf("%s-%s-%d", source, name, len(events)), at.Add(time.Duration(i)*time.Minute))
			e.EventSource, e.EventName, e.EventCategory = source, name, category
			events = append(events, e)
		}
	}
	add(a, "us-east-1", "s3.amazonaws.com", "GetObject", "Data", 200, day)
	add(a, "us-east-1", "signin.amazonaws.com", "ConsoleLogin", "Management", 2, day.Add(time.Hour))
	add(a, "eu-west-1", "signin.amazonaws.com", "ConsoleLogin", "Management", 1, day.Add(90*time.Minute))
	add(b, "us-east-1", "signin.amazonaws.com", "ConsoleLogin", "Management", 20, day)
	add(b, "us-east-1", "s3.amazonaws.com", "GetObject", "Data", 5, day.Add(time.Hour))
	add(c, "us-east-1", "ec2.amazonaws.com", "Describe", "Management", 1, day.Add(time.Hour))
	add(c, "us-east-1", "rds.amazonaws.com", "Describe", "Management", 1, day.Add(time.Hour))
	add(c, "us-east-1", "s3.amazonaws.com", "GetObject", "Data", 100, day)
	// Two days ago: b's Data events expire (some of b's day), and so does
	// all of c's day, but not a's.
	add(a, "us-east-1", "signin.amazonaws.com", "ConsoleLogin", "Management", 2, mid)
	add(b, "us-east-1", "signin.amazonaws.com", "ConsoleLogin", "Management", 3, mid)
	add(b, "us-east-1", "s3.amazonaws.com", "GetObject", "Data", 4, mid)
	add(b, "us-west-2", "s3.amazonaws.com", "PutObject", "Data", 1, mid)
	add(c, "us-east-1", "ec2.amazonaws.com", "Describe", "Management", 2, mid)
	// Five days ago: the whole day expires.
	add(a, "us-east-1", "signin.amazonaws.com", "ConsoleLogin", "Management", 1, old)
	add(c, "us-east-1", "ec2.amazonaws.com", "Describe", "Management", 3, old)

	db := mustOpen(t, t.TempDir(), Options{})
	for i, j := 0, 0; j < len(events); i, j = i+1, j+100 {
		mustApply(t, db, uint64(i+1), events[j:min(j+100, len(events))]...)
	}
	// Re-sent, they write nothing new.
	mustApply(t, db, 50, events[:100]...)

	snap := db.pdb.NewSnapshot()
	calls, err := namedCalls(snap, dayOf(day.UnixNano()), nil, []string{"ConsoleLogin", "Describe"})
	snap.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []apiCall{{a, "signin.amazonaws.com", "ConsoleLogin"}, {b, "signin.amazonaws.com", "ConsoleLogin"},
		{c, "ec2.amazonaws.com", "Describe"}, {c, "rds.amazonaws.com", "Describe"}}
	if !slices.Equal(calls, wantCalls) {
		t.Fatalf("namedCalls = %v, want %v", calls, wantCalls)
	}

	check := func(stage string, live []*cairnv1.Event) {
		t.Helper()
		byID := map[string]*cairnv1.Event{}
		var keys []string
		for _, e := range live {
			byID[e.Account+"/"+e.EventId] = e
			keys = append(keys, e.Account+"/"+e.EventId)
		}
		if n, want := countKeys(t, db).nameIndex, countCalls(keys, byID); n != want {
			t.Errorf("%s: %d eventName index entries, want %d", stage, n, want)
		}
		for _, q := range []struct {
			names    []string
			accounts []string
		}{
			{[]string{"ConsoleLogin"}, nil},
			{[]string{"ConsoleLogin"}, []string{a}},
			{[]string{"ConsoleLogin"}, []string{b, c}},
			{[]string{"Describe"}, nil},
			{[]string{"GetObject"}, nil},
			{[]string{"Describe", "ConsoleLogin"}, nil},
			{[]string{"NoSuchCall"}, nil},
		} {
			var want []*cairnv1.Event
			for _, e := range live {
				if slices.Contains(q.names, e.EventName) && (q.accounts == nil || slices.Contains(q.accounts, e.Account)) {
					want = append(want, e)
				}
			}
			slices.SortFunc(want, func(x, y *cairnv1.Event) int {
				cx := Cursor{Time: x.EventTimeUnixNano, Account: x.Account, EventID: x.EventId}
				if cx.Before(Cursor{Time: y.EventTimeUnixNano, Account: y.Account, EventID: y.EventId}) {
					return -1
				}
				return 1
			})
			rawOf := map[string][]byte{}
			for _, e := range want {
				rawOf[e.Account+"/"+e.EventId] = e.Raw
			}

			// SQL scans, by their fields and by their raw records.
			var fields []string
			pre := &Prefilter{EventNames: q.names}
			if _, err := db.ScanFields(ScanQuery{Accounts: q.accounts, Prefilter: pre}, func(f *Fields, raw func() ([]byte, error)) (bool, error) {
				id := string(f.Account) + "/" + string(f.EventID)
				r, err := raw()
				if err != nil {
					return false, err
				}
				if !bytes.Equal(r, rawOf[id]) {
					t.Errorf("%s: scan %v of %v: event %s: raw %q, want %q", stage, q.names, q.accounts, id, r, rawOf[id])
				}
				if !slices.Contains(q.names, string(f.EventName)) {
					t.Errorf("%s: scan %v of %v: event %s named %s", stage, q.names, q.accounts, id, f.EventName)
				}
				fields = append(fields, id)
				return true, nil
			}); err != nil {
				t.Fatal(err)
			}
			var raws []string
			if _, err := db.ScanEvents(ScanQuery{Accounts: q.accounts, Prefilter: pre}, func(raw []byte) (bool, error) {
				raws = append(raws, string(raw))
				return true, nil
			}); err != nil {
				t.Fatal(err)
			}
			var wantIDs, wantRaws []string
			for _, e := range want {
				wantIDs = append(wantIDs, e.Account+"/"+e.EventId)
				wantRaws = append(wantRaws, string(e.Raw))
			}
			slices.Sort(fields)
			slices.Sort(raws)
			if sorted := slices.Sorted(slices.Values(wantIDs)); !slices.Equal(fields, sorted) {
				t.Errorf("%s: scan %v of %v found %d events %v, want %d", stage, q.names, q.accounts, len(fields), fields, len(sorted))
			}
			if sorted := slices.Sorted(slices.Values(wantRaws)); !slices.Equal(raws, sorted) {
				t.Errorf("%s: scan of raw records %v of %v found %d, want %d", stage, q.names, q.accounts, len(raws), len(sorted))
			}

			// Lookups, one name at a time, newest first, in pages of 7.
			if len(q.names) != 1 {
				continue
			}
			var got []string
			var after *Cursor
			for {
				found, _, err := db.Lookup(LookupQuery{Accounts: q.accounts, From: now.Add(-30 * 24 * time.Hour).UnixNano(), To: now.UnixNano(),
					Filters: []Filter{{Attr: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME, Value: q.names[0]}}, After: after, Limit: 7})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range found {
					id := f.Account + "/" + f.EventID
					if !bytes.Equal(f.Raw, rawOf[id]) {
						t.Errorf("%s: lookup %v of %v: event %s: raw %q", stage, q.names, q.accounts, id, f.Raw)
					}
					got = append(got, id)
				}
				if len(found) < 7 {
					break
				}
				after = &found[len(found)-1].Cursor
			}
			if !slices.Equal(got, wantIDs) {
				t.Errorf("%s: lookup %v of %v = %v, want %v", stage, q.names, q.accounts, got, wantIDs)
			}
		}
	}
	check("before the cut", events)

	r := NewRetention(&cairnv1.RetentionRules{Policies: []*cairnv1.RetentionPolicy{
		{Days: 3}, {Account: b, Category: "Data", Days: 1}, {Account: c, Days: 1},
	}}, now.UnixNano())
	st, err := db.ApplyCut(1000, r)
	if err != nil {
		t.Fatal(err)
	}
	var live []*cairnv1.Event
	for _, e := range events {
		if !r.Expired(e.Account, e.EventCategory, e.EventTimeUnixNano) {
			live = append(live, e)
		}
	}
	if st.Events != uint64(len(events)-len(live)) || st.Points == 0 || st.Ranges == 0 {
		t.Fatalf("cut: %+v; want %d events deleted, by ranges and one by one", st, len(events)-len(live))
	}
	check("after the cut", live)
	// The memory of stored entries was emptied by the cut: a new event of a
	// call whose entry the cut deleted writes it again.
	for _, e := range events {
		if e.Account == c && e.EventName == "Describe" && e.EventTimeUnixNano < now.Add(-36*time.Hour).UnixNano() && e.EventTimeUnixNano > old.Add(time.Hour).UnixNano() {
			e := proto.Clone(e).(*cairnv1.Event)
			e.EventId += "-again"
			mustApply(t, db, 1001, e)
			live = append(live, e)
			break
		}
	}
	check("after a new event", live)
}
