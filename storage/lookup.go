package storage

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// LookupQuery selects stored events; see Lookup.
type LookupQuery struct {
	// Accounts to search; nil: every account.
	Accounts []string
	// Regions to search; nil: every region.
	Regions []string
	// From and To bound eventTime (unix nanoseconds): [From, To).
	From, To int64
	// Filters are ANDed.
	Filters []Filter
	// After, when not nil, excludes it and every event before it in lookup
	// order.
	After *Cursor
	// Limit is the most events returned; it must be positive.
	Limit int
	// Retention, when not nil, skips the events it expires.
	Retention *Retention
}

// Filter matches events whose attribute equals Value exactly: for
// ResourceName and ResourceType, any element of resources[]; for ReadOnly,
// "true" or "false".
type Filter struct {
	Attr  cairnv1.LookupAttribute
	Value string
}

// Cursor is a position in lookup order: eventTime descending, then account
// descending, then eventID descending. (account, eventID) is unique per day,
// so the order is total.
type Cursor struct {
	Time    int64
	Account string
	EventID string
}

// Before reports whether c comes before d in lookup order (c is newer).
func (c Cursor) Before(d Cursor) bool {
	if c.Time != d.Time {
		return c.Time > d.Time
	}
	if c.Account != d.Account {
		return c.Account > d.Account
	}
	return c.EventID > d.EventID
}

// Found is one event a lookup returns.
type Found struct {
	Cursor
	Region string
	Raw    []byte

	// source and name are the event's eventSource and eventName, which
	// its record key holds.
	source, name string
}

// LookupStats describe the work of one lookup.
type LookupStats struct {
	Scanned   uint64 // summaries, index entries and eventID probes examined
	BytesRead uint64 // raw bytes returned
}

// Lookup returns the first q.Limit events in lookup order (newest first) that
// match q, with their raw bytes, read from one consistent state.
//
// Access paths: an EventId filter probes the eventID index of every account
// and day in range; otherwise an ErrorCode filter walks that index; otherwise
// an EventName filter reads the records of the API calls with that name,
// which the eventName index lists (see calls.go); otherwise the summaries of
// the accounts and days in range are scanned. Days are taken newest first,
// and the lookup stops after the first day that completes a page.
func (db *DB) Lookup(q LookupQuery) ([]Found, LookupStats, error) {
	var stats LookupStats
	if q.Limit <= 0 {
		return nil, stats, errors.New("lookup limit must be positive")
	}
	if q.To <= q.From {
		return nil, stats, nil
	}
	release, err := db.acquire()
	if err != nil {
		return nil, stats, err
	}
	defer release()
	snap := db.pdb.NewSnapshot()
	defer snap.Close()

	if q.Accounts != nil {
		q.Accounts = slices.Compact(slices.Sorted(slices.Values(q.Accounts)))
	}
	l := &lookup{db: db, snap: snap, q: q, stats: &stats}
	defer l.close()
	last := q.To - 1
	if q.After != nil {
		last = min(last, q.After.Time)
	}
	// Only the days that hold events: probing empty days costs a seek each.
	first, err := firstDay(snap)
	if err != nil {
		return nil, stats, fmt.Errorf("cannot look up events: %w", err)
	}
	newest, err := lastDay(snap)
	if err != nil {
		return nil, stats, fmt.Errorf("cannot look up events: %w", err)
	}
	for day := min(dayOf(last), newest); day >= max(dayOf(q.From), first); day-- {
		if err := l.day(day); err != nil {
			return nil, stats, fmt.Errorf("cannot look up events: %w", err)
		}
		if len(l.top) >= q.Limit {
			break
		}
	}
	found := make([]Found, len(l.top))
	for i := len(found) - 1; i >= 0; i-- {
		found[i] = heap.Pop(&l.top).(Found)
	}
	for i := range found {
		f := &found[i]
		raw, err := getRecord(snap, &recordKey[string]{account: f.Account, source: f.source, name: f.name,
			region: f.Region, eventID: f.EventID, eventTime: f.Time})
		if err != nil {
			return nil, stats, fmt.Errorf("cannot look up events: read %s/%s: %w", found[i].Account, found[i].EventID, err)
		}
		found[i].Raw = raw
		stats.BytesRead += uint64(len(raw))
	}
	return found, stats, nil
}

