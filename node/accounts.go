package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// accounts scatters ShardAccounts to the leader of every shard and merges the
// answers. Each shard writes into its own slot; the first real failure
// cancels the rest, and the call fails naming the shard: never a silent
// subset.
func (n *Node) accounts(ctx context.Context) (*cairnv1.AccountsResponse, error) {
	start := time.Now()
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return nil, ErrNotInitialized
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	slots := make([][]*cairnv1.AccountSummary, st.Shards)
	errs := make([]error, st.Shards)
	var wg sync.WaitGroup
	for shard := range st.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots[shard], errs[shard] = n.shardAccountsOnLeader(ctx, shard)
			if errs[shard] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for shard, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("shard %d cannot answer: %w", shard, err)
		}
	}
	for shard, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("shard %d cannot answer: %w", shard, err)
		}
	}
	resp := &cairnv1.AccountsResponse{ShardsAsked: st.Shards}
	for _, s := range slots {
		resp.Accounts = append(resp.Accounts, s...)
	}
	sort.Slice(resp.Accounts, func(i, j int) bool { return resp.Accounts[i].Account < resp.Accounts[j].Account })
	resp.ElapsedMs = time.Since(start).Milliseconds()
	return resp, nil
}

// shardAccountsOnLeader asks the shard's leader, wherever it is.
func (n *Node) shardAccountsOnLeader(ctx context.Context, shard uint32) ([]*cairnv1.AccountSummary, error) {
	return onLeader(n, ctx, shard,
		func() ([]*cairnv1.AccountSummary, error) { return n.localShardAccounts(shard) },
		func(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) ([]*cairnv1.AccountSummary, error) {
			resp, err := cairnv1.NewClusterServiceClient(conn).ShardAccounts(ctx, &cairnv1.ShardAccountsRequest{Shard: shard}, opts...)
			return resp.GetAccounts(), err
		})
}

// localShardAccounts answers for a shard this node leads, once every write
// acknowledged before the call is applied.
func (n *Node) localShardAccounts(shard uint32) ([]*cairnv1.AccountSummary, error) {
	db, release, err := n.leaderDB(shard)
	if err != nil {
		return nil, err
	}
	defer release()
	stats, err := db.Accounts()
	if err != nil {
		return nil, err
	}
	out := make([]*cairnv1.AccountSummary, len(stats))
	for i, a := range stats {
		out[i] = &cairnv1.AccountSummary{Account: a.Account, Shard: shard, Events: a.Events,
			FirstEventTimeUnixNano: a.First, LastEventTimeUnixNano: a.Last}
	}
	return out, nil
}
