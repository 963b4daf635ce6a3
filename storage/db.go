// Package storage keeps the events of one shard replica in a Pebble DB.
//
// The Raft FSM of a shard group owns one DB: it calls ApplyIngest (and the
// other write methods) serially, one Raft entry at a time, and each entry is
// one atomic Pebble batch that also records the entry's index as the applied
// index. Pebble runs without its WAL because the Raft log is the write-ahead
// log: after a crash the DB may be behind the Raft log, and the FSM re-applies
// the entries after AppliedIndex(). Flush makes everything applied durable.
//
// Concurrency: the write methods (ApplyIngest, SetAppliedIndex) are serialised
// internally and meant to be called by one goroutine. Reads (Digest,
// ScanEventKeys, GetRaw, AppliedIndex, …) may run concurrently with writes and
// with each other; each sees one consistent state. Close waits for running
// calls, and every call after Close returns ErrClosed.
//
// The key layout is documented in keys.go.
package storage

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// DB is the Pebble DB of one shard replica. Open it with Open; the caller must
// Close it.
type DB struct {
	dir    string
	fs     vfs.FS
	pdb    *pebble.DB
	stalls *stallCounter

	// life counts the calls using pdb, so that Close can wait for them.
	life lifetime

	// applyMu serialises writers, so the read-modify-write of the event
	// count is safe even if the FSM contract is broken.
	applyMu sync.Mutex
	// applied and events mirror the meta keys as last committed.
	applied atomic.Uint64
	events  atomic.Uint64

	// accounts caches the accounts with events, for lookups that probe every
	// account (see knownAccounts). It only ever grows: an account whose
	// events were all deleted costs a lookup a few probes, nothing more.
	accountsMu     sync.Mutex
	accounts       map[string]struct{} // nil until loaded
	accountsSorted []string            // a sorted copy, nil when stale

	logger *slog.Logger
	// seenDays, counts and calls spare ApplyIngest reads and writes; all
	// are used only under applyMu, as are writes and batch, which
	// ApplyIngest reuses.
	seenDays seenDays
	counts   countCache
	calls    knownCalls
	writes   sortedWrites
	batch    *pebble.Batch
	// compacting is set while a compaction after a retention cut runs.
	compacting atomic.Bool
}

// NewCache returns a block cache shared by every DB of a node. The caller
// Unrefs it after closing all DBs.
//
// Pebble charges each DB's memtables to the block cache, so size must cover
// the memtables too: size = the memory for cached blocks + the sum of
// Options.MemTableReservation() over the DBs sharing it. A cache no larger than
// the memtables caches nothing, and every dedup lookup then reads and
// decompresses blocks from disk.
func NewCache(size int64) *pebble.Cache {
	return pebble.NewCache(size)
}

// Open opens the DB in dir, creating dir and an empty DB if missing.
func Open(dir string, opts Options) (*DB, error) {
	cache := opts.Cache
	if cache == nil {
		cache = pebble.NewCache(defaultCacheSize + opts.MemTableReservation())
		// Pebble takes its own reference, released when the DB closes.
		defer cache.Unref()
	}
	fs := opts.fs
	if fs == nil {
		// Pebble wraps the OS filesystem with disk-health checks itself
		// when its FS option is nil; DiskUsage reads the files directly.
		fs = vfs.Default
	}
	db := &DB{dir: dir, fs: fs, stalls: &stallCounter{}, logger: opts.logger().With("dir", dir)}
	db.life.idle.L = &db.life.mu
	pdb, err := pebble.Open(dir, opts.pebbleOptions(dir, cache, db.stalls))
	if err != nil {
		return nil, fmt.Errorf("cannot open storage in %s: %w", dir, err)
	}
	db.pdb = pdb
	if need := opts.MemTableReservation() + minBlockCache; cache.MaxSize() < need {
		opts.logger().Warn("block cache too small: the memtables may reserve all of it, leaving no room for blocks",
			"dir", dir, "cache_bytes", cache.MaxSize(), "memtable_reservation", opts.MemTableReservation(),
			"want_at_least", need)
	}
	if err := upgradeLayout(pdb, db.logger); err != nil {
		_ = pdb.Close()
		return nil, fmt.Errorf("cannot open storage in %s: %w", dir, err)
	}
	applied, err := getUint64(pdb, appliedIndexKey)
	if err == nil {
		db.applied.Store(applied)
		var events uint64
		events, err = getUint64(pdb, eventCountKey)
		db.events.Store(events)
	}
	if err != nil {
		_ = pdb.Close()
		return nil, fmt.Errorf("cannot open storage in %s: %w", dir, err)
	}
	return db, nil
}

// Close flushes the memtables, so that a clean shutdown re-applies nothing,
// and closes the DB. It waits for running calls; later calls return
// ErrClosed. Close must not be called from inside a ScanEventKeys callback.
func (db *DB) Close() error {
	return db.close(true)
}

// CloseUnflushed closes the DB without flushing: what was applied since the
// last flush is lost, exactly as in a crash. Tests that simulate a crash use
// it; the Raft log re-applies the lost entries on the next start.
func (db *DB) CloseUnflushed() error {
	return db.close(false)
}

// close closes the DB, flushing first if flush is set. Closing without a flush
// loses what was applied since the last flush, exactly like a crash: tests use
// it for that.
func (db *DB) close(flush bool) error {
	if err := db.life.close(); err != nil {
		return err
	}
	db.dropApplyBatch()
	var flushErr error
	if flush {
		flushErr = db.pdb.Flush()
	}
	if err := errors.Join(flushErr, db.pdb.Close()); err != nil {
		return fmt.Errorf("cannot close storage in %s: %w", db.dir, err)
	}
	return nil
}

// Dir returns the directory the DB was opened in.
func (db *DB) Dir() string { return db.dir }

// AppliedIndex is the Raft index of the last applied entry, as recorded in
// Pebble (0 for a new DB).
func (db *DB) AppliedIndex() uint64 { return db.applied.Load() }

// EventCount is the number of stored events (kept as a counter key updated in
// the same batch as the events).
func (db *DB) EventCount() uint64 { return db.events.Load() }

// acquire holds the DB open until release is called. It returns ErrClosed
// once Close has begun.
func (db *DB) acquire() (release func(), err error) {
	return db.life.acquire()
}

// lifetime lets calls hold a DB open and Close wait for them. Unlike a
// RWMutex, a call made while Close waits (say, from a ScanEventKeys callback)
// fails with ErrClosed instead of deadlocking.
type lifetime struct {
	mu     sync.Mutex
	idle   sync.Cond // on mu; signalled when active drops to 0 after close
	closed bool
	active int
}

func (l *lifetime) acquire() (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	l.active++
	return l.release, nil
}

func (l *lifetime) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active--
	if l.active == 0 && l.closed {
		l.idle.Broadcast()
	}
}

// close marks the DB closed and waits until no call holds it. It returns
// ErrClosed if the DB was already closed.
func (l *lifetime) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	for l.active > 0 {
		l.idle.Wait()
	}
	return nil
}

// reader is what both a DB and a snapshot of it can Get from.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// getUint64 reads a meta key; a missing key reads as 0.
func getUint64(r reader, key []byte) (uint64, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read meta key %x: %w", key, err)
	}
	defer closer.Close()
	n, err := parseUint64(v)
	if err != nil {
		return 0, fmt.Errorf("cannot read meta key %x: %w", key, err)
	}
	return n, nil
}
