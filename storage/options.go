package storage

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configures Open. The zero value is a working configuration.
type Options struct {
	// Cache is the block cache, normally shared by every DB of a node (see
	// NewCache for its size). Open takes its own reference; the caller keeps
	// and releases its own. nil gives the DB a private cache of 64 MiB for
	// blocks plus MemTableReservation() for the memtables.
	Cache *pebble.Cache

	// MemTableSize is the size of one memtable. 0 means 64 MiB. A DB holds up
	// to 4 memtables (one being written, three waiting to flush) before writes
	// stall; Pebble grows a new DB's memtables gradually from 256 KiB, so idle
	// shards use less.
	MemTableSize uint64

	// MaxConcurrentCompactions caps the background compactions of this DB.
	// 0 means 4. A node runs one DB per shard replica, so the node-wide total is
	// this times the number of replicas.
	MaxConcurrentCompactions int

	// Logger receives Pebble's log lines, tagged with the DB's directory:
	// errors at Error level, notices at Debug level. nil means slog.Default().
	Logger *slog.Logger

	// fs replaces the OS filesystem (tests use a crashable in-memory one).
	fs vfs.FS
	// tune, if set, adjusts the final Pebble options (benchmarks compare
	// variants with it).
	tune func(*pebble.Options)
}

// Defaults of Options.
const (
	defaultCacheSize                = 64 << 20
	defaultMemTableSize             = 64 << 20
	defaultMaxConcurrentCompactions = 4

	// minBlockCache: Open warns when a cache leaves less than this for blocks
	// next to the DB's own memtables.
	minBlockCache = 32 << 20
)

// Pebble settings chosen for CloudTrail records (~1.3 KB of JSON each, very
// repetitive across events), measured with BenchmarkApplyIngestVariants
// (160,000 synthetic events of 1,468 B; 2 vCPU; bytes on disk per event after
// a full compaction, both keyspaces; process CPU per event including that
// compaction):
//
//	blocks  compression        B/event  CPU µs/event
//	  4 KiB snappy (Pebble's)      866
//	128 KiB minlz/snappy           333         20–25
//	 32 KiB zstd 3                 320
//	 64 KiB zstd 1                 270
//	 64 KiB zstd 3                 263         32–33
//	128 KiB zstd 1                 242         26–29
//	128 KiB zstd 3                 234         25–29
//	128 KiB zstd 3, L0 minlz       234         27–31*  ← chosen
//	256 KiB zstd 3                 221
//
// (* then; see below. The table predates the lookup indexes, the counts and
// the records keyed by API call; docs/benchmarks.md has the current figures.)
// Flushes write L0 with MinLZ (flushCompression): every L0 byte is rewritten
// into a lower level with zstd soon after, so zstd at flush compressed every
// byte twice. Measured on 2026-11-23 (BenchmarkApplyIngestVariants, chosen
// against zstd3-128K, under callgrind): 60% fewer zstd instructions, the same
// bytes after a full compaction.
const (
	// formatVersion pins the on-disk format: columnar blocks and table format
	// v6. Raising it is a one-way migration; do it on purpose.
	formatVersion = pebble.FormatTableFormatV6

	// dataBlockSize: JSON compresses far better in big blocks (zstd finds the
	// repeats between neighbouring records). A point read (GetRaw) decompresses
	// one block on a cache miss (roughly 100 µs of zstd at this size).
	dataBlockSize = 128 << 10
	// lastLevelBlockSize is the data block size of the last level, where
	// nearly all data comes to rest and stays: twice dataBlockSize saves 11
	// bytes per event (243.5 → 232.1 in BenchmarkApplyIngestVariants,
	// L6-256K), 5%, for no more CPU at compaction, and makes a point read of
	// an event not in the block cache decompress twice as much.
	lastLevelBlockSize = 256 << 10
	// indexBlockSize keeps one-level indexes for any sstable size we write.
	indexBlockSize = 256 << 10
	// bloomBitsPerKey: ~1% false positives, so the dedup Get of a new event
	// (a miss) rarely reads a data block above the last level (filter.go).
	bloomBitsPerKey = 10

	// L0 is compacted once its read amplification (its sublevels) reaches
	// 8. Events arrive over many days at once, so every flush overlaps most
	// of the level below, and each L0 compaction rewrites all of that
	// overlap: waiting for 8 sublevels instead of 4 rewrites it half as
	// often. On the 3-node ingest benchmark that took 96.9 instead of
	// 107–116 CPU µs per event for 1,500,000 events, and 65–68 instead of
	// 70–74 for 500,000 (docs/benchmarks.md). 16 saved more still but
	// slowed the queries over a freshly loaded cluster by half (Q5 55–63
	// against 35–40 ms); at 8 they stayed within their noise but for Q3
	// (+20%). The dedup Gets that the dedup memory cannot answer check up
	// to 8 sublevels, each behind a Bloom filter of its summary keys.
	// Writes stop only at a generous count, because a write stall here
	// stalls the Raft FSM.
	l0CompactionThreshold = 8
	l0StopWritesThreshold = 32
	memTableStopWrites    = 4
)

