package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Flush makes every applied change durable: it flushes the memtables to
// synced sstables. Raft snapshots call it (the Pebble WAL is disabled, so
// until Flush an applied entry lives only in memory and in the Raft log).
// After Flush returns, AppliedIndex() as it was when Flush began survives a
// crash.
func (db *DB) Flush() error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("cannot flush storage: %w", err)
	}
	return nil
}

// Checkpoint flushes the DB and writes a consistent, openable copy of it into
// dir, which must not exist, hard-linking sstables where the filesystem
// allows. The copy holds whole entries only: its applied index (read it by
// opening the copy) matches its content, and may be above the index at which
// Checkpoint was called if entries were applied meanwhile.
func (db *DB) Checkpoint(dir string) error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()
	// With the WAL disabled, a checkpoint holds only flushed data.
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("cannot checkpoint storage to %s: %w", dir, err)
	}
	if err := db.pdb.Checkpoint(dir); err != nil {
		return fmt.Errorf("cannot checkpoint storage to %s: %w", dir, err)
	}
	return nil
}

// Compact flushes the memtables and compacts the whole key space down to the
// last level, waiting for it to finish and (up to 10 s) for the replaced files
// to be deleted. It is for benchmarks and tests that measure bytes on disk per
// event; the server never needs it.
func (db *DB) Compact() error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("cannot compact storage: %w", err)
	}
	if err := db.pdb.Compact(context.Background(), allKeysLower, allKeysUpper, true); err != nil {
		return fmt.Errorf("cannot compact storage: %w", err)
	}
	// Pebble deletes the compacted-away files in the background; wait (a
	// little) for them to go, so that DiskUsage measures the result.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if db.pdb.Metrics().Table.ObsoleteCount == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// DiskUsage returns the bytes that the DB's files take on disk: the sum of
// the sizes of the files in its directory (sstables, MANIFEST, OPTIONS, …).
func (db *DB) DiskUsage() (uint64, error) {
	release, err := db.acquire()
	if err != nil {
		return 0, err
	}
	defer release()
	names, err := db.fs.List(db.dir)
	if err != nil {
		return 0, fmt.Errorf("cannot measure disk usage of %s: %w", db.dir, err)
	}
	var total uint64
	for _, name := range names {
		info, err := db.fs.Stat(db.fs.PathJoin(db.dir, name))
		if err != nil {
			// A file removed by a compaction since List is no longer used.
			continue
		}
		if info.Mode().IsRegular() {
			total += uint64(info.Size())
		}
	}
	return total, nil
}

// Metrics returns Pebble's metrics (levels, L0 files and sublevels,
// compaction debt, cache, …) for /metrics, or nil once the DB is closed.
// Pebble does not count write stalls; see WriteStalls.
func (db *DB) Metrics() *pebble.Metrics {
	release, err := db.acquire()
	if err != nil {
		return nil
	}
	defer release()
	return db.pdb.Metrics()
}

// WriteStalls returns how many times Pebble stalled writes since Open, and
// for how long in total. A stall blocks ApplyIngest and so the Raft FSM.
func (db *DB) WriteStalls() (count uint64, total time.Duration) {
	return db.stalls.count.Load(), time.Duration(db.stalls.nanos.Load())
}
