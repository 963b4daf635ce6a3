package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// migrateBatchEntries is how many entries one migration batch moves or
// writes.
const migrateBatchEntries = 50_000

// layoutVersion is the version of the key layout of keys.go; the meta key
// layoutVersionKey holds the version a DB is at, 0 when absent:
//
//	0: the eventID index keyed day | account | eventID (0x20), the errorCode
//	   index keyed day | account | value | eventTime | eventID, no eventName
//	   index, no counts.
//	1: records keyed like the summaries (0x10).
//	2: records keyed by API call (0x12).
//	3: record values without the fields their key holds (record.go).
//	4: lookup index entries keyed by region instead of eventID, one per
//	   (value, account, eventTime, region).
//	5: eventID index entries keyed by a hash of the eventID, one per
//	   (hash, account, eventTime, region).
//	6: the layout of keys.go: eventName index entries one per (day,
//	   eventName, account, eventSource) instead of one per event.
const layoutVersion = 6

// upgradeLayout brings a DB written by an earlier version to layoutVersion
// and records it. Every step is deterministic, so the replicas of a shard,
// which hold the same entries, end the same; an interrupted upgrade starts
// again at the next Open.
func upgradeLayout(pdb *pebble.DB, logger *slog.Logger) error {
	v, err := getUint64(pdb, layoutVersionKey)
	switch {
	case err != nil:
		return err
	case v == layoutVersion:
		return nil
	case v > layoutVersion:
		return fmt.Errorf("the DB has key layout %d, newer than this version of Cairn knows (%d)", v, layoutVersion)
	}
	if v < 6 {
		if err := rebuildDerived(pdb, logger); err != nil {
			return fmt.Errorf("cannot build the eventID, eventName and lookup indexes and counts: %w", err)
		}
	}
	if err := moveRetired(pdb, logger, "records", prefixRetiredRecord, rekeyRecord); err != nil {
		return err
	}
	if v < 3 {
		if err := recodeRecords(pdb, logger); err != nil {
			return fmt.Errorf("cannot cut the key's fields from the records: %w", err)
		}
	}
	b := pdb.NewBatch()
	defer b.Close()
	if err := b.Set(layoutVersionKey, appendUint64(nil, layoutVersion), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	return pdb.Flush()
}

// rebuildDerived writes, from the summaries, the keyspaces layouts 1, 4, 5
// and 6 changed or added: the eventID, eventName and lookup indexes and the
// counts, after deleting what was there (the indexes of earlier layouts, or
// what an interrupted run left).
func rebuildDerived(pdb *pebble.DB, logger *slog.Logger) error {
	b := pdb.NewBatch()
	err := errors.Join(b.DeleteRange([]byte{prefixRetiredEventID}, []byte{prefixEventID + 1}, nil),
		b.DeleteRange([]byte{prefixIndex}, []byte{prefixIndex + 0x10}, nil),
		b.DeleteRange([]byte{prefixCounts}, keyUpperBound([]byte{prefixCounts}), nil))
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	if err := errors.Join(err, b.Close()); err != nil {
		return err
	}
	iter, err := pdb.NewIter(&pebble.IterOptions{LowerBound: summaryKeyspace, UpperBound: keyUpperBound(summaryKeyspace)})
	if err != nil {
		return err
	}
	var (
		d       countDeltas
		key     []byte
		events  int
		pending int
		calls   = map[string]struct{}{} // eventName index entries written on day callsOf
		callsOf int32                   // the day of calls: summaries come day by day
	)
	b = pdb.NewBatch()
	defer func() { b.Close() }()
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := splitEventKey(iter.Key())
		var s summary
		if err == nil {
			s, err = parseSummary(iter.Value())
		}
		if err == nil {
			key = appendEventIDKey(key[:0], k.account, k.region, k.eventTime, k.eventID)
			err = b.Set(key, nil, nil)
			pending++
		}
		for _, ix := range indexedAttrs {
			if v := ix.ofSummary(&s); err == nil && indexable(v) {
				key = appendIndexKey(key[:0], indexKey{attr: ix.attr, account: string(k.account), value: string(v), eventTime: k.eventTime, region: string(k.region)})
				err = b.Set(key, nil, nil)
				pending++
			}
		}
		if day := dayOf(k.eventTime); day != callsOf {
			clear(calls)
			callsOf = day
		}
		if err == nil && indexable(s.eventName) {
			key = appendCallKey(key[:0], callsOf, s.eventName, k.account, s.eventSource)
			if _, ok := calls[string(key)]; !ok {
				calls[string(key)] = struct{}{}
				err = b.Set(key, nil, nil)
				pending++
			}
		}
		if err == nil && pending >= migrateBatchEntries {
			err = b.Commit(pebble.NoSync)
			b.Close()
			b, pending = pdb.NewBatch(), 0
		}
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		d.add(dayOf(k.eventTime), k.account, &s, 1)
		if events++; events%1_000_000 == 0 {
			logger.Info("building the indexes and counts of a DB of an earlier layout", "events", events)
		}
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return err
	}
	if err := d.write(pdb, b); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	if events > 0 {
		logger.Info("built the indexes and counts", "events", events, "counts", len(d.m))
	}
	return nil
}

