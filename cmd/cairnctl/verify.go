package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Verify outcomes of one shard.
const (
	resultMatch    = "match"     // every replica at the same applied index holds the same content
	resultMismatch = "mismatch"  // replicas at the same applied index differ
	resultLagging  = "lagging"   // applied indexes never agreed while verify waited
	resultError    = "error"     // a replica could not answer; see the detail
	resultNoLeader = "no-leader" // the shard has no leader to settle it
)

// verifyOutput is the -o json shape of "cairnctl verify".
type verifyOutput struct {
	Shards []shardVerify `json:"shards"`
	OK     bool          `json:"ok"`
}

type shardVerify struct {
	ID           uint32          `json:"id"`
	Leader       string          `json:"leader"`
	Replicas     []replicaDigest `json:"replicas"`
	AppliedIndex uint64          `json:"applied_index"` // when the replicas agree
	Events       uint64          `json:"events"`        // when the replicas agree
	Result       string          `json:"result"`
	Detail       string          `json:"detail,omitempty"`
	Attempts     int             `json:"attempts"`
}

type replicaDigest struct {
	Node         string `json:"node"`
	AppliedIndex uint64 `json:"applied_index"`
	Events       uint64 `json:"events"`
	Digest       string `json:"digest"` // hex SHA-256
	Error        string `json:"error,omitempty"`
}

// verifyAttempts is how many rounds verify waits for the replicas of a shard
// to reach the same applied index (ingest may still be running).
const verifyAttempts = 6

func newVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check that every replica of every shard holds the same events",
		Long: `verify asks every replica of every shard for a digest of its content. For
each shard it first makes the leader apply everything committed, then asks
every replica; when all replicas have applied the same index their digests
must be equal. If ingest is running, verify asks again a few times until
the applied indexes agree.

Exit status 1 when any shard differs, lags or cannot be checked.`,
		Args: cobra.NoArgs,
		RunE: action(func(ctx context.Context, _ []string) error {
			c := g.newClient()
			defer c.Close()
			out, err := verify(ctx, c)
			if err != nil {
				return err
			}
			if err := g.print(out, out.table); err != nil {
				return err
			}
			if !out.OK {
				var bad []string
				for _, s := range out.Shards {
					if s.Result != resultMatch {
						bad = append(bad, fmt.Sprintf("shard %d %s", s.ID, s.Result))
					}
				}
				fmt.Fprintf(g.stderr, "cairnctl: verify failed: %s\n", strings.Join(bad, ", "))
				return errReported
			}
			return nil
		}),
	}
}

