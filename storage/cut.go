package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// dayPrefixes are the keyspaces whose keys begin with their day: everything
// stored for an event. A retention cut deletes from all of them.
var dayPrefixes = []byte{prefixSummary, prefixRecord, prefixEventID, prefixCalls, prefixIndex + byte(attrErrorCode), prefixCounts}

// dayAccountPrefixes are the dayPrefixes whose keys begin day | account 0x00:
// all but the eventID, eventName and lookup indexes.
var dayAccountPrefixes = []byte{prefixSummary, prefixRecord, prefixCounts}

// CutStats count what a retention cut deleted.
type CutStats struct {
	Events uint64 // events deleted
	// Ranges is the number of (day, account) ranges deleted whole, with one
	// range deletion per keyspace; Points the events deleted one by one
	// (a day that its account's cutoff splits, or a category that expires
	// before the account's others).
	Ranges, Points uint64
}

// ApplyCut applies log entry index: it deletes every stored event that r
// expires, with everything stored for it (summary, eventID and index
// entries). It reads only this DB and r, so every replica deletes the same
// events at the same index.
//
// Whole (day, account) ranges go with one range deletion per keyspace;
// only where a cutoff falls inside a day, or categories expire at different
// times, are events deleted one by one. The space is reclaimed by a
// compaction of the deleted days that runs after the cut, in the
// background.
func (db *DB) ApplyCut(index uint64, r *Retention) (CutStats, error) {
	var stats CutStats
	release, err := db.acquire()
	if err != nil {
		return stats, err
	}
	defer release()
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if err := db.checkIndex(index); err != nil {
		return stats, fmt.Errorf("cannot apply cut %d: %w", index, err)
	}

	b := db.pdb.NewBatch()
	defer b.Close()
	c := cutter{db: db, r: r, b: b, stats: &stats}
	first, last, err := c.days()
	if err == nil {
		for day := first; day <= last && err == nil; day++ {
			err = c.day(day)
		}
	}
	if err == nil {
		err = c.counts.write(db.pdb, b)
	}
	if err != nil {
		return stats, fmt.Errorf("cannot apply cut %d: %w", index, err)
	}
	count := db.events.Load() - min(stats.Events, db.events.Load())
	if err := db.commitMeta(b, index, &count); err != nil {
		return stats, fmt.Errorf("cannot apply cut %d: %w", index, err)
	}
	if stats.Events > 0 {
		// The range deletions reach past what the memories of ApplyIngest
		// know of.
		db.seenDays.forget()
		db.counts.forget()
		db.calls.forget()
		db.compactDaysAsync(first, last)
	}
	return stats, nil
}

// cutter is one ApplyCut.
type cutter struct {
	db    *DB
	r     *Retention
	b     *pebble.Batch
	stats *CutStats
	key   []byte // scratch
	// counts are the events deleted one by one, for the counts of the
	// days that are not deleted whole.
	counts countDeltas
}

// days returns the days that may hold expired events: from the oldest
// stored one to the day of the latest cutoff of any account (first > last
// when there are none).
func (c *cutter) days() (first, last int32, err error) {
	snap := c.db.pdb.NewSnapshot()
	defer snap.Close()
	if first, err = firstDay(snap); err != nil {
		return 0, 0, err
	}
	newest, err := lastDay(snap)
	if err != nil {
		return 0, 0, err
	}
	hi := int64(math.MinInt64)
	for _, p := range c.r.rules.Policies {
		_, h := c.r.bounds(p.Account)
		hi = max(hi, h)
	}
	_, h := c.r.bounds(unnamedAccount)
	hi = max(hi, h)
	if hi == math.MinInt64 {
		return 1, 0, nil
	}
	return first, min(newest, dayOf(hi-1)), nil
}

// day cuts one day: account by account, as the summary keyspace lists them,
// or with one range deletion per keyspace when every account's whole day
// has expired.
func (c *cutter) day(day int32) error {
	accounts, err := dayAccounts(c.db.pdb, day)
	if err != nil {
		return err
	}
	dayStart := int64(day) * nanosPerDay
	whole := make([]bool, len(accounts))
	allWhole := true
	for i, a := range accounts {
		lo, _ := c.r.bounds(a)
		whole[i] = dayStart+nanosPerDay <= lo
		allWhole = allWhole && whole[i]
	}
	if allWhole && len(accounts) > 0 {
		return c.wholeDay(day)
	}
	for i, a := range accounts {
		_, hi := c.r.bounds(a)
		switch {
		case whole[i]:
			err = c.wholeAccountDay(day, a)
		case dayStart < hi: // some of it may have expired
			err = c.someOfDay(day, a)
		}
		if err != nil {
			return fmt.Errorf("account %s, day %d: %w", a, day, err)
		}
	}
	return nil
}

