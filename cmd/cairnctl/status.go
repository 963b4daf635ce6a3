package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// statusOutput is the -o json shape of "cairnctl status". Its keys are a
// contract for scripts: change them only by adding.
type statusOutput struct {
	Nodes      []nodeOutput  `json:"nodes"`
	Shards     []shardOutput `json:"shards"`
	MetaLeader string        `json:"meta_leader"`
}

type nodeOutput struct {
	ID           string `json:"id"`
	GRPCAddr     string `json:"grpc_addr"`
	RaftAddr     string `json:"raft_addr"`
	HTTPAddr     string `json:"http_addr"`
	State        string `json:"state"`
	MetaSuffrage string `json:"meta_suffrage"`
}

type shardOutput struct {
	ID             uint32            `json:"id"`
	Leader         string            `json:"leader"`
	Replicas       []string          `json:"replicas"`
	AppliedIndex   uint64            `json:"applied_index"`
	Events         uint64            `json:"events"`
	ReplicaApplied map[string]uint64 `json:"replica_applied"`
}

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's nodes and shards",
		Long: `status shows every node with its addresses, state and place in the meta
group, and every shard with its leader, replicas, applied index and number
of events.`,
		Args: cobra.NoArgs,
		RunE: action(func(ctx context.Context, _ []string) error {
			c := g.newClient()
			defer c.Close()
			st, err := fetchStatus(ctx, c)
			if err != nil {
				return err
			}
			out := statusFromProto(st)
			return g.print(out, out.table)
		}),
	}
}

func fetchStatus(ctx context.Context, c *client) (*cairnv1.StatusResponse, error) {
	var st *cairnv1.StatusResponse
	err := c.cluster(ctx, "status", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
		var err error
		st, err = cc.Status(ctx, &cairnv1.StatusRequest{})
		return err
	})
	return st, err
}

// statusFromProto converts a StatusResponse, nodes sorted by ID and shards
// by number; lists and maps are never null in JSON.
func statusFromProto(st *cairnv1.StatusResponse) statusOutput {
	out := statusOutput{
		Nodes:      []nodeOutput{},
		Shards:     []shardOutput{},
		MetaLeader: st.GetMetaLeader(),
	}
	for _, n := range st.GetNodes() {
		out.Nodes = append(out.Nodes, nodeOutput{
			ID:           n.GetId(),
			GRPCAddr:     n.GetGrpcAddr(),
			RaftAddr:     n.GetRaftAddr(),
			HTTPAddr:     n.GetHttpAddr(),
			State:        n.GetState(),
			MetaSuffrage: n.GetMetaSuffrage(),
		})
	}
	for _, s := range st.GetShards() {
		so := shardOutput{
			ID:             s.GetId(),
			Leader:         s.GetLeader(),
			Replicas:       append([]string{}, s.GetReplicas()...),
			AppliedIndex:   s.GetAppliedIndex(),
			Events:         s.GetEvents(),
			ReplicaApplied: map[string]uint64{},
		}
		for id, applied := range s.GetReplicaApplied() {
			so.ReplicaApplied[id] = applied
		}
		out.Shards = append(out.Shards, so)
	}
	slices.SortFunc(out.Nodes, func(a, b nodeOutput) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(out.Shards, func(a, b shardOutput) int { return int(a.ID) - int(b.ID) })
	return out
}

func (s statusOutput) table(w io.Writer) {
	tw := newTable(w)
	row(tw, "ID", "GRPC", "RAFT", "HTTP", "STATE", "META")
	for _, n := range s.Nodes {
		meta := n.MetaSuffrage
		if n.ID == s.MetaLeader && n.ID != "" {
			meta = strings.TrimSpace(meta + " (leader)")
		}
		row(tw, n.ID, n.GRPCAddr, n.RaftAddr, n.HTTPAddr, n.State, meta)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)

	tw = newTable(w)
	row(tw, "SHARD", "LEADER", "REPLICAS", "APPLIED", "EVENTS")
	var events uint64
	for _, sh := range s.Shards {
		row(tw, sh.ID, sh.Leader, strings.Join(sh.Replicas, ","), sh.AppliedIndex, sh.Events)
		events += sh.Events
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%s, %s, %s; meta leader %s\n",
		plural(len(s.Nodes), "node"), plural(len(s.Shards), "shard"), plural(int(events), "event"), orDash(s.MetaLeader))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
