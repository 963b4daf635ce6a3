package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// ScanEventKeys calls fn with the (account, eventID) of every stored event, in
// the key order of the summaries: by UTC day of eventTime, then account,
// region, eventTime and eventID. It reads one consistent state. If fn returns
// an error the scan stops and ScanEventKeys returns that error unchanged.
//
// The scan holds one iterator for its whole duration, which pins the sstables
// it reads: keep fn fast. fn may call other methods of db but not Close
// (Close waits for the scan to end).
func (db *DB) ScanEventKeys(fn func(account, eventID string) error) error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()

	iter, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: summaryKeyspace,
		UpperBound: keyUpperBound(summaryKeyspace),
	})
	if err != nil {
		return fmt.Errorf("cannot scan event keys: %w", err)
	}
	defer iter.Close()
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := splitEventKey(iter.Key())
		if err != nil {
			return fmt.Errorf("cannot scan event keys: %w", err)
		}
		if err := fn(string(k.account), string(k.eventID)); err != nil {
			return err
		}
	}
	if err := iter.Error(); err != nil {
		return fmt.Errorf("cannot scan event keys: %w", err)
	}
	return nil
}

// GetRaw returns a copy of the raw bytes stored for the event with this
// account and eventID on the UTC day of eventTimeUnixNano, or ErrNotFound.
// Should several such events be stored (at other times or in other regions
// of that day), it returns the first in (eventTime, region) order.
func (db *DB) GetRaw(account, eventID string, eventTimeUnixNano int64) ([]byte, error) {
	release, err := db.acquire()
	if err != nil {
		return nil, err
	}
	defer release()

	snap := db.pdb.NewSnapshot()
	defer snap.Close()
	raw, err := getRaw(snap, account, eventID, dayOf(eventTimeUnixNano))
	if err != nil {
		return nil, fmt.Errorf("cannot get event %s/%s: %w", account, eventID, err)
	}
	return raw, nil
}

// getRaw finds the event of account with eventID on day through the eventID
// index entries of its hash and account, each confirmed by its summary.
func getRaw(snap *pebble.Snapshot, account, eventID string, day int32) ([]byte, error) {
	prefix := appendString(appendEventIDPrefix(nil, day, eventID), account)
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keyUpperBound(prefix)})
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := splitEventIDKey(iter.Key())
		if err != nil {
			return nil, err
		}
		v, err := getCopy(snap, appendSummaryKey(nil, account, string(k.region), k.eventTime, eventID))
		if errors.Is(err, ErrNotFound) {
			continue // another eventID with the same hash
		}
		var s summary
		if err == nil {
			s, err = parseSummary(v)
		}
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		return getRecord(snap, &recordKey[string]{account: account, source: string(s.eventSource), name: string(s.eventName),
			region: string(k.region), eventID: eventID, eventTime: k.eventTime})
	}
	if err := iter.Error(); err != nil {
		return nil, err
	}
	return nil, ErrNotFound
}

