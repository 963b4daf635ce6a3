package snapstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/node/raftmux"
	"github.com/hashicorp/raft"
)

// dirFSM is a toy of the shard FSM: its state is a directory of files (one
// per key, plus APPLIED holding the applied index) that outlives the raft
// instance, the way a Pebble DB does. Persist writes only a live marker;
// Restore extracts an archive into a fresh directory and swaps it in; Apply
// skips entries at or below the applied index.
type dirFSM struct {
	root string

	mu      sync.Mutex // guards state and applied against Apply, Restore, checkpoint
	gen     int
	state   string
	applied uint64

	skipped  atomic.Int64
	restores atomic.Int64
}

const appliedFile = "APPLIED"

func newDirFSM(t *testing.T, root string) *dirFSM {
	f := &dirFSM{root: root, state: filepath.Join(root, "state-0")}
	mustNoErr(t, os.MkdirAll(filepath.Join(f.state, "kv"), 0o755))
	return f
}

func (f *dirFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l.Index <= f.applied {
		f.skipped.Add(1) // already in the restored state
		return nil
	}
	key, value, ok := strings.Cut(string(l.Data), "=")
	if !ok {
		panic(fmt.Sprintf("undecodable command %q at index %d", l.Data, l.Index))
	}
	if err := os.WriteFile(filepath.Join(f.state, "kv", key), []byte(value), 0o644); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(f.state, appliedFile), binary.BigEndian.AppendUint64(nil, l.Index), 0o644); err != nil {
		panic(err)
	}
	f.applied = l.Index
	return nil
}

func (f *dirFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A Pebble FSM would Flush here (or in Persist) so the DB is durable up to applied.
	return markerSnapshot{applied: f.applied}, nil
}

func (f *dirFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.mu.Lock()
	f.gen++
	next := filepath.Join(f.root, fmt.Sprintf("state-%d", f.gen))
	f.mu.Unlock()

	if err := Extract(rc, next); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(next, appliedFile))
	if err != nil {
		return fmt.Errorf("restored state has no applied index: %w", err)
	}

	f.mu.Lock()
	old := f.state
	f.state, f.applied = next, binary.BigEndian.Uint64(b)
	f.mu.Unlock()
	f.restores.Add(1)
	return os.RemoveAll(old)
}

// checkpoint is the store's Checkpointer: a consistent copy of the live state.
func (f *dirFSM) checkpoint(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyTree(f.state, dir)
}

func (f *dirFSM) snapshotOfState() (string, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.applied
}

type markerSnapshot struct{ applied uint64 }

