package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// CountedColumns are the bits of Event.Columns that a count key keeps:
// ColumnsExact (1) and HasRecipientAccountID (2) of storage/event, whose
// tests check that the values match. The others describe columns a count
// does not hold.
const CountedColumns uint32 = 1 | 2

// columnsExact is storage/event.ColumnsExact.
const columnsExact uint32 = 1

// countKey is the key of one count: the events of one account on one day
// that share these attributes.
type countKey struct {
	day                                        int32
	account                                    []byte
	eventSource, eventName, category, readOnly []byte
	columns                                    uint32 // Event.Columns & CountedColumns
}

// appendCountKey appends 0x40 | day | account 0x00 | eventSource |
// eventName | category | readOnly | columns: the four attributes as uvarint
// length | bytes, columns as a uvarint.
func appendCountKey(dst []byte, k *countKey) []byte {
	dst = append(dst, prefixCounts)
	dst = appendDay(dst, k.day)
	dst = appendString(dst, string(k.account))
	for _, f := range [...][]byte{k.eventSource, k.eventName, k.category, k.readOnly} {
		dst = binary.AppendUvarint(dst, uint64(len(f)))
		dst = append(dst, f...)
	}
	return binary.AppendUvarint(dst, uint64(k.columns))
}

// parseCountKey parses a whole key built by appendCountKey; the fields alias
// src.
func parseCountKey(src []byte) (countKey, error) {
	var k countKey
	if len(src) < 1 || src[0] != prefixCounts {
		return k, fmt.Errorf("cannot parse count key %q: %w", src, errBadKey)
	}
	day, rest, err := parseDay(src[1:])
	if err == nil {
		k.day = day
		k.account, rest, err = parseBytes(rest)
	}
	for _, f := range [...]*[]byte{&k.eventSource, &k.eventName, &k.category, &k.readOnly} {
		if err != nil {
			break
		}
		*f, rest, err = parseLenBytes(rest)
	}
	if err != nil {
		return k, fmt.Errorf("cannot parse count key %q: %w", src, err)
	}
	columns, n := binary.Uvarint(rest)
	if n <= 0 || n != len(rest) || columns&^uint64(CountedColumns) != 0 {
		return k, fmt.Errorf("cannot parse count key %q: columns: %w", src, errBadKey)
	}
	k.columns = uint32(columns)
	return k, nil
}

// parseCount parses a count value: a uvarint.
func parseCount(src []byte) (uint64, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || k != len(src) {
		return 0, fmt.Errorf("cannot parse count %x: %w", src, errBadKey)
	}
	return n, nil
}

// countDeltas accumulates the changes one batch makes to counts, by count
// key, for the writers other than ApplyIngest (retention cuts, migrations),
// which read every count they change.
type countDeltas struct {
	m   map[string]int64
	buf []byte
}

// add changes the count of the events like the one with key k and summary
// fields s by n.
func (d *countDeltas) add(day int32, account []byte, s *summary, n int64) {
	if d.m == nil {
		d.m = map[string]int64{}
	}
	d.buf = appendCountKey(d.buf[:0], &countKey{day: day, account: account, eventSource: s.eventSource,
		eventName: s.eventName, category: s.category, readOnly: s.readOnly, columns: s.columns & CountedColumns})
	d.m[string(d.buf)] += n
}