// getCopy returns a copy of the value of key, or ErrNotFound.
func getCopy(r reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// ScanQuery bounds a scan of stored events.
type ScanQuery struct {
	// Accounts to read; nil: every account.
	Accounts []string
	// From and To bound eventTime (unix nanoseconds): [From, To). From 0
	// means no lower bound, To 0 no upper bound.
	From, To int64
	// Prefilter, when not nil, skips events whose summary shows they cannot
	// match, without reading their raw bytes.
	Prefilter *Prefilter
	// Retention, when not nil, skips the events it expires.
	Retention *Retention
}

// Prefilter lists, per attribute, the values an event must have one of; a
// nil list does not constrain. The attributes are compared as their summary
// holds them: the string value of the field, or "" when it is absent.
type Prefilter struct {
	EventIDs, EventNames, EventSources, Regions, ErrorCodes, SourceIPs, AccessKeyIDs []string
}

// admits reports whether an event with key k and summary s may match.
func (p *Prefilter) admits(k *eventKeyBytes, s *summary) bool {
	return oneOf(p.EventIDs, k.eventID) && oneOf(p.Regions, k.region) &&
		oneOf(p.EventNames, s.eventName) && oneOf(p.EventSources, s.eventSource) &&
		oneOf(p.AccessKeyIDs, s.accessKeyID) && oneOf(p.ErrorCodes, s.errorCode) && oneOf(p.SourceIPs, s.sourceIP)
}

// oneOf reports whether v is one of vals; a nil vals admits anything.
func oneOf[T string | []byte](vals []string, v T) bool {
	if vals == nil {
		return true
	}
	for _, s := range vals {
		if s == string(v) {
			return true
		}
	}
	return false
}

// ScanStats describe the work of one scan.
type ScanStats struct {
	Events    uint64 // events passed to fn
	BytesRead uint64 // the raw bytes and summaries read for them
}

// ScanEvents calls fn with the raw bytes of every stored event q selects,
// day by day (oldest first), then by account, from one consistent state.
// Within an account's day the order is that of the records (by eventSource,
// eventName, region, eventTime), or, with a Prefilter, that of ScanFields.
// raw is valid only during the call. fn returns false to stop the scan
// early. With a Prefilter the scan walks the summaries and reads only the
// raw bytes of the events the prefilter admits.
func (db *DB) ScanEvents(q ScanQuery, fn func(raw []byte) (more bool, err error)) (ScanStats, error) {
	var stats ScanStats
	err := db.scan(q, q.Prefilter != nil, func(c *scanCursor) (bool, error) {
		raw, err := c.raw()
		if err != nil {
			return false, err
		}
		stats.Events++
		stats.BytesRead += uint64(len(raw))
		return fn(raw)
	})
	return stats, err
}

// Fields is a stored event as its summary and key give it, without its raw
// record. The byte slices alias the scan's buffers and are valid only during
// the call that gets them.
type Fields struct {
	Account, Region, EventID                              []byte
	EventTime                                             int64 // unix nanoseconds
	EventName, EventSource, ErrorCode, SourceIP, ReadOnly []byte
	Category                                              []byte // eventCategory
	// Columns is the event's Event.Columns: whether these fields are the
	// record's own columns (see storage/event.ColumnsExact). It is 0 for
	// events stored before summaries carried it.
	Columns uint32
}

// ScanFields is ScanEvents over the summaries: fn gets the Fields of every
// stored event q selects, by day, account, region and eventTime (or, when
// q's prefilter names eventNames, as scanByName says), and raw, which reads the event's raw bytes (valid only during the call)
// for when the fields are not enough. Reading summaries instead of records
// makes a scan several times cheaper.
func (db *DB) ScanFields(q ScanQuery, fn func(f *Fields, raw func() ([]byte, error)) (more bool, err error)) (ScanStats, error) {
	var (
		stats ScanStats
		f     Fields
		c     *scanCursor
	)
	raw := func() ([]byte, error) {
		b, err := c.raw()
		stats.BytesRead += uint64(len(b))
		return b, err
	}
	err := db.scan(q, true, func(cur *scanCursor) (bool, error) {
		c = cur
		c.fields(&f)
		stats.Events++
		stats.BytesRead += uint64(c.summaryLen)
		return fn(&f, raw)
	})
	return stats, err
}

// scanCursor is the event a scan is at.
type scanCursor struct {
	snap    *pebble.Snapshot
	iter    *pebble.Iterator // over the record or the summary keyspace
	key     eventKeyBytes    // aliases the current key
	summary summary          // when the scan walks summaries
	// source and name alias the current record key's eventSource and
	// eventName, when the scan walks records.
	source, name []byte
	// rawBuf holds the current raw record.
	rawBuf []byte
	// summaryLen is the size of the encoded summary.
	summaryLen int
	// onSum: the scan walks summaries (else records); withSummary:
	// summary holds the current event's summary.
	onSum, withSummary bool
	// scratch for the keys the cursor builds
	sumKey, recKey []byte

	// rawIter reads raw records for a walk over summaries, over the same
	// (day, account) range of the record keyspace.
	rawIter            *pebble.Iterator
	rawLower, rawUpper []byte

	// The retention bounds of boundsOf, the account of the last event.
	boundsOf []byte
	lo, hi   int64
}

// fields sets f to the event's key and summary fields, which alias them.
func (c *scanCursor) fields(f *Fields) {
	s := &c.summary
	*f = Fields{Account: c.key.account, Region: c.key.region, EventID: c.key.eventID, EventTime: c.key.eventTime,
		EventName: s.eventName, EventSource: s.eventSource, ErrorCode: s.errorCode, SourceIP: s.sourceIP,
		ReadOnly: s.readOnly, Category: s.category, Columns: s.columns}
}

// retained reports whether r keeps the event.
func (c *scanCursor) retained(r *Retention) (bool, error) {
	if c.boundsOf == nil || !bytes.Equal(c.boundsOf, c.key.account) {
		c.boundsOf = append(c.boundsOf[:0], c.key.account...)
		c.lo, c.hi = r.bounds(string(c.key.account))
	}
	switch t := c.key.eventTime; {
	case t >= c.hi:
		return true, nil
	case t < c.lo:
		return false, nil
	}
	category := c.summary.category
	if !c.withSummary {
		c.sumKey = appendSummaryKey(c.sumKey[:0], c.key.account, c.key.region, c.key.eventTime, c.key.eventID)
		v, err := getCopy(c.snap, c.sumKey)
		if err != nil {
			return false, fmt.Errorf("cannot scan events: summary of %s/%s: %w", c.key.account, c.key.eventID, err)
		}
		s, err := parseSummary(v)
		if err != nil {
			return false, fmt.Errorf("cannot scan events: %w", err)
		}
		category = s.category
	}
	return !r.Expired(string(c.key.account), string(category), c.key.eventTime), nil
}

// setSummary parses the summary iter is at into the cursor.
func (c *scanCursor) setSummary(iter *pebble.Iterator) error {
	v, err := iter.ValueAndErr()
	if err == nil {
		c.summaryLen = len(v)
		c.summary, err = parseSummary(v)
	}
	if err != nil {
		return fmt.Errorf("cannot scan events: %w", err)
	}
	return nil
}

// offer calls visit with the cursor's event unless q's retention drops it,
// and reports whether the scan goes on.
func (c *scanCursor) offer(q ScanQuery, visit func(*scanCursor) (bool, error)) (bool, error) {
	if q.Retention != nil {
		if kept, err := c.retained(q.Retention); err != nil || !kept {
			return err == nil, err
		}
	}
	return visit(c)
}

// raw returns the event's raw bytes, valid until the cursor moves: the
// iterator's value when the scan walks the events, else read from the
// snapshot.
func (c *scanCursor) raw() ([]byte, error) {
	if !c.onSum {
		v, err := c.iter.ValueAndErr()
		if err == nil {
			err = c.record(v, c.source, c.name)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot scan events: read %s/%s: %w", c.key.account, c.key.eventID, err)
		}
		return c.rawBuf, nil
	}
	if c.rawIter == nil {
		it, err := c.snap.NewIter(&pebble.IterOptions{LowerBound: c.rawLower, UpperBound: c.rawUpper})
		if err != nil {
			return nil, fmt.Errorf("cannot scan events: %w", err)
		}
		c.rawIter = it
	}
	c.recKey = appendRecordKey(c.recKey[:0], c.key.account, c.summary.eventSource, c.summary.eventName, c.key.region, c.key.eventTime, c.key.eventID)
	if !c.rawIter.SeekGE(c.recKey) || !bytes.Equal(c.rawIter.Key(), c.recKey) {
		err := c.rawIter.Error()
		if err == nil {
			err = ErrNotFound
		}
		return nil, fmt.Errorf("cannot scan events: read %s/%s: %w", c.key.account, c.key.eventID, err)
	}
	v, err := c.rawIter.ValueAndErr()
	if err == nil {
		err = c.record(v, c.summary.eventSource, c.summary.eventName)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot scan events: read %s/%s: %w", c.key.account, c.key.eventID, err)
	}
	return c.rawBuf, nil
}

// record sets c.rawBuf to the raw record of the record value v of the
// current event, whose eventSource and eventName are source and name.
func (c *scanCursor) record(v, source, name []byte) error {
	k := recordKey[[]byte]{account: c.key.account, source: source, name: name, region: c.key.region,
		eventID: c.key.eventID, eventTime: c.key.eventTime}
	var err error
	c.rawBuf, err = appendRecord(c.rawBuf[:0], v, &k)
	return err
}

// closeRaw closes the raw-record iterator of the range that ends.
func (c *scanCursor) closeRaw() error {
	if c.rawIter == nil {
		return nil
	}
	err := c.rawIter.Close()
	c.rawIter = nil
	return err
}

// scan walks the events q selects in the events or, with summaries, the
// summary keyspace, and calls visit for each one that is in q's time range
// and that q's prefilter admits.
func (db *DB) scan(q ScanQuery, summaries bool, visit func(*scanCursor) (bool, error)) error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()
	snap := db.pdb.NewSnapshot()
	defer snap.Close()

	prefix := prefixRecord
	if summaries {
		prefix = prefixSummary
	}
	lower, upper := []byte{prefix}, keyUpperBound([]byte{prefix})
	if q.From != 0 {
		lower = appendDay([]byte{prefix}, dayOf(q.From))
	}
	if q.To != 0 {
		upper = appendDay([]byte{prefix}, dayOf(q.To-1)+1)
	}
	var ranges [][2][]byte
	if q.Accounts == nil {
		ranges = append(ranges, [2][]byte{lower, upper})
	} else {
		// One range per account and day.
		accounts := slices.Compact(slices.Sorted(slices.Values(q.Accounts)))
		first, last, err := dayRange(snap, q)
		if err != nil {
			return err
		}
		for day := first; day <= last; day++ {
			for _, a := range accounts {
				p := appendString(appendDay([]byte{prefix}, day), a)
				ranges = append(ranges, [2][]byte{p, keyUpperBound(p)})
			}
		}
	}
	c := &scanCursor{snap: snap, onSum: summaries}
	if summaries && q.Prefilter != nil && q.Prefilter.EventNames != nil && !slices.ContainsFunc(q.Prefilter.EventNames, func(n string) bool { return !indexable(n) }) {
		return scanByName(c, q, visit)
	}
	for _, r := range ranges {
		more, err := scanRange(c, r[0], r[1], q, visit)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func scanRange(c *scanCursor, lower, upper []byte, q ScanQuery, visit func(*scanCursor) (bool, error)) (bool, error) {
	iter, err := c.snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, fmt.Errorf("cannot scan events: %w", err)
	}
	defer iter.Close()
	c.iter = iter
	c.withSummary = c.onSum
	if c.onSum {
		c.rawLower = append(append(c.rawLower[:0], lower...), upper...)
		c.rawLower, c.rawUpper = c.rawLower[:len(lower)], c.rawLower[len(lower):]
		// The same range of the record keyspace, which shares the day |
		// account that bound it: the upper bound of every summary may be
		// 0x12, which becomes the record keyspace's 0x13.
		c.rawLower[0] += prefixRecord - prefixSummary
		c.rawUpper[0] += prefixRecord - prefixSummary
		defer c.closeRaw()
	}
	for valid := iter.First(); valid; valid = iter.Next() {
		if c.onSum {
			c.key, err = splitEventKey(iter.Key())
		} else {
			c.key, c.source, c.name, err = splitRecordKey(iter.Key())
		}
		if err != nil {
			return false, fmt.Errorf("cannot scan events: %w", err)
		}
		if (q.From != 0 && c.key.eventTime < q.From) || (q.To != 0 && c.key.eventTime >= q.To) {
			continue
		}
		if c.onSum {
			if err := c.setSummary(iter); err != nil {
				return false, err
			}
			if q.Prefilter != nil && !q.Prefilter.admits(&c.key, &c.summary) {
				continue
			}
		}
		if more, err := c.offer(q, visit); err != nil || !more {
			return false, err
		}
	}
	if err := iter.Error(); err != nil {
		return false, fmt.Errorf("cannot scan events: %w", err)
	}
	return true, nil
}

// scanByName is the scan of a query whose prefilter names its eventNames:
// day by day, it walks the records of the API calls with those names, which
// the eventName index lists (see calls.go). Events come by day, eventName,
// account, eventSource, region and eventTime.
func scanByName(c *scanCursor, q ScanQuery, visit func(*scanCursor) (bool, error)) error {
	names := slices.Compact(slices.Sorted(slices.Values(q.Prefilter.EventNames)))
	var accounts []string
	if q.Accounts != nil {
		accounts = slices.Compact(slices.Sorted(slices.Values(q.Accounts)))
	}
	first, last, err := dayRange(c.snap, q)
	if err != nil {
		return err
	}
	// One iterator over the summaries and one over the records for the
	// whole scan: a scan may read thousands of short ranges.
	sums, err := c.snap.NewIter(&pebble.IterOptions{LowerBound: summaryKeyspace, UpperBound: keyUpperBound(summaryKeyspace)})
	if err != nil {
		return fmt.Errorf("cannot scan events: %w", err)
	}
	defer sums.Close()
	recs, err := c.snap.NewIter(&pebble.IterOptions{LowerBound: recordKeyspace, UpperBound: keyUpperBound(recordKeyspace)})
	if err != nil {
		return fmt.Errorf("cannot scan events: %w", err)
	}
	defer recs.Close()
	for day := first; day <= last; day++ {
		calls, err := namedCalls(c.snap, day, accounts, names)
		if err != nil {
			return fmt.Errorf("cannot scan events: %w", err)
		}
		for _, call := range calls {
			if more, err := scanCall(c, sums, recs, day, call, q, visit); err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// scanCall visits the events of one API call on day that q admits, walking
// their records with recs and reading their summaries with sums.
func scanCall(c *scanCursor, sums, recs *pebble.Iterator, day int32, call apiCall, q ScanQuery, visit func(*scanCursor) (bool, error)) (bool, error) {
	prefix := appendRecordCallPrefix(nil, day, call.account, call.source, call.name)
	c.iter, c.onSum, c.withSummary = recs, false, true
	var err error
	for valid := recs.SeekGE(prefix); valid && bytes.HasPrefix(recs.Key(), prefix); valid = recs.Next() {
		if c.key, c.source, c.name, err = splitRecordKey(recs.Key()); err != nil {
			return false, fmt.Errorf("cannot scan events: %w", err)
		}
		if (q.From != 0 && c.key.eventTime < q.From) || (q.To != 0 && c.key.eventTime >= q.To) {
			continue
		}
		if c.sumKey, err = seekSummary(sums, &c.key, c.sumKey); err != nil {
			return false, fmt.Errorf("cannot scan events: %w", err)
		}
		if err := c.setSummary(sums); err != nil {
			return false, err
		}
		if !q.Prefilter.admits(&c.key, &c.summary) {
			continue
		}
		if more, err := c.offer(q, visit); err != nil || !more {
			return false, err
		}
	}
	if err := recs.Error(); err != nil {
		return false, fmt.Errorf("cannot scan events: %w", err)
	}
	return true, nil
}

// dayRange returns the first and last day q can select: its bounds, or the
// days of the oldest and newest stored events.
func dayRange(snap *pebble.Snapshot, q ScanQuery) (first, last int32, err error) {
	first, last = dayOf(q.From), dayOf(q.To-1)
	if q.From == 0 {
		if first, err = firstDay(snap); err != nil {
			return 0, 0, err
		}
	}
	if q.To == 0 {
		if last, err = lastDay(snap); err != nil {
			return 0, 0, err
		}
	}
	return first, last, nil
}

// firstDay and lastDay are the days of the oldest and newest stored events
// (0 when there are none): those of the first and last summaries.
func firstDay(snap *pebble.Snapshot) (int32, error) { return edgeDay(snap, true) }
func lastDay(snap *pebble.Snapshot) (int32, error)  { return edgeDay(snap, false) }

func edgeDay(snap *pebble.Snapshot, first bool) (int32, error) {
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: summaryKeyspace, UpperBound: keyUpperBound(summaryKeyspace)})
	if err != nil {
		return 0, err
	}
	defer iter.Close()
	valid := iter.Last()
	if first {
		valid = iter.First()
	}
	if !valid {
		return 0, iter.Error()
	}
	day, _, err := parseDay(iter.Key()[1:])
	return day, err
}
