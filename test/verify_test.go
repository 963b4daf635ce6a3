package test

import (
	"context"
	"testing"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

type cairnStatus = cairnv1.EventStatus

// verifyExactlyOnce checks, on converged replicas, that every replica of a
// shard holds the same eventIDs, each once; that no eventID is in two
// shards; and that the union is exactly the acknowledged set.
func verifyExactlyOnce(t *testing.T, ctx context.Context, addrs map[string]string, states map[uint32][]ReplicaState, acked map[string]cairnStatus) {
	t.Helper()
	seen := map[string]uint32{}
	for shard, reps := range states {
		var first map[string]int
		for _, r := range reps {
			ids, err := EventIDs(ctx, addrs[r.Node], shard)
			if err != nil {
				t.Fatalf("event ids of shard %d on %s: %v", shard, r.Node, err)
			}
			for id, n := range ids {
				if n != 1 {
					t.Errorf("shard %d on %s stores %s %d times", shard, r.Node, id, n)
				}
			}
			if first == nil {
				first = ids
				for id := range ids {
					if s, dup := seen[id]; dup {
						t.Errorf("%s stored in shard %d and shard %d", id, s, shard)
					}
					seen[id] = shard
				}
				continue
			}
			if len(ids) != len(first) {
				t.Errorf("shard %d: %s holds %d events, %s holds %d", shard, reps[0].Node, len(first), r.Node, len(ids))
			}
			for id := range first {
				if ids[id] == 0 {
					t.Errorf("shard %d: %s lacks %s", shard, r.Node, id)
				}
			}
		}
	}
	missing := 0
	for id := range acked {
		if _, ok := seen[id]; !ok {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged event %s is missing", id)
			}
		}
	}
	if missing > 0 || len(seen) != len(acked) {
		t.Errorf("cluster stores %d events, %d were acknowledged, %d acknowledged are missing", len(seen), len(acked), missing)
	}
}

// statusVia returns a Status call on the node at addr.
func statusVia(addr string) func() (*cairnv1.StatusResponse, error) {
	return func() (*cairnv1.StatusResponse, error) {
		conn, err := dial(addr)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return cairnv1.NewClusterServiceClient(conn).Status(context.Background(), &cairnv1.StatusRequest{})
	}
}

func localStatus(ctx context.Context, addr string) (*cairnv1.LocalStatusResponse, error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return cairnv1.NewClusterServiceClient(conn).LocalStatus(ctx, &cairnv1.LocalStatusRequest{})
}