// write adds the new counts to b, in key order so that the batch is the
// same on every replica: each is read from r (the state b applies to) and
// changed by its delta.
func (d *countDeltas) write(r reader, b *pebble.Batch) error {
	keys := make([]string, 0, len(d.m))
	for k, delta := range d.m {
		if delta != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		old, err := readCount(r, k)
		if err == nil {
			_, err = writeCount(b, k, old, d.m[k])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readCount reads the count at key from r; a missing count is 0.
func readCount(r reader, key string) (uint64, error) {
	v, closer, err := r.Get([]byte(key))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("cannot read count: %w", err)
	}
	n, err := parseCount(v)
	return n, errors.Join(err, closer.Close())
}

// writeCount adds to b the count at key changed from old by delta, and
// returns it: a count that reaches 0 is deleted.
func writeCount(b *pebble.Batch, key string, old uint64, delta int64) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	n := int64(old) + delta
	var err error
	switch {
	case n < 0:
		return 0, fmt.Errorf("count %q would go below zero (%d %+d): %w", key, old, delta, errBadKey)
	case n == 0:
		err = b.Delete([]byte(key), nil)
	default:
		err = b.Set([]byte(key), binary.AppendUvarint(buf[:0], uint64(n)), nil)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot write count: %w", err)
	}
	return uint64(n), nil
}

// countCacheMax bounds a countCache: it is emptied when it holds more
// counts.
const countCacheMax = 100_000

// countCache is ApplyIngest's way to counts: it adds up a batch's changes
// and remembers the counts written lately, exactly as committed, so that the
// next batches need not read them. Each event costs one map lookup, which
// finds both its count's delta and its value. It is used under applyMu.
type countCache struct {
	index   map[string]int32 // count key → counts
	counts  []cachedCount
	touched []int32 // the counts the batch being built changes
	buf     []byte
}

type cachedCount struct {
	key   string
	n     uint64 // as committed, or as the batch being built writes it; if known
	delta int64  // of the batch being built: > 0 once the batch counts an event here
	known bool
}

// addEvent counts an event about to be stored.
func (c *countCache) addEvent(e *cairnv1.Event) {
	c.buf = appendCountKey(c.buf[:0], &countKey{day: dayOf(e.EventTimeUnixNano), account: []byte(e.Account),
		eventSource: []byte(e.EventSource), eventName: []byte(e.EventName), category: []byte(e.EventCategory),
		readOnly: []byte(e.ReadOnly), columns: e.Columns & CountedColumns})
	i, ok := c.index[string(c.buf)]
	if !ok {
		if c.index == nil {
			c.index = make(map[string]int32)
		}
		i = int32(len(c.counts))
		key := string(c.buf)
		c.counts = append(c.counts, cachedCount{key: key})
		c.index[key] = i
	}
	if c.counts[i].delta == 0 {
		c.touched = append(c.touched, i)
	}
	c.counts[i].delta++
}

// write adds the batch's new counts to b, in key order so that the batch is
// the same on every replica; a count not in the cache is read from r (the
// state b applies to).
func (c *countCache) write(r reader, b *pebble.Batch) error {
	slices.SortFunc(c.touched, func(x, y int32) int { return strings.Compare(c.counts[x].key, c.counts[y].key) })
	for _, i := range c.touched {
		cc := &c.counts[i]
		if !cc.known {
			n, err := readCount(r, cc.key)
			if err != nil {
				return err
			}
			cc.n, cc.known = n, true
		}
		n, err := writeCount(b, cc.key, cc.n, cc.delta)
		if err != nil {
			return err
		}
		cc.n = n
	}
	return nil
}

// commit makes the counts write gave the committed ones.
func (c *countCache) commit() {
	for _, i := range c.touched {
		c.counts[i].delta = 0
	}
	c.touched = c.touched[:0]
	if len(c.counts) > countCacheMax {
		c.forget()
	}
}

// abort drops the changes of a batch that was not committed: the counts it
// changed are read again when next needed.
func (c *countCache) abort() {
	for _, i := range c.touched {
		c.counts[i].delta, c.counts[i].known = 0, false
	}
	c.touched = c.touched[:0]
}

// forget empties the cache, for changes to counts it did not see.
func (c *countCache) forget() {
	clear(c.index)
	c.counts = c.counts[:0]
	c.touched = c.touched[:0]
}

// ScanCounts is ScanFields for a query that only counts events by some of
// their attributes. fn gets, for each (day, account, eventSource, eventName,
// eventCategory, readOnly, columns) with stored events, Fields with those
// set (EventTime is the day's start; Region, EventID, ErrorCode and
// SourceIP are nil) and n, how many events have them; raw is nil. Where the
// counts of an account's day cannot stand for its events, because q's
// retention expires part of a group or an event's summary does not hold its
// own columns exactly (Columns lacks ColumnsExact), fn gets that day's
// events one by one instead, as ScanFields gives them, each with n 1.
//
// q.From and q.To must be 0, and q.Prefilter nil. Stats count the events
// counted, and the bytes of counts and summaries read.
func (db *DB) ScanCounts(q ScanQuery, fn func(f *Fields, n uint64, raw func() ([]byte, error)) (more bool, err error)) (ScanStats, error) {
	var stats ScanStats
	if q.From != 0 || q.To != 0 || q.Prefilter != nil {
		return stats, errors.New("cannot scan counts: a time range or prefilter was given")
	}
	release, err := db.acquire()
	if err != nil {
		return stats, err
	}
	defer release()
	snap := db.pdb.NewSnapshot()
	defer snap.Close()

	var accounts map[string]bool
	if q.Accounts != nil {
		accounts = map[string]bool{}
		for _, a := range q.Accounts {
			accounts[a] = true
		}
	}
	s := countScan{q: q, fn: fn, stats: &stats, cur: &scanCursor{snap: snap, onSum: true}}
	prefix := []byte{prefixCounts}
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keyUpperBound(prefix)})
	if err != nil {
		return stats, fmt.Errorf("cannot scan counts: %w", err)
	}
	more := true
	for valid := iter.First(); valid && more; {
		k, err := parseCountKey(iter.Key())
		if err != nil {
			return stats, errors.Join(fmt.Errorf("cannot scan counts: %w", err), iter.Close())
		}
		if accounts != nil && !accounts[string(k.account)] {
			valid = iter.SeekGE(nextAccountKey(prefixCounts, k.day, string(k.account)))
			continue
		}
		// Gather the account's day: its counts are few.
		s.block = s.block[:0]
		s.day, s.account = k.day, append(s.account[:0], k.account...)
		blockPrefix := appendString(appendDay([]byte{prefixCounts}, k.day), string(k.account))
		for ; valid && bytes.HasPrefix(iter.Key(), blockPrefix); valid = iter.Next() {
			e := countEntry{size: len(iter.Key()) + len(iter.Value())}
			e.k, err = parseCountKey(bytes.Clone(iter.Key()))
			if err == nil {
				e.n, err = parseCount(iter.Value())
			}
			if err != nil {
				return stats, errors.Join(fmt.Errorf("cannot scan counts: %w", err), iter.Close())
			}
			s.block = append(s.block, e)
		}
		if more, err = s.emit(); err != nil {
			return stats, errors.Join(err, iter.Close())
		}
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return stats, fmt.Errorf("cannot scan counts: %w", err)
	}
	return stats, nil
}

