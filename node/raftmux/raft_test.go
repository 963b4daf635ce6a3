package raftmux

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// listFSM records every applied command in order.
type listFSM struct {
	mu   sync.Mutex
	cmds []string
}

func (f *listFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, string(l.Data))
	return len(f.cmds)
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }
func (f *listFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

func (f *listFSM) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cmds)
}

type nopSnapshot struct{}

func (nopSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (nopSnapshot) Release()                             {}

func fastRaftConfig(id string) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(id)
	c.HeartbeatTimeout = 300 * time.Millisecond
	c.ElectionTimeout = 300 * time.Millisecond
	c.LeaderLeaseTimeout = 150 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.Logger = NewHCLogger(testLogger(), "raft."+id)
	return c
}

// waitForLeader returns the leader among rafts, failing after timeout.
func waitForLeader(t *testing.T, rafts []*raft.Raft, timeout time.Duration) *raft.Raft {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range rafts {
			if r.State() == raft.Leader {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no leader within %v", timeout)
	return nil
}

// TestRaftGroupsOverMux runs two independent 3-node Raft groups whose nine
// transports share three muxes (one per node), and checks both elect a leader
// and replicate their own commands, and only their own, to every node.
func TestRaftGroupsOverMux(t *testing.T) {
	const nodes = 3
	groups := []uint32{0, 5}

	muxes := make([]*Mux, nodes)
	for i := range muxes {
		muxes[i] = mustListen(t)
	}

	type member struct {
		raft *raft.Raft
		fsm  *listFSM
	}
	cluster := map[uint32][]member{}
	for _, g := range groups {
		var servers []raft.Server
		for i, m := range muxes {
			servers = append(servers, raft.Server{
				ID:      raft.ServerID(fmt.Sprintf("n%d", i)),
				Address: raft.ServerAddress(m.Addr().String()),
			})
		}
		for i, m := range muxes {
			trans, err := m.Transport(g, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conf := fastRaftConfig(fmt.Sprintf("n%d", i))
			store := raft.NewInmemStore()
			snaps := raft.NewInmemSnapshotStore()
			if err := raft.BootstrapCluster(conf, store, store, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
				t.Fatalf("bootstrap group %d node %d: %v", g, i, err)
			}
			fsm := &listFSM{}
			r, err := raft.NewRaft(conf, fsm, store, store, snaps, trans)
			if err != nil {
				t.Fatalf("NewRaft group %d node %d: %v", g, i, err)
			}
			t.Cleanup(func() {
				_ = r.Shutdown().Error()
				_ = trans.Close()
			})
			cluster[g] = append(cluster[g], member{r, fsm})
		}
	}

	const perGroup = 50
	want := map[uint32][]string{}
	for _, g := range groups {
		var rafts []*raft.Raft
		for _, mb := range cluster[g] {
			rafts = append(rafts, mb.raft)
		}
		leader := waitForLeader(t, rafts, 10*time.Second)
		var futures []raft.ApplyFuture
		for i := range perGroup {
			cmd := fmt.Sprintf("group-%d-cmd-%d", g, i)
			want[g] = append(want[g], cmd)
			futures = append(futures, leader.Apply([]byte(cmd), 5*time.Second))
		}
		for _, f := range futures {
			if err := f.Error(); err != nil {
				t.Fatalf("group %d apply: %v", g, err)
			}
		}
	}

	deadline := time.Now().Add(10 * time.Second)
	for _, g := range groups {
		for i, mb := range cluster[g] {
			for {
				got := mb.fsm.commands()
				if slices.Equal(got, want[g]) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("group %d node %d applied %d commands %v..., want %d of this group", g, i, len(got), got[:min(3, len(got))], len(want[g]))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

func TestTransportGroupTaken(t *testing.T) {
	m := mustListen(t)
	tr, err := m.Transport(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Transport(1, 0); err == nil {
		t.Fatal("second Transport for the same group succeeded")
	}
	// Closing the transport frees the group.
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr2, err := m.Transport(1, 0)
	if err != nil {
		t.Fatalf("Transport after the previous one closed: %v", err)
	}
	_ = tr2.Close()
}
