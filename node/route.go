package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// leaderTrailer carries the shard leader a follower knows of, so that the
// caller's next attempt goes straight there.
const leaderTrailer = "cairn-leader"

// writeTimeout bounds how long one shard write keeps retrying through
// elections and forwarding before its events are reported FAILED.
const writeTimeout = 20 * time.Second

// writeAttemptTimeout bounds one forwarded attempt of a shard write. A
// leader that vanished without resetting the connection (partitioned,
// paused) would otherwise hold the write for all of writeTimeout, while its
// followers elect another leader within seconds. An attempt cut short may
// have committed; the retry then comes back DUPLICATE.
const writeAttemptTimeout = 5 * time.Second

// leaderCache remembers the last known leader of every shard.
type leaderCache struct {
	mu sync.Mutex
	m  map[uint32]string
}

func (c *leaderCache) get(shard uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[shard]
}

func (c *leaderCache) set(shard uint32, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint32]string{}
	}
	c.m[shard] = id
}

// writeShard stores events on their shard wherever its leader is: locally,
// or forwarded over gRPC. It retries through leader changes until the events
// are committed or writeTimeout passes. Retrying is safe even when an
// attempt's outcome is unknown, because apply deduplicates on eventID.
func (n *Node) writeShard(ctx context.Context, shardID uint32, events []*cairnv1.Event) ([]cairnv1.EventStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return onLeader(n, ctx, shardID,
		func() ([]cairnv1.EventStatus, error) {
			s := n.shard(shardID)
			if s == nil {
				return nil, ErrNotHosted
			}
			return s.write(ctx, events)
		},
		func(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) ([]cairnv1.EventStatus, error) {
			ctx, cancel := context.WithTimeout(ctx, writeAttemptTimeout)
			defer cancel()
			resp, err := cairnv1.NewClusterServiceClient(conn).Write(ctx, &cairnv1.WriteRequest{Shard: shardID, Events: events}, opts...)
			if err != nil {
				return nil, err
			}
			if len(resp.Results) != len(events) {
				return nil, fmt.Errorf("the leader of shard %d answered %d results for %d events", shardID, len(resp.Results), len(events))
			}
			st := make([]cairnv1.EventStatus, len(resp.Results))
			for i, r := range resp.Results {
				st[i] = r.Status
			}
			return st, nil
		})
}

// onLeader runs one call on a shard's leader, wherever it is, following
// leader hints through elections (onShardLeader): local runs it here when
// this node leads the shard; remote calls the leader over conn with opts,
// which collect the leader hint a follower puts in its trailer.
func onLeader[T any](n *Node, ctx context.Context, shard uint32, local func() (T, error),
	remote func(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) (T, error)) (T, error) {
	var out T
	err := n.onShardLeader(ctx, shard, func(target string) (string, error) {
		if target == n.cfg.ID {
			r, err := local()
			if err != nil {
				return leaderHint(err), err
			}
			out = r
			return "", nil
		}
		conn, err := n.nodeConn(target)
		if err != nil {
			return "", err
		}
		var trailer metadata.MD
		r, err := remote(ctx, conn, grpc.Trailer(&trailer))
		if err != nil {
			return trailerHint(trailer), err
		}
		out = r
		return "", nil
	})
	return out, err
}

// onShardLeader runs call against the shard's leader, wherever it is. call
// gets the node id to try (this node or a peer) and returns, with its error,
// the leader that node named, if any. onShardLeader follows such hints at
// once, otherwise backs off and tries the next guess, until call succeeds or
// ctx ends.
func (n *Node) onShardLeader(ctx context.Context, shardID uint32, call func(target string) (hint string, err error)) error {
	backoff := 20 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		target := n.shardLeaderGuess(shardID, attempt)
		hint, err := "", fmt.Errorf("shard %d: %w", shardID, ErrNoLeader)
		if target != "" {
			hint, err = call(target)
		}
		if err == nil {
			n.leaders.set(shardID, target)
			return nil
		}
		lastErr = err
		if hint != "" && hint != target {
			n.leaders.set(shardID, hint)
			continue
		}
		n.leaders.set(shardID, "")
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard %d: %w (last error: %v)", shardID, ctx.Err(), lastErr)
		case <-n.ctx.Done():
			return ErrShuttingDown
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// leaderHint returns the leader named by a local ErrNotLeader, or "".
func leaderHint(err error) string {
	var nl *notLeaderError
	if errors.As(err, &nl) {
		return nl.leader
	}
	return ""
}

// trailerHint returns the leader a peer named in its cairn-leader trailer.
func trailerHint(md metadata.MD) string {
	if v := md.Get(leaderTrailer); len(v) > 0 {
		return v[0]
	}
	return ""
}

// setLeaderTrailer names the known leader in the trailer of a call that
// failed with ErrNotLeader.
func setLeaderTrailer(ctx context.Context, err error) {
	if hint := leaderHint(err); hint != "" {
		grpc.SetTrailer(ctx, metadata.Pairs(leaderTrailer, hint))
	}
}

// shardLeaderGuess picks where to send a shard write: the leader known
// locally or cached, else the replicas in turn.
func (n *Node) shardLeaderGuess(shardID uint32, attempt int) string {
	if s := n.shard(shardID); s != nil {
		if l := s.group.leader(); l != "" {
			return l
		}
	}
	if l := n.leaders.get(shardID); l != "" {
		return l
	}
	guess := ""
	n.metaFSM.view(func(st *cairnv1.MetaState) {
		if p := shardPlacement(st, shardID); p != nil && len(p.Replicas) > 0 {
			guess = p.Replicas[attempt%len(p.Replicas)]
		}
	})
	return guess
}

// serveWrite is the Write RPC: this node must lead the shard.
func (n *Node) serveWrite(ctx context.Context, req *cairnv1.WriteRequest) (*cairnv1.WriteResponse, error) {
	s := n.shard(req.Shard)
	if s == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "shard %d: %v", req.Shard, ErrNotHosted)
	}
	st, err := s.write(ctx, req.Events)
	if err != nil {
		setLeaderTrailer(ctx, err)
		return nil, toStatus(err)
	}
	resp := &cairnv1.WriteResponse{Results: make([]*cairnv1.EventResult, len(st))}
	for i, s := range st {
		resp.Results[i] = &cairnv1.EventResult{Status: s, EventId: req.Events[i].EventId}
	}
	return resp, nil
}
