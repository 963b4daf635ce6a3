package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

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
	var accounts []*cairnv1.AccountSummary
	err := n.onShardLeader(ctx, shard, func(target string) (string, error) {
		var err error
		if target == n.cfg.ID {
			accounts, err = n.localShardAccounts(shard)
			return leaderHint(err), err
		}
		c, err := n.nodeClient(target)
		if err != nil {
			return "", err
		}
		var trailer metadata.MD
		resp, err := c.ShardAccounts(ctx, &cairnv1.ShardAccountsRequest{Shard: shard}, grpc.Trailer(&trailer))
		if err != nil {
			return trailerHint(trailer), err
		}
		accounts = resp.Accounts
		return "", nil
	})
	return accounts, err
}

// localShardAccounts answers for a shard this node leads, after a barrier so
// that every write acknowledged before the call is counted.
func (n *Node) localShardAccounts(shard uint32) ([]*cairnv1.AccountSummary, error) {
	s := n.shard(shard)
	if s == nil {
		return nil, fmt.Errorf("shard %d: %w", shard, ErrNotHosted)
	}
	if !s.group.isLeader() {
		return nil, s.group.notLeader()
	}
	if err := s.group.raft.Barrier(10 * time.Second).Error(); err != nil {
		return nil, fmt.Errorf("shard %d barrier: %w", shard, err)
	}
	db, release := s.fsm.DB()
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