// wholeDay deletes every event of day with one range deletion per
// keyspace, after counting them.
func (c *cutter) wholeDay(day int32) error {
	lower, upper := appendDay([]byte{prefixSummary}, day), appendDay([]byte{prefixSummary}, day+1)
	n, err := c.walkKeys(lower, upper, nil)
	if err != nil {
		return err
	}
	for _, p := range dayPrefixes {
		if err := c.b.DeleteRange(appendDay([]byte{p}, day), appendDay([]byte{p}, day+1), nil); err != nil {
			return err
		}
	}
	c.stats.Events += n
	c.stats.Ranges++
	return nil
}

// wholeAccountDay deletes account's events of day with one range deletion
// per keyspace led by day | account, and their eventID and lookup index
// entries one by one, found from the summaries.
func (c *cutter) wholeAccountDay(day int32, account string) error {
	lower := appendString(appendDay([]byte{prefixSummary}, day), account)
	var g indexGroup // every event goes, so every entry
	var calls callGroup
	n, err := c.walkKeys(lower, nextAccountKey(prefixSummary, day, account), func(k *eventKeyBytes, s *summary) error {
		calls.add(s, true)
		return g.add(c, k, s, true)
	})
	if err := errors.Join(err, g.flush(c), calls.flush(c, day, account)); err != nil {
		return err
	}
	for _, p := range dayAccountPrefixes {
		lower := appendString(appendDay([]byte{p}, day), account)
		if err := c.b.DeleteRange(lower, nextAccountKey(p, day, account), nil); err != nil {
			return err
		}
	}
	c.stats.Events += n
	c.stats.Ranges++
	return nil
}

// indexGroup collects, for a cut that deletes events found from their
// summaries, the eventID and lookup index entries of the events of one
// (account, region, eventTime) that it deletes and of those it keeps: an
// entry stands for all the events of its value (or eventID hash) there, so it
// goes only if none of them stays. The summaries list such events next to
// each other.
type indexGroup struct {
	account, region []byte
	eventTime       int64
	gone, kept      [][]byte // index keys
}

// add notes the eventID and lookup index entries of the event with key k
// and summary s, which the cut deletes (gone) or keeps, deleting first the
// entries of the previous group if k starts another.
func (g *indexGroup) add(c *cutter, k *eventKeyBytes, s *summary, gone bool) error {
	if k.eventTime != g.eventTime || !bytes.Equal(k.account, g.account) || !bytes.Equal(k.region, g.region) {
		if err := g.flush(c); err != nil {
			return err
		}
		g.account = append(g.account[:0], k.account...)
		g.region = append(g.region[:0], k.region...)
		g.eventTime = k.eventTime
	}
	note := func(key []byte) {
		if gone {
			g.gone = append(g.gone, key)
		} else {
			g.kept = append(g.kept, key)
		}
	}
	note(appendEventIDKey(nil, k.account, k.region, k.eventTime, k.eventID))
	for _, ix := range indexedAttrs {
		if v := ix.ofSummary(s); indexable(v) {
			note(appendIndexKey(nil, indexKey{attr: ix.attr, account: string(k.account), value: string(v), eventTime: k.eventTime, region: string(k.region)}))
		}
	}
	return nil
}

// flush deletes the entries of the group that no kept event needs.
func (g *indexGroup) flush(c *cutter) error {
	for _, key := range g.gone {
		if slices.ContainsFunc(g.kept, func(k []byte) bool { return bytes.Equal(k, key) }) {
			continue
		}
		if err := c.b.Delete(key, nil); err != nil {
			return err
		}
	}
	g.gone, g.kept = g.gone[:0], g.kept[:0]
	return nil
}

