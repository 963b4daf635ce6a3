package node

import (
	"hash/fnv"
	"slices"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// ShardFor routes an account to its shard: FNV-1a of the account id modulo
// the shard count. Every node computes the same answer.
func ShardFor(account string, shards uint32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(account))
	return h.Sum32() % shards
}

// initialPlacement spreads shards over the sorted node ids: shard i starts on
// nodes i, i+1, … i+rf-1 (mod n), so replicas[0] — the preferred leader —
// rotates over every node; rebalance then evens out the replica counts when
// the shard count is not a multiple of the node count.
func initialPlacement(nodes []string, shards, rf int) []*cairnv1.ShardPlacement {
	ids := slices.Clone(nodes)
	slices.Sort(ids)
	if rf > len(ids) {
		rf = len(ids)
	}
	out := make([]*cairnv1.ShardPlacement, shards)
	for i := range shards {
		p := &cairnv1.ShardPlacement{Shard: uint32(i)}
		for j := range rf {
			p.Replicas = append(p.Replicas, ids[(i+j)%len(ids)])
		}
		out[i] = p
	}
	return withChanges(out, rebalance(out, ids, rf))
}

// withChanges returns ps with the placements in changed substituted.
func withChanges(ps, changed []*cairnv1.ShardPlacement) []*cairnv1.ShardPlacement {
	out := clonePlacement(ps)
	for _, c := range changed {
		for i, p := range out {
			if p.Shard == c.Shard {
				out[i] = c
			}
		}
	}
	return out
}

// rebalance returns the placements that change when the active node set is
// `active` and every shard wants rf replicas: replicas on inactive nodes are
// replaced (or dropped when no node is free), under-replicated shards are
// filled, and replicas move from the most to the least loaded nodes until
// loads differ by at most one. It is deterministic and moves as little as it
// can: a moved replica takes the position of the one it replaces, so a new
// node inherits preferred leaderships along with replicas.
func rebalance(current []*cairnv1.ShardPlacement, active []string, rf int) []*cairnv1.ShardPlacement {
	ids := slices.Clone(active)
	slices.Sort(ids)
	want := min(rf, len(ids))
	if want == 0 {
		return nil
	}
	ps := clonePlacement(current)
	slices.SortFunc(ps, func(a, b *cairnv1.ShardPlacement) int { return int(a.Shard) - int(b.Shard) })
	isActive := map[string]bool{}
	for _, id := range ids {
		isActive[id] = true
	}
	load := map[string]int{}
	for _, p := range ps {
		for _, r := range p.Replicas {
			if isActive[r] {
				load[r]++
			}
		}
	}
	leastLoaded := func(exclude []string) string {
		best := ""
		for _, id := range ids {
			if slices.Contains(exclude, id) {
				continue
			}
			if best == "" || load[id] < load[best] {
				best = id
			}
		}
		return best
	}
	// 1. Replace replicas on inactive nodes, in place.
	for _, p := range ps {
		for i := 0; i < len(p.Replicas); i++ {
			if isActive[p.Replicas[i]] {
				continue
			}
			if n := leastLoaded(p.Replicas); n != "" {
				p.Replicas[i] = n
				load[n]++
			} else {
				p.Replicas = slices.Delete(p.Replicas, i, i+1)
				i--
			}
		}
	}
	// 2. Fill under-replicated shards; trim over-replicated ones.
	for _, p := range ps {
		for len(p.Replicas) < want {
			n := leastLoaded(p.Replicas)
			if n == "" {
				break
			}
			p.Replicas = append(p.Replicas, n)
			load[n]++
		}
		for len(p.Replicas) > want {
			last := p.Replicas[len(p.Replicas)-1]
			p.Replicas = p.Replicas[:len(p.Replicas)-1]
			load[last]--
		}
	}
	// 3. Even out loads.
	for range len(ps) * want {
		hi, lo := "", ""
		for _, id := range ids {
			if hi == "" || load[id] > load[hi] {
				hi = id
			}
			if lo == "" || load[id] < load[lo] {
				lo = id
			}
		}
		if load[hi]-load[lo] <= 1 {
			break
		}
		moved := false
		for _, p := range ps {
			i := slices.Index(p.Replicas, hi)
			if i < 0 || slices.Contains(p.Replicas, lo) {
				continue
			}
			p.Replicas[i] = lo
			load[hi]--
			load[lo]++
			moved = true
			break
		}
		if !moved {
			break
		}
	}
	balanceLeaders(ps, ids)
	var changed []*cairnv1.ShardPlacement
	for _, p := range ps {
		old := findPlacement(current, p.Shard)
		if old == nil || !slices.Equal(old.Replicas, p.Replicas) {
			changed = append(changed, p)
		}
	}
	return changed
}

// balanceLeaders reorders replicas so each node is the preferred leader
// (replicas[0]) of a fair share of shards, changing as few shards as it can.
func balanceLeaders(ps []*cairnv1.ShardPlacement, ids []string) {
	count := map[string]int{}
	for _, p := range ps {
		if len(p.Replicas) > 0 {
			count[p.Replicas[0]]++
		}
	}
	limit := (len(ps) + len(ids) - 1) / len(ids)
	for _, p := range ps {
		if len(p.Replicas) == 0 || count[p.Replicas[0]] <= limit {
			continue
		}
		best := 0
		for i := 1; i < len(p.Replicas); i++ {
			if count[p.Replicas[i]] < count[p.Replicas[best]] {
				best = i
			}
		}
		if best != 0 && count[p.Replicas[best]]+1 <= limit {
			count[p.Replicas[0]]--
			count[p.Replicas[best]]++
			p.Replicas[0], p.Replicas[best] = p.Replicas[best], p.Replicas[0]
		}
	}
}

func findPlacement(ps []*cairnv1.ShardPlacement, shard uint32) *cairnv1.ShardPlacement {
	for _, p := range ps {
		if p.Shard == shard {
			return p
		}
	}
	return nil
}

// activeNodes returns the ids of the registered nodes not removed.
func activeNodes(st *cairnv1.MetaState) []string {
	var ids []string
	for _, n := range st.Nodes {
		if !n.Removed {
			ids = append(ids, n.Id)
		}
	}
	slices.Sort(ids)
	return ids
}