// The block compression of the LSM levels (see the table above): MinLZ for
// L0, where flushes write (flushCompression), zstd level 3 below it
// (compression).
var (
	flushCompression = sstable.FastestCompression
	compression      = sstable.ZstdCompression
)

// levelCompression returns the block compression of LSM level level.
func levelCompression(level int) *sstable.CompressionProfile {
	if level == 0 {
		return flushCompression
	}
	return compression
}

// MemTableReservation returns the most block-cache memory that one DB opened
// with o charges for its memtables (see NewCache).
func (o Options) MemTableReservation() int64 {
	return int64(o.memTableSize()) * memTableStopWrites
}

func (o Options) memTableSize() uint64 {
	if o.MemTableSize == 0 {
		return defaultMemTableSize
	}
	return o.MemTableSize
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// pebbleOptions translates o into Pebble options for the DB in dir. cache must
// be non-nil.
func (o Options) pebbleOptions(dir string, cache *pebble.Cache, stalls *stallCounter) *pebble.Options {
	log := o.logger()
	maxCompactions := o.MaxConcurrentCompactions
	if maxCompactions <= 0 {
		maxCompactions = defaultMaxConcurrentCompactions
	}
	po := &pebble.Options{
		Cache: cache,
		// The Raft log is the write-ahead log: after a crash the FSM re-applies
		// the entries after AppliedIndex().
		DisableWAL:                  true,
		FormatMajorVersion:          formatVersion,
		MemTableSize:                o.memTableSize(),
		MemTableStopWritesThreshold: memTableStopWrites,
		L0CompactionThreshold:       l0CompactionThreshold,
		L0StopWritesThreshold:       l0StopWritesThreshold,
		// Compactions may run in parallel from the start rather than only
		// once debt piles up: with the lower bound at 1, L0 files piled up
		// under sustained ingest, every dedup Get checked them all, and a
		// 3-node cluster ingested a quarter less.
		CompactionConcurrencyRange: func() (int, int) { return maxCompactions, maxCompactions },
		Logger:                     pebbleLogger{log: log.With("component", "pebble", "dir", dir)},
		FS:                         o.fs,
		EventListener: &pebble.EventListener{
			WriteStallBegin: func(pebble.WriteStallBeginInfo) { stalls.begin() },
			WriteStallEnd:   stalls.end,
		},
	}
	for i := range po.Levels {
		l := &po.Levels[i]
		l.BlockSize = dataBlockSize
		l.IndexBlockSize = indexBlockSize
		l.FilterPolicy = summaryFilter()
		if i == len(po.Levels)-1 {
			// Pebble's Get never reads the filters of the last level
			// (only iterators that ask do), where most data lies.
			l.FilterPolicy = pebble.NoFilterPolicy
			l.BlockSize = lastLevelBlockSize
		}
		profile := levelCompression(i)
		l.Compression = func() *sstable.CompressionProfile { return profile }
	}
	// Tables written by earlier versions hold Bloom filters of all their
	// keys, or of their eventID index keys, which serve as they are.
	fullBloom, idBloom := bloom.FilterPolicy(bloomBitsPerKey), eventIDFilter()
	po.Filters = map[string]pebble.FilterPolicy{fullBloom.Name(): fullBloom, idBloom.Name(): idBloom}
	if o.tune != nil {
		o.tune(po)
	}
	return po
}

// stallCounter counts Pebble write stalls (Pebble's Metrics do not).
type stallCounter struct {
	count   atomic.Uint64
	nanos   atomic.Int64
	started atomic.Int64 // unix nanos of the running stall's start, 0 if none
}

func (s *stallCounter) begin() {
	s.count.Add(1)
	s.started.Store(time.Now().UnixNano())
}

func (s *stallCounter) end() {
	if start := s.started.Swap(0); start != 0 {
		s.nanos.Add(time.Now().UnixNano() - start)
	}
}