func (s markerSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := WriteLiveMarker(sink, s.applied); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (markerSnapshot) Release() {}

type testNode struct {
	id    string
	mux   *raftmux.Mux
	store *Store
	fsm   *dirFSM
	logs  *raft.InmemStore
	raft  *raft.Raft
}

func startNode(t *testing.T, id string) *testNode {
	t.Helper()
	root := t.TempDir()
	mux, err := raftmux.Listen("127.0.0.1:0", nil, testLogger())
	mustNoErr(t, err)
	t.Cleanup(func() { _ = mux.Close() })
	trans, err := mux.Transport(1, 5*time.Second)
	mustNoErr(t, err)
	fsm := newDirFSM(t, filepath.Join(root, "fsm"))
	store, err := New(filepath.Join(root, "snapshots"), fsm.checkpoint, testLogger().With("node", id))
	mustNoErr(t, err)

	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(id)
	// Loose enough that fsync stalls under -race do not cost the leader its lease.
	conf.HeartbeatTimeout = time.Second
	conf.ElectionTimeout = time.Second
	conf.LeaderLeaseTimeout = 500 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.SnapshotInterval = 100 * time.Millisecond
	conf.SnapshotThreshold = 20
	conf.TrailingLogs = 10
	conf.NoSnapshotRestoreOnStart = true
	conf.Logger = raftmux.NewHCLogger(testLogger(), "raft."+id)

	logs := raft.NewInmemStore()
	r, err := raft.NewRaft(conf, fsm, logs, logs, store, trans)
	mustNoErr(t, err)
	t.Cleanup(func() {
		_ = r.Shutdown().Error()
		_ = trans.Close()
	})
	return &testNode{id: id, mux: mux, store: store, fsm: fsm, logs: logs, raft: r}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInstallSnapshotToNewNode runs a 3-node group whose logs get compacted,
// then adds a 4th node as a non-voter: the leader must send it a checkpoint
// archive via InstallSnapshot, and the new node must end with a state
// identical to everyone else's, file for file.
func TestInstallSnapshotToNewNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft cluster")
	}
	// Three voters: n0 bootstraps alone, then adds the others while its log
	// still starts at index 1.
	nodes := []*testNode{startNode(t, "n0")}
	boot := raft.Configuration{Servers: []raft.Server{{ID: "n0", Address: raft.ServerAddress(nodes[0].mux.Addr().String())}}}
	mustNoErr(t, nodes[0].raft.BootstrapCluster(boot).Error())
	waitFor(t, "n0 to lead", 10*time.Second, func() bool { return nodes[0].raft.State() == raft.Leader })
	for _, id := range []string{"n1", "n2"} {
		n := startNode(t, id)
		mustNoErr(t, nodes[0].raft.AddVoter(raft.ServerID(id), raft.ServerAddress(n.mux.Addr().String()), 0, 10*time.Second).Error())
		nodes = append(nodes, n)
	}
	leader := nodes[0]

	apply := func(from, to int) {
		t.Helper()
		var fs []raft.ApplyFuture
		for i := from; i < to; i++ {
			fs = append(fs, leader.raft.Apply([]byte(fmt.Sprintf("k%02d=v%d", i%17, i)), 10*time.Second))
		}
		for _, f := range fs {
			mustNoErr(t, f.Error())
		}
	}
	apply(0, 150)
	// One big value, so the streamed checkpoint is several MB.
	blob := make([]byte, 3<<20)
	for i := range blob {
		blob[i] = byte(i * 7919 >> 3)
	}
	mustNoErr(t, leader.raft.Apply(append([]byte("blob="), blob...), 10*time.Second).Error())

	// Take a snapshot now (one may already exist at this index) and check the
	// log was compacted, so a new node cannot be caught up from the log.
	if err := leader.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		t.Fatalf("Snapshot: %v", err)
	}
	first, err := leader.logs.FirstIndex()
	mustNoErr(t, err)
	if first <= 1 {
		t.Fatalf("leader log starts at %d; want it compacted", first)
	}
	metas, err := leader.store.list()
	mustNoErr(t, err)
	if len(metas) == 0 || len(metas) > 2 {
		t.Fatalf("leader has %d snapshots, want 1..2", len(metas))
	}
	for _, m := range metas {
		if m.Kind != kindMarker || m.Size != int64(markerLen) {
			t.Fatalf("leader snapshot %s is %s of %d bytes; want a live marker", m.ID, m.Kind, m.Size)
		}
	}
	snapIndex := metas[0].Index

	// Apply fewer entries than SnapshotThreshold, so the checkpoint the
	// leader streams is ahead of the snapshot's index.
	apply(150, 158)

	n3 := startNode(t, "n3")
	mustNoErr(t, leader.raft.AddNonvoter("n3", raft.ServerAddress(n3.mux.Addr().String()), 0, 10*time.Second).Error())
	// Let n3 catch up before more entries could trigger a newer snapshot.
	_, want := leader.fsm.snapshotOfState()
	waitFor(t, "n3 to catch up", 20*time.Second, func() bool {
		_, applied := n3.fsm.snapshotOfState()
		return applied == want
	})
	// n3 holds the received archive (until its own next snapshot replaces it).
	n3metas, err := n3.store.list()
	mustNoErr(t, err)
	if len(n3metas) == 0 || n3metas[0].Kind != kindArchive || n3metas[0].Index != snapIndex {
		t.Fatalf("n3's newest snapshot is %+v; want the archive received at index %d", n3metas, snapIndex)
	}
	apply(158, 200)

	all := append(nodes, n3)
	_, want = leader.fsm.snapshotOfState()
	for _, n := range all {
		waitFor(t, n.id+" to apply everything", 20*time.Second, func() bool {
			_, applied := n.fsm.snapshotOfState()
			return applied == want
		})
	}

	if n3.fsm.restores.Load() == 0 {
		t.Fatal("n3 never restored a snapshot; want InstallSnapshot")
	}
	if n3.fsm.skipped.Load() == 0 {
		t.Fatalf("n3 skipped no entries; the checkpoint (applied > %d) should have covered some", snapIndex)
	}

	leaderState, _ := leader.fsm.snapshotOfState()
	for _, n := range all[1:] {
		state, _ := n.fsm.snapshotOfState()
		sameTree(t, state, leaderState)
	}
	if got := len(treeOf(t, leaderState)); got != 1+17+1+1 { // kv/, 17 keys, blob, APPLIED
		t.Fatalf("leader state has %d entries, want 20", got)
	}
}
