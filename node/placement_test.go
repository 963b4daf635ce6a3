package node

import (
	"fmt"
	"slices"
	"testing"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func loads(ps []*cairnv1.ShardPlacement) (replicas, leaders map[string]int) {
	replicas, leaders = map[string]int{}, map[string]int{}
	for _, p := range ps {
		for _, r := range p.Replicas {
			replicas[r]++
		}
		if len(p.Replicas) > 0 {
			leaders[p.Replicas[0]]++
		}
	}
	return replicas, leaders
}

func checkPlacement(t *testing.T, ps []*cairnv1.ShardPlacement, nodes []string, rf int) {
	t.Helper()
	want := min(rf, len(nodes))
	for _, p := range ps {
		if len(p.Replicas) != want {
			t.Errorf("shard %d has %d replicas %v, want %d", p.Shard, len(p.Replicas), p.Replicas, want)
		}
		seen := map[string]bool{}
		for _, r := range p.Replicas {
			if seen[r] {
				t.Errorf("shard %d places two replicas on %s", p.Shard, r)
			}
			if !slices.Contains(nodes, r) {
				t.Errorf("shard %d has a replica on %s, not an active node", p.Shard, r)
			}
			seen[r] = true
		}
	}
	replicas, leaders := loads(ps)
	lo, hi := len(ps)*want, 0
	for _, n := range nodes {
		lo, hi = min(lo, replicas[n]), max(hi, replicas[n])
	}
	if hi-lo > 1 {
		t.Errorf("replica loads differ by %d: %v", hi-lo, replicas)
	}
	limit := (len(ps) + len(nodes) - 1) / len(nodes)
	for n, c := range leaders {
		if c > limit {
			t.Errorf("%s is preferred leader of %d shards, more than %d: %v", n, c, limit, leaders)
		}
	}
}

func TestInitialPlacement(t *testing.T) {
	for _, tc := range []struct{ nodes, shards, rf int }{{1, 8, 3}, {3, 8, 3}, {5, 8, 3}, {4, 16, 3}, {7, 3, 5}} {
		t.Run(fmt.Sprintf("%dnodes-%dshards-rf%d", tc.nodes, tc.shards, tc.rf), func(t *testing.T) {
			var nodes []string
			for i := range tc.nodes {
				nodes = append(nodes, fmt.Sprintf("n%d", i+1))
			}
			ps := initialPlacement(nodes, tc.shards, tc.rf)
			if len(ps) != tc.shards {
				t.Fatalf("%d placements, want %d", len(ps), tc.shards)
			}
			checkPlacement(t, ps, nodes, tc.rf)
		})
	}
}

func TestRebalanceOnJoin(t *testing.T) {
	ps := initialPlacement([]string{"n1", "n2", "n3"}, 8, 3)
	nodes := []string{"n1", "n2", "n3", "n4"}
	changed := rebalance(ps, nodes, 3)
	if len(changed) == 0 {
		t.Fatal("a joining node received no replica")
	}
	after := withChanges(ps, changed)
	checkPlacement(t, after, nodes, 3)
	// A move replaces one replica: every changed shard keeps two of its
	// three replicas, so it never loses its quorum during the move.
	for _, c := range changed {
		old := findPlacement(ps, c.Shard)
		kept := 0
		for _, r := range c.Replicas {
			if slices.Contains(old.Replicas, r) {
				kept++
			}
		}
		if kept < 2 {
			t.Errorf("shard %d: %v → %v keeps %d replicas", c.Shard, old.Replicas, c.Replicas, kept)
		}
	}
	// Deterministic: every meta leader computes the same moves.
	if again := rebalance(ps, nodes, 3); fmt.Sprint(again) != fmt.Sprint(changed) {
		t.Fatalf("rebalance is not deterministic:\n%v\n%v", changed, again)
	}
	// Balanced already: nothing to do.
	if more := rebalance(after, nodes, 3); len(more) != 0 {
		t.Errorf("a balanced placement changed again: %v", more)
	}
}

func TestRebalanceOnRemove(t *testing.T) {
	ps := initialPlacement([]string{"n1", "n2", "n3", "n4"}, 8, 3)
	nodes := []string{"n1", "n2", "n4"}
	after := withChanges(ps, rebalance(ps, nodes, 3))
	checkPlacement(t, after, nodes, 3)
	// Fewer nodes than the replication factor: every shard on every node.
	two := withChanges(after, rebalance(after, []string{"n1", "n4"}, 3))
	checkPlacement(t, two, []string{"n1", "n4"}, 3)
}

func TestShardForSpreadsAccounts(t *testing.T) {
	counts := make([]int, 8)
	for i := range 8000 {
		counts[ShardFor(fmt.Sprintf("%012d", 100000000000+i*7919), 8)]++
	}
	for s, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("shard %d got %d of 8000 accounts: %v", s, c, counts)
		}
	}
	// Routing is part of the on-disk contract: an account's events live on
	// the shard this returns, so it must never change.
	for _, tc := range []struct {
		account string
		shards  uint32
		want    uint32
	}{{"123456789012", 8, 7}, {"111122223333", 8, 5}, {"redacted", 16, 9}} {
		if got := ShardFor(tc.account, tc.shards); got != tc.want {
			t.Errorf("ShardFor(%q, %d) = %d, want %d", tc.account, tc.shards, got, tc.want)
		}
	}
}
