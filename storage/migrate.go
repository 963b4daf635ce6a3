package storage

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// migrateBatchEntries is how many entries one migration batch moves.
const migrateBatchEntries = 50_000

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
