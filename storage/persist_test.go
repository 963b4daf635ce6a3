package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// entries returns n Raft entries of per events each, deterministic for seed.
func entries(seed uint64, n, per int) [][]*cairnv1.Event {
	gen := newEventGen(seed, day0)
	out := make([][]*cairnv1.Event, n)
	for i := range out {
		out[i] = gen.batch(per)
	}
	return out
}

func TestCloseAndReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	ents := entries(1, 3, 20)
	for i, e := range ents {
		mustApply(t, db, uint64(i+1), e...)
	}
	if err := db.SetAppliedIndex(4); err != nil {
		t.Fatal(err)
	}
	want := mustDigest(t, db)
	if err := db.Close(); err != nil { // Close flushes
		t.Fatalf("Close: %v", err)
	}

	db = mustOpen(t, dir, Options{})
	if got := mustDigest(t, db); got != want {
		t.Errorf("after reopen: %+v, want %+v", got, want)
	}
	if db.AppliedIndex() != 4 || db.EventCount() != 60 {
		t.Errorf("after reopen: applied %d, events %d; want 4, 60", db.AppliedIndex(), db.EventCount())
	}
	if got, want := mustEventKeys(t, db), keysOf(slices.Concat(ents...)); !slices.Equal(got, want) {
		t.Errorf("after reopen: %d keys, want %d", len(got), len(want))
	}
}

// Open creates missing parent directories.
func TestOpenCreatesDir(t *testing.T) {
	dir := t.TempDir() + "/a/b/shard-3"
	db := mustOpen(t, dir, Options{})
	if db.Dir() != dir {
		t.Errorf("Dir() = %s, want %s", db.Dir(), dir)
	}
}

// crash simulates a machine crash of db: the returned filesystem holds only
// what was synced. db is closed (without a flush) on a filesystem that no
// longer matters.
func crash(t *testing.T, fs *vfs.MemFS, db *DB) *vfs.MemFS {
	t.Helper()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := db.close(false); err != nil {
		t.Fatalf("close: %v", err)
	}
	return crashed
}

// With the WAL disabled, a crash loses the entries applied since the last
// Flush, and nothing else; the FSM then re-applies them from the Raft log and
// ends up with the same state as a replica that never crashed.
func TestCrashLosesOnlyEntriesAfterFlush(t *testing.T) {
	ents := entries(2, 5, 30)
	fs := vfs.NewCrashableMem()
	db := mustOpen(t, "/shard", Options{fs: fs})
	for i, e := range ents[:3] {
		mustApply(t, db, uint64(i+1), e...)
	}
	mustFlush(t, db)
	for i, e := range ents[3:] {
		mustApply(t, db, uint64(i+4), e...)
	}
	crashed := crash(t, fs, db)

	db = mustOpen(t, "/shard", Options{fs: crashed})
	if db.AppliedIndex() != 3 || db.EventCount() != 90 {
		t.Fatalf("after crash: applied %d, events %d; want 3, 90", db.AppliedIndex(), db.EventCount())
	}
	if got, want := mustEventKeys(t, db), keysOf(slices.Concat(ents[:3]...)); !slices.Equal(got, want) {
		t.Fatalf("after crash: %d keys, want the %d of entries 1–3", len(got), len(want))
	}

	// Re-apply 4 and 5 as the FSM would, and compare with a replica that
	// never crashed.
	for i, e := range ents[3:] {
		if got := mustApply(t, db, uint64(i+4), e...); slices.Contains(got, duplicate) {
			t.Errorf("re-applied entry %d has duplicates: %v", i+4, got)
		}
	}
	ref := mustOpen(t, t.TempDir(), Options{})
	for i, e := range ents {
		mustApply(t, ref, uint64(i+1), e...)
	}
	if got, want := mustDigest(t, db), mustDigest(t, ref); got != want {
		t.Errorf("recovered replica %+v differs from %+v", got, want)
	}
}

// Whatever a crash keeps (memtables also flush on their own when full), the
// applied index and the events present agree: the events are exactly those of
// entries 1..AppliedIndex(), and the count matches them.
func TestCrashKeepsAppliedIndexAndEventsConsistent(t *testing.T) {
	ents := entries(3, 60, 40) // ~3 MB with 256 KiB memtables: many flushes
	fs := vfs.NewCrashableMem()
	db := mustOpen(t, "/shard", Options{fs: fs, MemTableSize: 256 << 10})
	rng := rand.New(rand.NewPCG(3, 3))
	var clones []*vfs.MemFS
	for i, e := range ents {
		mustApply(t, db, uint64(i+1), e...)
		if rng.IntN(8) == 0 {
			clones = append(clones, fs.CrashClone(vfs.CrashCloneCfg{}))
		}
		if rng.IntN(20) == 0 {
			mustFlush(t, db)
		}
	}
	clones = append(clones, fs.CrashClone(vfs.CrashCloneCfg{}))
	if err := db.close(false); err != nil {
		t.Fatal(err)
	}

	var sawPartial bool
	for n, clone := range clones {
		t.Run(fmt.Sprintf("crash%d", n), func(t *testing.T) {
			db := mustOpen(t, "/shard", Options{fs: clone, MemTableSize: 256 << 10})
			applied := db.AppliedIndex()
			if applied > 0 && applied < uint64(len(ents)) {
				sawPartial = true
			}
			want := keysOf(slices.Concat(ents[:applied]...))
			if got := mustEventKeys(t, db); !slices.Equal(got, want) {
				t.Errorf("applied %d: %d keys present, want the %d of entries 1–%d", applied, len(got), len(want), applied)
			}
			if d := mustDigest(t, db); d.events != uint64(len(want)) || db.EventCount() != d.events {
				t.Errorf("applied %d: count %d (EventCount %d), want %d", applied, d.events, db.EventCount(), len(want))
			}
		})
	}
	if !sawPartial {
		t.Error("no crash point kept part of the entries; the test checks nothing")
	}
}

// TestFlushCompressionFastCompactionZstd: a flush writes its L0 tables with
// the fastest codec (MinLZ), and a compaction rewrites them into the last
// level with zstd.
func TestFlushCompressionFastCompactionZstd(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	gen := newEventGen(3, day0)
	if _, err := db.ApplyIngest(1, gen.batch(200)); err != nil {
		t.Fatal(err)
	}
	codecs := func() map[int]map[string]int {
		t.Helper()
		tables, err := db.pdb.SSTables(pebble.WithProperties())
		if err != nil {
			t.Fatal(err)
		}
		byLevel := map[int]map[string]int{}
		for level, ts := range tables {
			for _, tb := range ts {
				if byLevel[level] == nil {
					byLevel[level] = map[string]int{}
				}
				byLevel[level][tb.Properties.CompressionName]++
			}
		}
		return byLevel
	}
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := codecs(); len(got) != 1 || len(got[0]) != 1 || got[0][flushCompression.Name] == 0 {
		t.Errorf("after a flush, tables by level and compression: %v; want only %s tables in L0", got, flushCompression.Name)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if got := codecs(); len(got) != 1 || len(got[6]) != 1 || got[6][compression.Name] == 0 {
		t.Errorf("after a compaction, tables by level and compression: %v; want only %s tables in L6", got, compression.Name)
	}
}
