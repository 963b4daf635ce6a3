package test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/node"
)

// TestIngestThroughLeaderKill ingests 50,000 events from many accounts into a
// 3-node cluster while the leader of a shard is killed, then restarts it:
// every acknowledged event is on every replica of its shard exactly once,
// replicas agree, and a re-sent batch is reported as duplicates.
func TestIngestThroughLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 50,000 events through a leader kill")
	}
	c := NewCluster(t, 3)
	const total = 50000
	events := makeEvents(t, total, 300, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var res *IngestResult
	var ingestErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, ingestErr = Ingest(ctx, c.Node(0).GRPCAddr(), events, 500, 8)
	}()

	// Kill the leader of a shard (one not on the entry node) mid-ingest.
	waitStored(t, c, total/5)
	victim := -1
	var victimShard uint32
	for _, s := range c.Status(0).Shards {
		if s.Leader != "" && s.Leader != "n1" {
			victim, victimShard = c.Index(s.Leader), s.Id
			break
		}
	}
	if victim < 0 {
		t.Fatal("no shard led by a node other than n1")
	}
	t.Logf("killing %s, leader of shard %d", nodeID(victim), victimShard)
	c.Kill(victim)
	wg.Wait()
	if ingestErr != nil {
		t.Fatalf("ingest: %v", ingestErr)
	}
	if len(res.Acked) != total || len(res.Rejected) != 0 {
		t.Fatalf("acked %d of %d, rejected %d", len(res.Acked), total, len(res.Rejected))
	}

	// The killed node catches up after a restart.
	c.Restart(victim)
	c.WaitReady(60 * time.Second)
	checkExactlyOnce(t, c, res.Acked)

	// Re-sending events that were stored reports them as duplicates.
	again, err := Ingest(ctx, c.Node(1).GRPCAddr(), events[:1000], 250, 2)
	if err != nil {
		t.Fatal(err)
	}
	if again.Dup != 1000 || again.Stored != 0 {
		t.Fatalf("re-sent 1000 stored events: %d stored, %d duplicate; want 0 and 1000", again.Stored, again.Dup)
	}
	checkExactlyOnce(t, c, res.Acked)
}

// TestJoinAfterCompaction adds a node after the shard logs were compacted:
// it must receive its replicas by snapshot and end with the same content.
func TestJoinAfterCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	c := NewCluster(t, 3, WithConfig(func(cfg *node.Config) {
		cfg.SnapshotThreshold = 8
		cfg.TrailingLogs = 4
		cfg.SnapshotInterval = 200 * time.Millisecond
		cfg.BatchBytes = 32 << 10 // many small entries, so logs get compacted
		// Small segments, smaller than one compressed entry, so that
		// compacted entries are really gone (the log is reclaimed a segment
		// at a time).
		cfg.RaftSegmentBytes = 8 << 10
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events := makeEvents(t, 6000, 120, 3)
	res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events, 100, 4)
	if err != nil || len(res.Acked) != len(events) {
		t.Fatalf("ingest: %v (acked %d of %d)", err, len(res.Acked), len(events))
	}
	// Wait until every replica has taken a snapshot after the load, so that
	// its log was compacted.
	waitFor(t, 30*time.Second, "every replica snapshots", func() bool {
		for i := range c.Len() {
			for _, ls := range c.Node(i).LocalStatus().Shards {
				if ls.LastSnapshotIndex+8 < ls.CommitIndex || ls.LastSnapshotIndex == 0 {
					return false
				}
			}
		}
		return true
	})

	j := c.Join(1)
	id := nodeID(j)
	// Wait until the new node holds its share of replicas as a voter.
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := c.Status(0)
		hosted, joined := 0, false
		for _, n := range st.Nodes {
			joined = joined || (n.Id == id && n.State == "alive" && n.MetaSuffrage == "voter")
		}
		for _, s := range st.Shards {
			if slices.Contains(s.Replicas, id) && s.ReplicaApplied[id] == s.AppliedIndex && s.AppliedIndex > 0 {
				hosted++
			}
		}
		if joined && hosted >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("joined node holds %d caught-up replicas (joined=%v): %v", hosted, joined, st.Shards)
		}
		time.Sleep(250 * time.Millisecond)
	}
	states := checkExactlyOnce(t, c, res.Acked)
	// The replicas on the new node came as snapshots: the early entries had
	// been compacted out of the others' logs.
	local := c.Node(j).LocalStatus()
	received := 0
	for _, ls := range local.Shards {
		if ls.SnapshotsInstalled > 0 {
			received++
		}
	}
	if received < len(local.Shards) || received == 0 {
		t.Fatalf("the joined node installed snapshots on %d of its %d replicas: %v", received, len(local.Shards), local.Shards)
	}
	_ = states
	t.Logf("joined node received %d shard snapshots", received)
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStored waits until the shards report at least n events.
func waitStored(t *testing.T, c *Cluster, n uint64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var sum uint64
		for _, s := range c.Status(0).Shards {
			sum += s.Events
		}
		if sum >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fewer than %d events stored after 2 minutes", n)
}

// checkExactlyOnce waits for the replicas to converge, then checks that the
// union of the shards holds exactly the acknowledged eventIDs, each once, on
// every replica of its shard.
func checkExactlyOnce(t *testing.T, c *Cluster, acked map[string]cairnStatus) map[uint32][]ReplicaState {
	t.Helper()
	states := c.Converged(2 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	verifyExactlyOnce(t, ctx, c.Addrs(), states, acked)
	return states
}
