package storage

import (
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
//	1: the layout of keys.go.
const layoutVersion = 1

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
	if err := migrateEventIDIndex(pdb, logger); err != nil {
		return err
	}
	if err := rebuildDerived(pdb, logger); err != nil {
		return fmt.Errorf("cannot build the lookup indexes and counts: %w", err)
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

// rebuildDerived writes, from the summaries, the keyspaces layout 1 changed
// or added: the lookup indexes and the counts, after deleting what was there
// (the errorCode index of layout 0, or what an interrupted run left).
func rebuildDerived(pdb *pebble.DB, logger *slog.Logger) error {
	b := pdb.NewBatch()
	err := errors.Join(b.DeleteRange([]byte{prefixIndex}, []byte{prefixIndex + 0x10}, nil),
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
	)
	b = pdb.NewBatch()
	defer func() { b.Close() }()
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := splitEventKey(iter.Key())
		var s summary
		if err == nil {
			s, err = parseSummary(iter.Value())
		}
		for _, ix := range indexedAttrs {
			if v := ix.ofSummary(&s); err == nil && indexable(v) {
				key = appendIndexKey(key[:0], indexKey{attr: ix.attr, account: string(k.account), value: string(v), eventTime: k.eventTime, eventID: string(k.eventID)})
				err = b.Set(key, k.region, nil)
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
			logger.Info("building the lookup indexes and counts of a DB written before they existed", "events", events)
		}
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return err
	}
	if err := d.write(pdb, nil, b); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	if events > 0 {
		logger.Info("built the lookup indexes and counts", "events", events, "counts", len(d.m))
	}
	return nil
}

// migrateEventIDIndex rewrites an eventID index of earlier versions (0x20 |
// day | account 0x00 | eventID) into the current layout (0x21 | day |
// eventID 0x00 | account), keeping the values. Each batch writes some new
// entries and deletes the old ones atomically, so an interrupted migration
// resumes where it stopped. Every replica of a shard holds the same entries
// and rewrites them the same way, so the replicas stay equal.
func migrateEventIDIndex(pdb *pebble.DB, logger *slog.Logger) error {
	retired := []byte{prefixRetiredEventID}
	var moved int
	for {
		n, err := migrateEventIDBatch(pdb, retired)
		if err != nil {
			return fmt.Errorf("cannot migrate the eventID index: %w", err)
		}
		if n == 0 {
			break
		}
		moved += n
		logger.Info("migrating the eventID index to its current layout", "entries_moved", moved)
	}
	if moved == 0 {
		return nil
	}
	if err := pdb.Flush(); err != nil {
		return fmt.Errorf("cannot migrate the eventID index: %w", err)
	}
	return nil
}

// migrateEventIDBatch moves up to migrateBatchEntries entries and returns
// how many it moved.
func migrateEventIDBatch(pdb *pebble.DB, retired []byte) (int, error) {
	iter, err := pdb.NewIter(&pebble.IterOptions{LowerBound: retired, UpperBound: keyUpperBound(retired)})
	if err != nil {
		return 0, err
	}
	b := pdb.NewBatch()
	defer b.Close()
	var key []byte
	n := 0
	for valid := iter.First(); valid && n < migrateBatchEntries; valid = iter.Next() {
		old := iter.Key()
		day, rest, err := parseDay(old[1:])
		var account []byte
		if err == nil {
			account, rest, err = parseBytes(rest)
		}
		if err != nil {
			return 0, errors.Join(fmt.Errorf("cannot parse retired eventID key %q: %w", old, err), iter.Close())
		}
		key = appendEventIDKey(key[:0], eventIDKey{day: day, account: string(account), eventID: string(rest)})
		if err := errors.Join(b.Set(key, iter.Value(), nil), b.Delete(old, nil)); err != nil {
			return 0, errors.Join(err, iter.Close())
		}
		n++
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, b.Commit(pebble.NoSync)
}