// lookup is the state of one Lookup call.
type lookup struct {
	db    *DB
	snap  *pebble.Snapshot
	q     LookupQuery
	stats *LookupStats
	top   topFound // the best q.Limit candidates so far

	// sums reads the summaries that index entries and records stand for,
	// recs the records of API calls; each is opened on first use. prefix
	// is scratch for sums.
	sums, recs *pebble.Iterator
	prefix     []byte
}

func (l *lookup) filter(attr cairnv1.LookupAttribute) (string, bool) {
	for _, f := range l.q.Filters {
		if f.Attr == attr {
			return f.Value, true
		}
	}
	return "", false
}

// day collects the day's candidates into l.top.
func (l *lookup) day(day int32) error {
	if id, ok := l.filter(cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID); ok {
		return l.byEventID(day, id)
	}
	// Events whose value is not indexable have no entry: find those on
	// the summaries.
	if code, ok := l.filter(cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE); ok && indexable(code) {
		return l.byIndex(day, attrErrorCode, code)
	}
	if name, ok := l.filter(cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME); ok && indexable(name) {
		return l.byName(day, name)
	}
	return l.bySummary(day)
}

// accounts returns the accounts to search: the query's, or every account
// of the shard.
func (l *lookup) accounts() ([]string, error) {
	if l.q.Accounts != nil {
		return l.q.Accounts, nil
	}
	return l.db.knownAccounts()
}

// consider checks a candidate against everything its source did not already
// check and keeps it if it is among the best so far. sum is its summary.
func (l *lookup) consider(c Cursor, region string, sum []byte) error {
	l.stats.Scanned++
	if !l.candidate(c, region) {
		return nil
	}
	s, err := parseSummary(sum)
	if err != nil {
		return err
	}
	if !matches(l.q.Filters, c, &s) {
		return nil
	}
	if l.q.Retention != nil && l.q.Retention.Expired(c.Account, string(s.category), c.Time) {
		return nil
	}
	heap.Push(&l.top, Found{Cursor: c, Region: region, source: string(s.eventSource), name: string(s.eventName)})
	if len(l.top) > l.q.Limit {
		heap.Pop(&l.top)
	}
	return nil
}

// candidate reports whether an event with cursor c in region may be kept,
// by everything but its summary.
func (l *lookup) candidate(c Cursor, region string) bool {
	switch {
	case c.Time < l.q.From || c.Time >= l.q.To:
		return false
	case l.q.After != nil && !l.q.After.Before(c):
		return false
	case l.q.Regions != nil && !slices.Contains(l.q.Regions, region):
		return false
	}
	return len(l.top) < l.q.Limit || c.Before(l.top[0].Cursor) // better than the worst kept
}