// countEntry is one count, its key copied out of the iterator.
type countEntry struct {
	k       countKey
	n       uint64
	size    int  // of the key and value
	expired bool // by the scan's retention, for the whole day
}

// countScan is one ScanCounts.
type countScan struct {
	q       ScanQuery
	fn      func(f *Fields, n uint64, raw func() ([]byte, error)) (bool, error)
	stats   *ScanStats
	cur     *scanCursor
	day     int32
	account []byte
	block   []countEntry
}

// emit gives fn the counts of one account's day, or its events when the
// counts cannot stand for them: an event's summary does not hold its own
// columns exactly, or a retention cutoff falls inside the day for a group.
func (s *countScan) emit() (bool, error) {
	start, end := int64(s.day)*nanosPerDay, int64(s.day+1)*nanosPerDay
	for i := range s.block {
		e := &s.block[i]
		if e.k.columns&columnsExact == 0 {
			return s.events()
		}
		if s.q.Retention != nil {
			cut := s.q.Retention.Cutoff(string(e.k.account), string(e.k.category))
			if cut > start && cut < end {
				return s.events()
			}
			e.expired = cut >= end
		}
	}
	var f Fields
	for _, e := range s.block {
		s.stats.BytesRead += uint64(e.size)
		if e.expired {
			continue
		}
		s.stats.Events += e.n
		f = Fields{Account: e.k.account, EventTime: start, EventName: e.k.eventName, EventSource: e.k.eventSource,
			ReadOnly: e.k.readOnly, Category: e.k.category, Columns: e.k.columns}
		if more, err := s.fn(&f, e.n, nil); err != nil || !more {
			return false, err
		}
	}
	return true, nil
}

// events gives fn the account's events of the day one by one.
func (s *countScan) events() (bool, error) {
	var f Fields
	c := s.cur
	raw := func() ([]byte, error) {
		b, err := c.raw()
		s.stats.BytesRead += uint64(len(b))
		return b, err
	}
	lower := appendString(appendDay([]byte{prefixSummary}, s.day), string(s.account))
	q := s.q
	q.Accounts = nil
	return scanRange(c, lower, nextAccountKey(prefixSummary, s.day, string(s.account)), q, func(c *scanCursor) (bool, error) {
		c.fields(&f)
		s.stats.Events++
		s.stats.BytesRead += uint64(c.summaryLen)
		return s.fn(&f, 1, raw)
	})
}
