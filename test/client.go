package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// dial returns a client connection to a node's gRPC address; the caller
// closes it.
func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
}

// IngestResult counts what the cluster answered for a set of events.
type IngestResult struct {
	// Acked maps eventID → the final acknowledged status (stored or duplicate).
	Acked    map[string]cairnv1.EventStatus
	Stored   int
	Dup      int
	Rejected map[string]string // eventID (or "#index") → reason
	Attempts int               // batches sent, resends included
}

// Ingest streams events to addr in batches of batchSize with up to window
// batches in flight, and re-sends events answered FAILED (as an agent does)
// until every event is acknowledged or rejected, or ctx ends.
func Ingest(ctx context.Context, addr string, events [][]byte, batchSize, window int) (*IngestResult, error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res := &IngestResult{Acked: map[string]cairnv1.EventStatus{}, Rejected: map[string]string{}}
	pending := make([]int, len(events))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; len(pending) > 0; round++ {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("%d events not acknowledged: %w", len(pending), err)
		}
		if round > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		var retry []int
		retry, err = ingestOnce(ctx, conn, events, pending, batchSize, window, res)
		if err != nil && !isRetryable(err) {
			return res, err
		}
		pending = retry
	}
	return res, nil
}

// isRetryable tells the stream failures worth another stream: not a
// cancellation, nor a refused token.
func isRetryable(err error) bool {
	return !errors.Is(err, context.Canceled) && status.Code(err) != codes.Unauthenticated
}

// WithToken returns ctx carrying an ingest token, as an agent sends it: the
// metadata "authorization: Bearer <token>" of the streams it opens.
func WithToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// ingestOnce sends the pending events on one stream and returns the ones
// to send again (answered FAILED, or unanswered when the stream broke).
func ingestOnce(ctx context.Context, conn *grpc.ClientConn, events [][]byte, pending []int, batchSize, window int, res *IngestResult) ([]int, error) {
	stream, err := cairnv1.NewIngestServiceClient(conn).Ingest(ctx)
	if err != nil {
		return pending, err
	}
	var mu sync.Mutex
	inflight := map[uint64][]int{}
	var retry []int
	sem := make(chan struct{}, window)
	recvDone := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				recvDone <- err
				return
			}
			mu.Lock()
			idx := inflight[resp.Seq]
			delete(inflight, resp.Seq)
			for j, r := range resp.Results {
				i := idx[j]
				switch r.Status {
				case cairnv1.EventStatus_EVENT_STATUS_STORED, cairnv1.EventStatus_EVENT_STATUS_DUPLICATE:
					if _, seen := res.Acked[r.EventId]; !seen || r.Status == cairnv1.EventStatus_EVENT_STATUS_STORED {
						res.Acked[r.EventId] = r.Status
					}
					if r.Status == cairnv1.EventStatus_EVENT_STATUS_STORED {
						res.Stored++
					} else {
						res.Dup++
					}
				case cairnv1.EventStatus_EVENT_STATUS_REJECTED:
					key := r.EventId
					if key == "" {
						key = fmt.Sprintf("#%d", i)
					}
					res.Rejected[key] = r.Reason
				default:
					retry = append(retry, i)
				}
			}
			mu.Unlock()
			<-sem
		}
	}()
	var seq uint64
	var sendErr error
	for off := 0; off < len(pending) && sendErr == nil; off += batchSize {
		idx := pending[off:min(off+batchSize, len(pending))]
		req := &cairnv1.IngestRequest{Seq: seq}
		for _, i := range idx {
			req.Events = append(req.Events, events[i])
		}
		select {
		case sem <- struct{}{}:
		case err := <-recvDone:
			recvDone <- err
			sendErr = fmt.Errorf("stream closed: %w", err)
			continue
		}
		mu.Lock()
		inflight[seq] = idx
		res.Attempts++
		mu.Unlock()
		seq++
		if err := stream.Send(req); err != nil {
			sendErr = err
		}
	}
	stream.CloseSend()
	rerr := <-recvDone
	mu.Lock()
	defer mu.Unlock()
	for _, idx := range inflight { // unanswered: outcome unknown, send again
		retry = append(retry, idx...)
	}
	sort.Ints(retry)
	if status.Code(rerr) == codes.Unauthenticated {
		return retry, rerr // why the stream ended, whatever Send saw
	}
	if sendErr != nil {
		return retry, sendErr
	}
	return retry, rerr
}

// ReplicaState is what one replica of a shard reports.
type ReplicaState struct {
	Node    string
	Applied uint64
	Events  uint64
	Digest  []byte
}

// Converged waits until, for every shard, all replicas report the same
// applied index and digest; it returns the per-shard replica states. It uses
// only gRPC, so it serves in-process and multi-process tests alike.
func Converged(ctx context.Context, addrs map[string]string, status func() (*cairnv1.StatusResponse, error)) (map[uint32][]ReplicaState, error) {
	var lastErr error
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("replicas did not converge: %v", lastErr)
		}
		st, err := status()
		if err != nil {
			lastErr = err
			time.Sleep(200 * time.Millisecond)
			continue
		}
		out, err := replicaStates(ctx, addrs, st)
		if err == nil {
			return out, nil
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
}

func replicaStates(ctx context.Context, addrs map[string]string, st *cairnv1.StatusResponse) (map[uint32][]ReplicaState, error) {
	out := map[uint32][]ReplicaState{}
	for _, sh := range st.Shards {
		if sh.Leader == "" {
			return nil, fmt.Errorf("shard %d has no leader", sh.Id)
		}
		if _, err := digest(ctx, addrs[sh.Leader], sh.Id, true); err != nil {
			return nil, fmt.Errorf("shard %d barrier on %s: %v", sh.Id, sh.Leader, err)
		}
		for _, r := range sh.Replicas {
			d, err := digest(ctx, addrs[r], sh.Id, false)
			if err != nil {
				return nil, fmt.Errorf("shard %d on %s: %v", sh.Id, r, err)
			}
			out[sh.Id] = append(out[sh.Id], ReplicaState{Node: r, Applied: d.AppliedIndex, Events: d.Events, Digest: d.Digest})
		}
		first := out[sh.Id][0]
		for _, rs := range out[sh.Id][1:] {
			if rs.Applied != first.Applied {
				return nil, fmt.Errorf("shard %d: %s applied %d, %s applied %d", sh.Id, first.Node, first.Applied, rs.Node, rs.Applied)
			}
			if !bytes.Equal(rs.Digest, first.Digest) {
				return nil, fmt.Errorf("shard %d: digests differ at applied index %d between %s and %s", sh.Id, first.Applied, first.Node, rs.Node)
			}
		}
	}
	return out, nil
}

func digest(ctx context.Context, addr string, shard uint32, barrier bool) (*cairnv1.ShardDigestResponse, error) {
	if addr == "" {
		return nil, errors.New("no address")
	}
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return cairnv1.NewClusterServiceClient(conn).ShardDigest(cctx, &cairnv1.ShardDigestRequest{Shard: shard, Barrier: barrier})
}

// EventIDs returns how many times each eventID is stored on the replica of
// shard held by the node at addr, leaving out Cairn's own audit events.
func EventIDs(ctx context.Context, addr string, shard uint32) (map[string]int, error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stream, err := cairnv1.NewClusterServiceClient(conn).ShardEventIDs(ctx, &cairnv1.ShardEventIDsRequest{Shard: shard})
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		for _, k := range resp.Keys {
			if k.Account == "cairn" {
				continue // Cairn's own audit events, of the tests' admin calls
			}
			ids[k.EventId]++
		}
	}
}