// verify checks every shard; the shards still unsettled after a round are
// checked again, against a fresh Status, after a short wait.
func verify(ctx context.Context, c *client) (verifyOutput, error) {
	st, err := fetchStatus(ctx, c)
	if err != nil {
		return verifyOutput{}, err
	}
	results := map[uint32]*shardVerify{}
	var order []uint32
	for _, s := range st.GetShards() {
		order = append(order, s.GetId())
	}
	for attempt := 1; ; attempt++ {
		nodes := map[string]string{} // node ID -> gRPC address
		for _, n := range st.GetNodes() {
			nodes[n.GetId()] = n.GetGrpcAddr()
		}
		var todo []*cairnv1.ShardStatus
		for _, s := range st.GetShards() {
			if r, ok := results[s.GetId()]; !ok || settling(r.Result) {
				todo = append(todo, s)
			}
		}
		round := make([]shardVerify, len(todo)) // one slot per shard
		var wg sync.WaitGroup
		for i, s := range todo {
			wg.Go(func() { round[i] = verifyShard(ctx, c, s, nodes) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			return verifyOutput{}, ctx.Err()
		}
		settled := true
		for i := range round {
			round[i].Attempts = attempt
			results[round[i].ID] = &round[i]
			settled = settled && !settling(round[i].Result)
		}
		if settled || attempt == verifyAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return verifyOutput{}, ctx.Err()
		case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
		}
		if st, err = fetchStatus(ctx, c); err != nil {
			return verifyOutput{}, err
		}
	}

	out := verifyOutput{Shards: []shardVerify{}, OK: true}
	for _, id := range order {
		r := results[id]
		out.Shards = append(out.Shards, *r)
		out.OK = out.OK && r.Result == resultMatch
	}
	return out, nil
}

// settling reports whether another round may change a shard's result.
func settling(result string) bool {
	return result == resultLagging || result == resultError || result == resultNoLeader
}

// verifyShard runs one round on one shard: a barrier on the leader, then a
// digest from every replica.
func verifyShard(ctx context.Context, c *client, s *cairnv1.ShardStatus, nodes map[string]string) shardVerify {
	out := shardVerify{ID: s.GetId(), Leader: s.GetLeader(), Replicas: []replicaDigest{}}
	digest := func(node string, barrier bool) (*cairnv1.ShardDigestResponse, error) {
		addr := nodes[node]
		if addr == "" {
			return nil, fmt.Errorf("node %s has no known gRPC address", node)
		}
		var resp *cairnv1.ShardDigestResponse
		err := c.node(ctx, addr, "shard digest", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
			var err error
			resp, err = cc.ShardDigest(ctx, &cairnv1.ShardDigestRequest{Shard: s.GetId(), Barrier: barrier})
			return err
		})
		return resp, err
	}

	if out.Leader == "" {
		out.Result, out.Detail = resultNoLeader, "the shard has no leader"
		return out
	}
	if _, err := digest(out.Leader, true); err != nil {
		out.Result, out.Detail = resultError, fmt.Sprintf("barrier on leader %s: %s", out.Leader, describe(err))
		return out
	}

	replicas := s.GetReplicas()
	out.Replicas = make([]replicaDigest, len(replicas))
	var wg sync.WaitGroup
	for i, node := range replicas {
		wg.Go(func() {
			rd := replicaDigest{Node: node}
			resp, err := digest(node, false)
			if err != nil {
				rd.Error = describe(err)
			} else {
				rd.AppliedIndex, rd.Events, rd.Digest = resp.GetAppliedIndex(), resp.GetEvents(), hex.EncodeToString(resp.GetDigest())
			}
			out.Replicas[i] = rd
		})
	}
	wg.Wait()

	for _, rd := range out.Replicas {
		if rd.Error != "" {
			out.Result, out.Detail = resultError, fmt.Sprintf("replica %s: %s", rd.Node, rd.Error)
			return out
		}
	}
	if len(out.Replicas) == 0 {
		out.Result, out.Detail = resultError, "the shard has no replicas"
		return out
	}
	first := out.Replicas[0]
	for _, rd := range out.Replicas[1:] {
		if rd.AppliedIndex != first.AppliedIndex {
			out.Result = resultLagging
			out.Detail = fmt.Sprintf("replica %s applied %d, %s applied %d", rd.Node, rd.AppliedIndex, first.Node, first.AppliedIndex)
			return out
		}
	}
	out.AppliedIndex, out.Events, out.Result = first.AppliedIndex, first.Events, resultMatch
	// Group the replicas by content, largest group first (ties in replica
	// order, so the leader's group leads): a mismatch lists every group.
	type group struct {
		nodes  []string
		events uint64
		digest string
	}
	var groups []*group
	for _, rd := range out.Replicas {
		i := slices.IndexFunc(groups, func(g *group) bool { return g.digest == rd.Digest && g.events == rd.Events })
		if i < 0 {
			groups = append(groups, &group{events: rd.Events, digest: rd.Digest})
			i = len(groups) - 1
		}
		groups[i].nodes = append(groups[i].nodes, rd.Node)
	}
	if len(groups) > 1 {
		slices.SortStableFunc(groups, func(a, b *group) int { return len(b.nodes) - len(a.nodes) })
		parts := make([]string, len(groups))
		for i, g := range groups {
			parts[i] = fmt.Sprintf("%s: %d events, digest %s", strings.Join(g.nodes, ","), g.events, short(g.digest))
		}
		out.Result = resultMismatch
		out.Events = groups[0].events
		out.Detail = fmt.Sprintf("replicas differ at applied index %d: %s", first.AppliedIndex, strings.Join(parts, "; "))
	}
	return out
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

func (v verifyOutput) table(w io.Writer) {
	tw := newTable(w)
	row(tw, "SHARD", "REPLICAS", "APPLIED", "EVENTS", "DIGEST", "RESULT")
	var details []string
	for _, s := range v.Shards {
		nodes := make([]string, len(s.Replicas))
		for i, r := range s.Replicas {
			nodes[i] = r.Node
		}
		applied, events, digest := "", "", ""
		if s.Result == resultMatch || s.Result == resultMismatch {
			applied, events = fmt.Sprint(s.AppliedIndex), fmt.Sprint(s.Events)
		}
		if s.Result == resultMatch {
			digest = short(s.Replicas[0].Digest)
		}
		row(tw, s.ID, strings.Join(nodes, ","), applied, events, digest, s.Result)
		if s.Detail != "" {
			details = append(details, fmt.Sprintf("shard %d: %s", s.ID, s.Detail))
		}
	}
	_ = tw.Flush()
	if len(details) > 0 {
		fmt.Fprintln(w)
		for _, d := range details {
			fmt.Fprintln(w, d)
		}
	}
}
