package test

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage/event"
)

func TestClusterForms(t *testing.T) {
	c := NewCluster(t, 3)
	st := c.Status(0)
	if len(st.Nodes) != 3 {
		t.Fatalf("status lists %d nodes, want 3: %v", len(st.Nodes), st.Nodes)
	}
	for _, n := range st.Nodes {
		if n.State != "alive" || n.MetaSuffrage != "voter" || n.GrpcAddr == "" {
			t.Errorf("node %s: state %q suffrage %q grpc %q; want alive voter with an address", n.Id, n.State, n.MetaSuffrage, n.GrpcAddr)
		}
	}
	if len(st.Shards) != 8 {
		t.Fatalf("status lists %d shards, want 8", len(st.Shards))
	}
	// Leaders move to their preferred replicas; wait for them to spread.
	deadline := time.Now().Add(40 * time.Second)
	for {
		st = c.Status(0)
		leaders := map[string]int{}
		ok := true
		for _, s := range st.Shards {
			if s.Leader == "" || len(s.Replicas) != 3 {
				ok = false
			}
			leaders[s.Leader]++
		}
		if ok && len(leaders) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaders not spread over all nodes: %v", st.Shards)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := makeEvents(t, 2000, 40, 1)
	res, err := Ingest(ctx, c.Node(1).GRPCAddr(), events, 200, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 2000 || len(res.Acked) != 2000 || len(res.Rejected) != 0 {
		t.Fatalf("stored %d acked %d rejected %d; want 2000 2000 0 (%v)", res.Stored, len(res.Acked), len(res.Rejected), res.Rejected)
	}
	states := c.Converged(30 * time.Second)
	var total uint64
	for _, reps := range states {
		total += reps[0].Events
	}
	if total != 2000 {
		t.Fatalf("shards hold %d events, want 2000", total)
	}

	// The per-account summary, scattered over every shard's leader from any
	// node, matches the events sent.
	want := map[string]uint64{}
	for _, raw := range events {
		ev, err := event.Parse(raw, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		want[ev.Account]++
	}
	accts, err := cairnv1.NewClusterServiceClient(c.Conn(2)).Accounts(ctx, &cairnv1.AccountsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if accts.ShardsAsked != 8 || len(accts.Accounts) != len(want) {
		t.Fatalf("accounts: %d from %d shards, want %d from 8", len(accts.Accounts), accts.ShardsAsked, len(want))
	}
	for _, a := range accts.Accounts {
		if a.Events != want[a.Account] || a.Shard != node.ShardFor(a.Account, 8) || a.FirstEventTimeUnixNano > a.LastEventTimeUnixNano {
			t.Errorf("account %s: %d events on shard %d; want %d on shard %d", a.Account, a.Events, a.Shard, want[a.Account], node.ShardFor(a.Account, 8))
		}
	}
}
