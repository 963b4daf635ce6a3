package storage

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// naiveLookup filters events one by one and sorts them in lookup order: the
// reference for Lookup.
func naiveLookup(events []*cairnv1.Event, q LookupQuery) []*cairnv1.Event {
	var out []*cairnv1.Event
	for _, e := range events {
		c := Cursor{Time: e.EventTimeUnixNano, Account: e.Account, EventID: e.EventId}
		if c.Time < q.From || c.Time >= q.To || (q.After != nil && !q.After.Before(c)) ||
			(q.Accounts != nil && !slices.Contains(q.Accounts, e.Account)) ||
			(q.Regions != nil && !slices.Contains(q.Regions, e.Region)) {
			continue
		}
		ok := true
		for _, f := range q.Filters {
			var v []string
			switch f.Attr {
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID:
				v = []string{e.EventId}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME:
				v = []string{e.EventName}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_SOURCE:
				v = []string{e.EventSource}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_USERNAME:
				v = []string{e.Username}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ACCESS_KEY_ID:
				v = []string{e.AccessKeyId}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_NAME:
				for _, r := range e.Resources {
					v = append(v, r.Name)
				}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_TYPE:
				for _, r := range e.Resources {
					v = append(v, r.Type)
				}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY:
				v = []string{e.ReadOnly}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE:
				v = []string{e.ErrorCode}
			case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_SOURCE_IP_ADDRESS:
				v = []string{e.SourceIp}
			}
			ok = ok && slices.Contains(v, f.Value)
		}
		if ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *cairnv1.Event) int {
		ca := Cursor{Time: a.EventTimeUnixNano, Account: a.Account, EventID: a.EventId}
		cb := Cursor{Time: b.EventTimeUnixNano, Account: b.Account, EventID: b.EventId}
		switch {
		case ca.Before(cb):
			return -1
		case cb.Before(ca):
			return 1
		}
		return 0
	})
	return out
}

// Lookup, paged, returns exactly what filtering every event returns, for
// random combinations of accounts, regions, time ranges and filters.
func TestLookupMatchesNaiveFiltering(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	g := newEventGen(7, start)
	var events []*cairnv1.Event
	for i := range 12 {
		batch := g.batch(500)
		for _, e := range batch {
			// Spread over 6 days, newest last, with some late arrivals.
			e.EventTimeUnixNano += int64(i%6) * 24 * int64(time.Hour)
		}
		mustApply(t, db, uint64(i+1), batch...)
		events = append(events, batch...)
		if i == 5 {
			mustFlush(t, db) // half in sstables, half in the memtable
		}
	}
	pick := func(r *rand.Rand, attr cairnv1.LookupAttribute) string {
		e := events[r.IntN(len(events))]
		switch attr {
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID:
			return e.EventId
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME:
			return e.EventName
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_SOURCE:
			return e.EventSource
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_USERNAME:
			return e.Username
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ACCESS_KEY_ID:
			return e.AccessKeyId
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_NAME:
			if len(e.Resources) > 0 {
				return e.Resources[0].Name
			}
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_TYPE:
			if len(e.Resources) > 0 {
				return e.Resources[0].Type
			}
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY:
			return e.ReadOnly
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE:
			for range 50 {
				if e := events[r.IntN(len(events))]; e.ErrorCode != "" {
					return e.ErrorCode
				}
			}
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_SOURCE_IP_ADDRESS:
			return e.SourceIp
		}
		return "none"
	}
	r := rand.New(rand.NewPCG(1, 2))
	dayNanos := 24 * int64(time.Hour)
	for n := range 40 {
		q := LookupQuery{From: start.UnixNano(), To: start.UnixNano() + 7*dayNanos, Limit: 1 + r.IntN(120)}
		if r.IntN(3) == 0 {
			q.From += int64(r.IntN(3)) * dayNanos
			q.To -= int64(r.IntN(3))*dayNanos + int64(r.IntN(int(dayNanos)))
		}
		if r.IntN(2) == 0 {
			q.Accounts = []string{events[r.IntN(len(events))].Account, events[r.IntN(len(events))].Account}
		}
		if r.IntN(3) == 0 {
			q.Regions = []string{events[r.IntN(len(events))].Region}
		}
		for range r.IntN(3) {
			attr := cairnv1.LookupAttribute(1 + r.IntN(10))
			q.Filters = append(q.Filters, Filter{Attr: attr, Value: pick(r, attr)})
		}
		want := naiveLookup(events, q)
		var got []Found
		for page := 0; ; page++ {
			found, _, err := db.Lookup(q)
			if err != nil {
				t.Fatalf("query %d %+v: %v", n, q, err)
			}
			got = append(got, found...)
			if len(found) < q.Limit {
				break
			}
			last := found[len(found)-1].Cursor
			q.After = &last
			if page > len(events) {
				t.Fatalf("query %d: paging does not end", n)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("query %d %+v: %d events, want %d", n, q, len(got), len(want))
		}
		for i := range want {
			if got[i].EventID != want[i].EventId || got[i].Account != want[i].Account || !bytes.Equal(got[i].Raw, want[i].Raw) {
				t.Fatalf("query %d: event %d is %s/%s, want %s/%s", n, i, got[i].Account, got[i].EventID, want[i].Account, want[i].EventId)
			}
		}
	}
}

// An EventId lookup finds events of accounts that first appeared after an
// earlier lookup loaded the account cache.
func TestLookupByEventIDSeesNewAccounts(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mustApply(t, db, 1, ev("111111111111", "us-east-1", "first", at))
	q := func(id string) int {
		found, _, err := db.Lookup(LookupQuery{From: at.Add(-time.Hour).UnixNano(), To: at.Add(time.Hour).UnixNano(), Limit: 5,
			Filters: []Filter{{Attr: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID, Value: id}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(found)
	}
	if q("first") != 1 {
		t.Fatal("first event not found")
	}
	mustApply(t, db, 2, ev("222222222222", "eu-west-1", "second", at))
	if q("second") != 1 {
		t.Fatal("the event of a new account is not found once the account cache is loaded")
	}
}
