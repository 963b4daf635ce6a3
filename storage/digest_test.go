package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Two replicas fed the same entries have the same digest, however their
// memtables were flushed and compacted.
func TestDigestEqualForSameEntries(t *testing.T) {
	ents := entries(4, 10, 50)
	a := mustOpen(t, t.TempDir(), Options{})
	b := mustOpen(t, t.TempDir(), Options{MemTableSize: 256 << 10})
	for i, e := range ents {
		mustApply(t, a, uint64(i+1), e...)
		mustApply(t, b, uint64(i+1), e...)
		if i%3 == 0 {
			mustFlush(t, b)
		}
	}
	if err := b.Compact(); err != nil {
		t.Fatal(err)
	}
	da, db := mustDigest(t, a), mustDigest(t, b)
	if da != db {
		t.Errorf("same entries, different digests:\n%+v\n%+v", da, db)
	}
	if da.applied != 10 || da.events != 500 || len(da.digest) != 32 {
		t.Errorf("digest = %+v, want applied 10, 500 events, 32 bytes", da)
	}
}

func TestDigestDiffersWhenContentDiffers(t *testing.T) {
	base := []*cairnv1.Event{
		ev("111111111111", "us-east-1", "a", day0),
		ev("111111111111", "us-east-1", "b", day0.Add(time.Minute)),
	}
	digestOf := func(mutate func(events []*cairnv1.Event)) digestResult {
		t.Helper()
		events := make([]*cairnv1.Event, len(base))
		for i, e := range base {
			c := proto.Clone(e).(*cairnv1.Event)
			events[i] = c
		}
		if mutate != nil {
			mutate(events)
		}
		db := mustOpen(t, t.TempDir(), Options{})
		mustApply(t, db, 1, events...)
		return mustDigest(t, db)
	}
	want := digestOf(nil)
	for name, mutate := range map[string]func([]*cairnv1.Event){
		"one raw byte":  func(e []*cairnv1.Event) { e[1].Raw[3] ^= 1 },
		"eventTime":     func(e []*cairnv1.Event) { e[1].EventTimeUnixNano++ },
		"region":        func(e []*cairnv1.Event) { e[0].Region = "us-east-2" },
		"account":       func(e []*cairnv1.Event) { e[0].Account = "111111111112" },
		"eventID":       func(e []*cairnv1.Event) { e[0].EventId = "c" },
		"missing event": func(e []*cairnv1.Event) { e[1] = e[0] },
	} {
		if got := digestOf(mutate); got.digest == want.digest {
			t.Errorf("%s changed, digest did not", name)
		}
	}
	// Raw bytes moved between two events change the digest even though the
	// concatenation of keys and values is the same.
	if got := digestOf(func(e []*cairnv1.Event) {
		e[0].Raw, e[1].Raw = append(e[0].Raw, e[1].Raw[0]), e[1].Raw[1:]
	}); got.digest == want.digest {
		t.Error("a byte moved from one value to the other, digest did not change")
	}
}

// The applied index is not part of the digest: it differs between replicas
// only in time, not in content.
func TestDigestIgnoresAppliedIndex(t *testing.T) {
	a := mustOpen(t, t.TempDir(), Options{})
	b := mustOpen(t, t.TempDir(), Options{})
	e := ev("111111111111", "us-east-1", "a", day0)
	mustApply(t, a, 1, e)
	mustApply(t, b, 1, e)
	if err := b.SetAppliedIndex(2); err != nil {
		t.Fatal(err)
	}
	da, db := mustDigest(t, a), mustDigest(t, b)
	if da.digest != db.digest || da.applied != 1 || db.applied != 2 {
		t.Errorf("digests %+v and %+v: want equal digests at applied 1 and 2", da, db)
	}
}

func TestCheckpointOpensWithSameDigest(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	ents := entries(5, 4, 100)
	for i, e := range ents[:2] {
		mustApply(t, db, uint64(i+1), e...)
	}
	mustFlush(t, db)
	for i, e := range ents[2:] { // left in the memtable: Checkpoint must flush them
		mustApply(t, db, uint64(i+3), e...)
	}
	want := mustDigest(t, db)

	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := db.Checkpoint(dir); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if err := db.Checkpoint(dir); err == nil {
		t.Error("Checkpoint into an existing dir succeeded")
	}
	// The source goes on independently of the copy.
	mustApply(t, db, 5, ev("111111111111", "us-east-1", "later", day0))

	cp := mustOpen(t, dir, Options{})
	if got := mustDigest(t, cp); got != want {
		t.Errorf("checkpoint digest %+v, want %+v", got, want)
	}
	if cp.AppliedIndex() != 4 || cp.EventCount() != 400 {
		t.Errorf("checkpoint: applied %d, events %d; want 4, 400", cp.AppliedIndex(), cp.EventCount())
	}
	e := ents[3][7]
	if raw, err := cp.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano); err != nil || string(raw) != string(e.Raw) {
		t.Errorf("checkpoint GetRaw = %d bytes, %v; want the event's %d bytes", len(raw), err, len(e.Raw))
	}
}

func TestDiskUsageAndMetrics(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	for i, e := range entries(6, 5, 200) {
		mustApply(t, db, uint64(i+1), e...)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	used, err := db.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	var onDisk uint64
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		if info, err := f.Info(); err == nil && info.Mode().IsRegular() {
			onDisk += uint64(info.Size())
		}
	}
	if used == 0 || used != onDisk {
		t.Errorf("DiskUsage = %d, files in %s sum to %d", used, dir, onDisk)
	}
	m := db.Metrics()
	if m == nil || m.Total().TablesCount == 0 {
		t.Errorf("Metrics after Compact show no sstables: %v", m)
	}
	if n, _ := db.WriteStalls(); n != 0 {
		t.Errorf("WriteStalls = %d on a tiny load", n)
	}
}
