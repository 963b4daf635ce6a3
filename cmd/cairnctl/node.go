package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Manage the cluster's nodes",
	}
	cmd.AddCommand(newNodeRemoveCmd(g))
	return cmd
}

// removeOutput is the -o json shape of "cairnctl node remove".
type removeOutput struct {
	Node  string   `json:"node"`
	Moved []uint32 `json:"moved"`
}

func newNodeRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Take a node out of the cluster and re-place its shard replicas",
		Long: `remove takes the node with this ID out of the cluster: it leaves the meta
group, and each shard replica it held is placed on another node.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(ctx context.Context, args []string) error {
			c := g.newClient()
			defer c.Close()
			var resp *cairnv1.RemoveNodeResponse
			err := c.cluster(ctx, "remove node", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
				var err error
				resp, err = cc.RemoveNode(ctx, &cairnv1.RemoveNodeRequest{Id: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			out := removeOutput{Node: args[0], Moved: append([]uint32{}, resp.GetMoved()...)}
			return g.print(out, out.table)
		}),
	}
}

func (r removeOutput) table(w io.Writer) {
	if len(r.Moved) == 0 {
		fmt.Fprintf(w, "removed node %s; it held no shard replicas\n", r.Node)
		return
	}
	shards := make([]string, len(r.Moved))
	for i, s := range r.Moved {
		shards[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(w, "removed node %s; re-placed its replicas of shards %s\n", r.Node, strings.Join(shards, ", "))
}