// walkKeys returns the number of summaries in [lower, upper), calling fn,
// if not nil, with each of them parsed.
func (c *cutter) walkKeys(lower, upper []byte, fn func(*eventKeyBytes, *summary) error) (uint64, error) {
	iter, err := c.db.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0, err
	}
	var n uint64
	for valid := iter.First(); valid; valid = iter.Next() {
		n++
		if fn == nil {
			continue
		}
		k, err := splitEventKey(iter.Key())
		var s summary
		if err == nil {
			s, err = parseSummary(iter.Value())
		}
		if err == nil {
			err = fn(&k, &s)
		}
		if err != nil {
			return n, errors.Join(err, iter.Close())
		}
	}
	return n, errors.Join(iter.Error(), iter.Close())
}

// someOfDay deletes, one by one, the events of account on day that have
// expired, reading their categories from their summaries.
func (c *cutter) someOfDay(day int32, account string) error {
	lower := appendString(appendDay([]byte{prefixSummary}, day), account)
	iter, err := c.db.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: nextAccountKey(prefixSummary, day, account)})
	if err != nil {
		return err
	}
	var g indexGroup
	var calls callGroup
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := splitEventKey(iter.Key())
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		v, err := iter.ValueAndErr()
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		s, err := parseSummary(v)
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		expired := c.r.Expired(account, string(s.category), k.eventTime)
		calls.add(&s, expired)
		if err := g.add(c, &k, &s, expired); err != nil {
			return errors.Join(err, iter.Close())
		}
		if !expired {
			continue
		}
		if err := c.deleteEvent(iter.Key(), &k, &s); err != nil {
			return errors.Join(err, iter.Close())
		}
	}
	return errors.Join(iter.Error(), iter.Close(), g.flush(c), calls.flush(c, day, account))
}

// callGroup collects, for a cut of one account's day, its API calls and
// whether the cut keeps an event of each: the eventName index entry of a
// call goes only with its last event.
type callGroup struct {
	kept map[apiCall]bool // account unset; true: an event stays
}

// add notes an event with summary s, which the cut deletes (gone) or keeps.
func (g *callGroup) add(s *summary, gone bool) {
	if !indexable(s.eventName) {
		return // no entry
	}
	if g.kept == nil {
		g.kept = make(map[apiCall]bool)
	}
	call := apiCall{source: string(s.eventSource), name: string(s.eventName)}
	g.kept[call] = g.kept[call] || !gone
}

// flush deletes the entries of account's calls on day that no kept event
// needs, in key order.
func (g *callGroup) flush(c *cutter, day int32, account string) error {
	var gone [][]byte
	for call, kept := range g.kept {
		if !kept {
			gone = append(gone, appendCallKey(nil, day, call.name, account, call.source))
		}
	}
	slices.SortFunc(gone, bytes.Compare)
	for _, key := range gone {
		if err := c.b.Delete(key, nil); err != nil {
			return err
		}
	}
	clear(g.kept)
	return nil
}

// deleteEvent deletes one event's summary (at sumKey) and record; its
// eventID and lookup index entries are the caller's indexGroup's.
func (c *cutter) deleteEvent(sumKey []byte, k *eventKeyBytes, s *summary) error {
	if err := c.b.Delete(sumKey, nil); err != nil {
		return err
	}
	c.key = appendRecordKey(c.key[:0], k.account, s.eventSource, s.eventName, k.region, k.eventTime, k.eventID)
	if err := c.b.Delete(c.key, nil); err != nil {
		return err
	}
	c.counts.add(dayOf(k.eventTime), k.account, s, -1)
	c.stats.Events++
	c.stats.Points++
	return nil
}

// compactDaysAsync compacts the keyspaces of days [first, last] in the
// background, so that the space of deleted events is given back soon
// rather than whenever Pebble gets to it. One compaction runs at a time; a
// cut that finds one running leaves its days to Pebble.
func (db *DB) compactDaysAsync(first, last int32) {
	if !db.compacting.CompareAndSwap(false, true) {
		return
	}
	release, err := db.acquire()
	if err != nil {
		db.compacting.Store(false)
		return
	}
	go func() {
		defer db.compacting.Store(false)
		defer release()
		for _, p := range dayPrefixes {
			lower, upper := appendDay([]byte{p}, first), appendDay([]byte{p}, last+1)
			if err := db.pdb.Compact(context.Background(), lower, upper, true); err != nil {
				db.logger.Warn("compaction after a retention cut failed", "error", err)
				return
			}
		}
	}()
}