// rekey returns the current key of the entry with key old of a retired
// keyspace, appended to dst. sums is an iterator over the summaries, for
// the keys that need them; calls come in the order of the old keys.
type rekey func(dst, old []byte, sums *pebble.Iterator) ([]byte, error)

// rekeyRecord maps a record of layouts 0 and 1, keyed like its summary
// (0x10 | day | account 0x00 | region 0x00 | eventTime | eventID), to its
// record key, with the eventSource and eventName of its summary. Records and
// summaries share their order, so sums only seeks forward.
func rekeyRecord(dst, old []byte, sums *pebble.Iterator) ([]byte, error) {
	k, err := splitEventKey(old)
	if err != nil {
		return nil, err
	}
	sumKey := append([]byte{prefixSummary}, old[1:]...)
	if !sums.SeekGE(sumKey) || !bytes.Equal(sums.Key(), sumKey) {
		return nil, fmt.Errorf("cannot move record %q: no summary: %w", old, errors.Join(ErrNotFound, sums.Error()))
	}
	s, err := parseSummary(sums.Value())
	if err != nil {
		return nil, fmt.Errorf("cannot move record %q: %w", old, err)
	}
	return appendRecordKey(dst, k.account, s.eventSource, s.eventName, k.region, k.eventTime, k.eventID), nil
}

// moveRetired rewrites every entry of a retired keyspace under its current
// key, keeping its value. Each batch writes some new entries and deletes
// the old ones atomically, so an interrupted move resumes where it stopped.
// Every replica of a shard holds the same entries and rewrites them the
// same way, so the replicas stay equal.
func moveRetired(pdb *pebble.DB, logger *slog.Logger, what string, retired byte, rekey rekey) error {
	var moved int
	for {
		n, err := moveRetiredBatch(pdb, retired, rekey)
		if err != nil {
			return fmt.Errorf("cannot move %s to the current key layout: %w", what, err)
		}
		if n == 0 {
			break
		}
		moved += n
		logger.Info("moving "+what+" to the current key layout", "moved", moved)
	}
	if moved == 0 {
		return nil
	}
	if err := pdb.Flush(); err != nil {
		return fmt.Errorf("cannot move %s to the current key layout: %w", what, err)
	}
	return nil
}

// moveRetiredBatch moves up to migrateBatchEntries entries and returns how
// many it moved.
func moveRetiredBatch(pdb *pebble.DB, retired byte, rekey rekey) (n int, err error) {
	lower := []byte{retired}
	iter, err := pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: keyUpperBound(lower)})
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, iter.Close()) }()
	sums, err := pdb.NewIter(&pebble.IterOptions{LowerBound: summaryKeyspace, UpperBound: keyUpperBound(summaryKeyspace)})
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, sums.Close()) }()
	b := pdb.NewBatch()
	defer b.Close()
	var key []byte
	for valid := iter.First(); valid && n < migrateBatchEntries; valid = iter.Next() {
		old := iter.Key()
		if key, err = rekey(key[:0], old, sums); err != nil {
			return 0, err
		}
		if err := errors.Join(b.Set(key, iter.Value(), nil), b.Delete(old, nil)); err != nil {
			return 0, err
		}
		n++
	}
	if err := iter.Error(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, b.Commit(pebble.NoSync)
}

// recodeRecords rewrites the raw records of layouts 0 to 2 as the record
// values of record.go, so that an upgraded replica holds the same values as
// one that applies the same entries afresh. Values already cut are left as
// they are, so an interrupted run goes on where it stopped; a record with
// nothing to cut stays raw, as a fresh apply writes it.
func recodeRecords(pdb *pebble.DB, logger *slog.Logger) error {
	iter, err := pdb.NewIter(&pebble.IterOptions{LowerBound: recordKeyspace, UpperBound: keyUpperBound(recordKeyspace)})
	if err != nil {
		return err
	}
	b := pdb.NewBatch()
	defer func() { b.Close() }()
	var (
		value            []byte
		pending, records int
	)
	for valid := iter.First(); valid; valid = iter.Next() {
		raw, err := iter.ValueAndErr()
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		if len(raw) > 0 && raw[0] == recordCut {
			continue
		}
		k, source, name, err := splitRecordKey(iter.Key())
		if err != nil {
			return errors.Join(err, iter.Close())
		}
		rk := recordKey[[]byte]{account: k.account, source: source, name: name, region: k.region, eventID: k.eventID, eventTime: k.eventTime}
		value = appendRecordValue(value[:0], raw, &rk)
		if bytes.Equal(value, raw) {
			continue
		}
		if err := b.Set(iter.Key(), value, nil); err != nil {
			return errors.Join(err, iter.Close())
		}
		if pending++; pending >= migrateBatchEntries {
			records += pending
			if err := b.Commit(pebble.NoSync); err != nil {
				return errors.Join(err, iter.Close())
			}
			b.Close()
			b, pending = pdb.NewBatch(), 0
			logger.Info("cutting the key's fields from the records of an earlier version", "records", records)
		}
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	if records += pending; records > 0 {
		logger.Info("cut the key's fields from the records of an earlier version", "records", records)
	}
	return nil
}
