package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// accountsOutput is the -o json shape of "cairnctl accounts".
type accountsOutput struct {
	Accounts    []accountOutput `json:"accounts"`
	ShardsAsked uint32          `json:"shards_asked"`
	ElapsedMS   int64           `json:"elapsed_ms"`
}

type accountOutput struct {
	Account string `json:"account"`
	Shard   uint32 `json:"shard"`
	Events  uint64 `json:"events"`
	First   string `json:"first_event_time"`
	Last    string `json:"last_event_time"`
}

func newAccountsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "accounts",
		Short: "Show every account with events: count, shard and time span",
		Long: `accounts asks the leader of every shard for the accounts it stores and
prints, per account, its shard, its number of events and its earliest and
latest eventTime. It fails, naming the shard, when a shard cannot answer.`,
		Args: cobra.NoArgs,
		RunE: action(func(ctx context.Context, _ []string) error {
			c := g.newClient()
			defer c.Close()
			var resp *cairnv1.AccountsResponse
			err := c.cluster(ctx, "accounts", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
				var err error
				resp, err = cc.Accounts(ctx, &cairnv1.AccountsRequest{})
				return err
			})
			if err != nil {
				return err
			}
			out := accountsFromProto(resp)
			return g.print(out, out.table)
		}),
	}
}

func accountsFromProto(resp *cairnv1.AccountsResponse) accountsOutput {
	out := accountsOutput{Accounts: []accountOutput{}, ShardsAsked: resp.GetShardsAsked(), ElapsedMS: resp.GetElapsedMs()}
	for _, a := range resp.GetAccounts() {
		out.Accounts = append(out.Accounts, accountOutput{
			Account: a.GetAccount(),
			Shard:   a.GetShard(),
			Events:  a.GetEvents(),
			First:   time.Unix(0, a.GetFirstEventTimeUnixNano()).UTC().Format(time.RFC3339),
			Last:    time.Unix(0, a.GetLastEventTimeUnixNano()).UTC().Format(time.RFC3339),
		})
	}
	return out
}

func (o accountsOutput) table(w io.Writer) {
	tw := newTable(w)
	row(tw, "ACCOUNT", "SHARD", "EVENTS", "FIRST", "LAST")
	var events uint64
	for _, a := range o.Accounts {
		row(tw, a.Account, a.Shard, a.Events, a.First, a.Last)
		events += a.Events
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%s with %s, from %s in %d ms\n",
		plural(len(o.Accounts), "account"), plural(int(events), "event"), plural(int(o.ShardsAsked), "shard"), o.ElapsedMS)
}
