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
	var st []cairnv1.EventStatus
	err := n.onShardLeader(ctx, shardID, func(target string) (string, error) {
		if target != n.cfg.ID {
			var hint string
			var err error
			st, hint, err = n.forwardWrite(ctx, target, shardID, events)
			return hint, err
		}
		s := n.shard(shardID)
		if s == nil {
			return "", ErrNotHosted
		}
		var err error
		st, err = s.write(ctx, events)
		return leaderHint(err), err
	})
	return st, err
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

func (n *Node) forwardWrite(ctx context.Context, target string, shardID uint32, events []*cairnv1.Event) ([]cairnv1.EventStatus, string, error) {
	c, err := n.nodeClient(target)
	if err != nil {
		return nil, "", err
	}
	var trailer metadata.MD
	resp, err := c.Write(ctx, &cairnv1.WriteRequest{Shard: shardID, Events: events}, grpc.Trailer(&trailer))
	if err != nil {
		return nil, trailerHint(trailer), err
	}
	if len(resp.Results) != len(events) {
		return nil, "", fmt.Errorf("node %s answered %d results for %d events", target, len(resp.Results), len(events))
	}
	st := make([]cairnv1.EventStatus, len(resp.Results))
	for i, r := range resp.Results {
		st[i] = r.Status
	}
	return st, "", nil
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