// matches reports whether an event passes every filter.
func matches(filters []Filter, c Cursor, s *summary) bool {
	for _, f := range filters {
		var ok bool
		switch f.Attr {
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID:
			ok = c.EventID == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME:
			ok = string(s.eventName) == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_SOURCE:
			ok = string(s.eventSource) == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_USERNAME:
			ok = string(s.username) == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ACCESS_KEY_ID:
			ok = string(s.accessKeyID) == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_NAME:
			ok = s.hasResource(0, f.Value)
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_TYPE:
			ok = s.hasResource(1, f.Value)
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY:
			ok = string(s.readOnly) == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE:
			ok = string(s.errorCode) == f.Value
		case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_SOURCE_IP_ADDRESS:
			ok = string(s.sourceIP) == f.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// byEventID seeks to the eventID's entries of day in the eventID index:
// one seek for every account, since the eventID's hash comes before the
// account. An entry of another eventID with the same hash has no summary
// under this eventID and is passed over.
func (l *lookup) byEventID(day int32, id string) error {
	prefix := appendEventIDPrefix(nil, day, id)
	iter, err := l.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keyUpperBound(prefix)})
	if err != nil {
		return err
	}
	found := false
	for valid := iter.First(); valid; valid = iter.Next() {
		found = true
		k, err := splitEventIDKey(iter.Key())
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		account := string(k.account)
		if l.q.Accounts != nil && !slices.Contains(l.q.Accounts, account) {
			continue
		}
		sum, err := getCopy(l.snap, appendSummaryKey(nil, k.account, k.region, k.eventTime, []byte(id)))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err == nil {
			err = l.consider(Cursor{Time: k.eventTime, Account: account, EventID: id}, string(k.region), sum)
		}
		if err != nil {
			return errors.Join(err, iter.Close())
		}
	}
	if !found {
		l.stats.Scanned++ // the seek
	}
	return errors.Join(iter.Error(), iter.Close())
}

// byIndex walks one attribute index for value on day: the range of every
// account, or of each account of the query.
func (l *lookup) byIndex(day int32, a attr, value string) error {
	prefixes := [][]byte{appendIndexValuePrefix(nil, a, day, value)}
	if l.q.Accounts != nil {
		prefixes = prefixes[:0]
		for _, account := range l.q.Accounts {
			prefixes = append(prefixes, appendIndexPrefix(nil, a, day, value, account))
		}
	}
	for _, p := range prefixes {
		err := l.walkBack(p, func(key, _ []byte) error {
			k, err := splitIndexKey(key)
			if err != nil {
				return err
			}
			return l.indexed(&k)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// summaries returns the iterator over the summary keyspace that the
// lookup opens on first use.
func (l *lookup) summaries() (*pebble.Iterator, error) {
	if l.sums == nil {
		it, err := l.snap.NewIter(&pebble.IterOptions{LowerBound: summaryKeyspace, UpperBound: keyUpperBound(summaryKeyspace)})
		if err != nil {
			return nil, err
		}
		l.sums = it
	}
	return l.sums, nil
}

// indexed considers the events the index entry k stands for: the summaries
// of its account, region and eventTime, which consider matches against the
// filters.
func (l *lookup) indexed(k *indexKeyBytes) error {
	sums, err := l.summaries()
	if err != nil {
		return err
	}
	l.prefix = appendSummaryPrefix(l.prefix[:0], k.account, k.region, k.eventTime)
	for valid := sums.SeekGE(l.prefix); valid && bytes.HasPrefix(sums.Key(), l.prefix); valid = sums.Next() {
		sum, err := sums.ValueAndErr()
		if err != nil {
			return err
		}
		c := Cursor{Time: k.eventTime, Account: string(k.account), EventID: string(sums.Key()[len(l.prefix):])}
		if err := l.consider(c, string(k.region), sum); err != nil {
			return err
		}
	}
	return sums.Error()
}

// close closes what the lookup opened.
func (l *lookup) close() {
	if l.sums != nil {
		l.sums.Close()
	}
	if l.recs != nil {
		l.recs.Close()
	}
}

// bySummary scans the summaries of every account in range.
func (l *lookup) bySummary(day int32) error {
	accounts, err := l.accounts()
	if err != nil {
		return err
	}
	for _, account := range accounts {
		err := l.walkBack(appendString(appendDay([]byte{prefixSummary}, day), account), func(key, value []byte) error {
			k, err := parseEventKey(key)
			if err != nil {
				return err
			}
			return l.consider(Cursor{Time: k.eventTime, Account: account, EventID: k.eventID}, k.region, value)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// byName collects the events of day named name: the records of the API
// calls with that name, which the eventName index lists (see calls.go).
func (l *lookup) byName(day int32, name string) error {
	calls, err := namedCalls(l.snap, day, l.q.Accounts, []string{name})
	if err != nil {
		return err
	}
	for _, call := range calls {
		if err := l.call(day, call); err != nil {
			return err
		}
	}
	if len(calls) == 0 {
		l.stats.Scanned++ // the seek
	}
	return nil
}

// call considers the events of one API call on day, from the keys of their
// records and their summaries.
func (l *lookup) call(day int32, call apiCall) error {
	sums, err := l.summaries()
	if err != nil {
		return err
	}
	if l.recs == nil {
		it, err := l.snap.NewIter(&pebble.IterOptions{LowerBound: recordKeyspace, UpperBound: keyUpperBound(recordKeyspace)})
		if err != nil {
			return err
		}
		l.recs = it
	}
	iter := l.recs
	prefix := appendRecordCallPrefix(nil, day, call.account, call.source, call.name)
	for valid := iter.SeekGE(prefix); valid && bytes.HasPrefix(iter.Key(), prefix); valid = iter.Next() {
		k, _, _, err := splitRecordKey(iter.Key())
		if err != nil {
			return err
		}
		c, region := Cursor{Time: k.eventTime, Account: call.account, EventID: string(k.eventID)}, string(k.region)
		if !l.candidate(c, region) {
			l.stats.Scanned++
			continue
		}
		var sum []byte
		if l.prefix, err = seekSummary(sums, &k, l.prefix); err == nil {
			sum, err = sums.ValueAndErr()
		}
		if err == nil {
			err = l.consider(c, region, sum)
		}
		if err != nil {
			return err
		}
	}
	return iter.Error()
}

// walkBack calls fn with every key under prefix, last first.
func (l *lookup) walkBack(prefix []byte, fn func(key, value []byte) error) error {
	iter, err := l.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keyUpperBound(prefix)})
	if err != nil {
		return err
	}
	for valid := iter.Last(); valid; valid = iter.Prev() {
		if err := fn(iter.Key(), iter.Value()); err != nil {
			return errors.Join(err, iter.Close())
		}
	}
	return errors.Join(iter.Error(), iter.Close())
}

// topFound is a min-heap of candidates by lookup order: the root is the
// last (oldest) kept.
type topFound []Found

func (h topFound) Len() int           { return len(h) }
func (h topFound) Less(i, j int) bool { return h[j].Before(h[i].Cursor) }
func (h topFound) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topFound) Push(x any)        { *h = append(*h, x.(Found)) }
func (h *topFound) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// knownAccounts returns, sorted, every account that has or had events. The
// first call finds them by seeking from one account to the next in the
// summary keyspace, in a snapshot of its own taken under accountsMu;
// ApplyIngest adds the accounts of each entry after committing it, under
// the same mutex. So no account committed is ever missing.
func (db *DB) knownAccounts() ([]string, error) {
	db.accountsMu.Lock()
	defer db.accountsMu.Unlock()
	if db.accounts == nil {
		set := map[string]struct{}{}
		snap := db.pdb.NewSnapshot()
		defer snap.Close()
		err := eachDayAccount(snap, summaryKeyspace, keyUpperBound(summaryKeyspace), func(_ int32, account []byte) {
			set[string(account)] = struct{}{}
		})
		if err != nil {
			return nil, err
		}
		db.accounts = set
	}
	if db.accountsSorted == nil {
		db.accountsSorted = slices.Sorted(maps.Keys(db.accounts))
	}
	return db.accountsSorted, nil
}

// noteAccount adds account to the cache of known accounts, if loaded.
func (db *DB) noteAccount(account string) {
	db.accountsMu.Lock()
	defer db.accountsMu.Unlock()
	if db.accounts == nil {
		return
	}
	if _, ok := db.accounts[account]; !ok {
		// A clone: account may be part of a larger string, such as the
		// Raft entry it was decoded from.
		db.accounts[strings.Clone(account)] = struct{}{}
		db.accountsSorted = nil
	}
}
