package test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// TestRemoveDeadNode kills a node of a 4-node cluster and removes it: its
// replicas are placed on the remaining nodes, which end with the same content.
func TestRemoveDeadNode(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	c := NewCluster(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events := makeEvents(t, 4000, 100, 4)
	res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events, 250, 4)
	if err != nil || len(res.Acked) != len(events) {
		t.Fatalf("ingest: %v (acked %d of %d)", err, len(res.Acked), len(events))
	}
	hosted := 0
	for _, s := range c.Status(0).Shards {
		if slices.Contains(s.Replicas, "n4") {
			hosted++
		}
	}
	if hosted == 0 {
		t.Fatal("n4 hosts no replica; the test needs one")
	}
	// An unknown node is refused at once, with NotFound.
	start := time.Now()
	_, err = cairnv1.NewClusterServiceClient(c.Conn(1)).RemoveNode(ctx, &cairnv1.RemoveNodeRequest{Id: "n9"})
	if status.Code(err) != codes.NotFound || time.Since(start) > 5*time.Second {
		t.Fatalf("removing an unknown node: %v after %v; want NotFound at once", err, time.Since(start))
	}
	c.Kill(3)
	resp, err := cairnv1.NewClusterServiceClient(c.Conn(1)).RemoveNode(ctx, &cairnv1.RemoveNodeRequest{Id: "n4"})
	if err != nil {
		t.Fatalf("remove n4: %v", err)
	}
	if len(resp.Moved) != hosted {
		t.Fatalf("remove moved %d shards, n4 hosted %d", len(resp.Moved), hosted)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := c.Status(0)
		ok := true
		for _, s := range st.Shards {
			if slices.Contains(s.Replicas, "n4") || len(s.Replicas) != 3 || s.Leader == "" || len(s.ReplicaApplied) != 3 {
				ok = false
			}
		}
		for _, n := range st.Nodes {
			if n.Id == "n4" && n.State != "removed" {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not re-placed: %v %v", st.Nodes, st.Shards)
		}
		time.Sleep(250 * time.Millisecond)
	}
	checkExactlyOnce(t, c, res.Acked)
	// Ingest still works with the remaining three nodes.
	more := makeEvents(t, 500, 100, 5)
	res2, err := Ingest(ctx, c.Node(2).GRPCAddr(), more, 250, 2)
	if err != nil || res2.Stored != len(more) {
		t.Fatalf("ingest after removal: %v (stored %d of %d)", err, res2.Stored, len(more))
	}
}
