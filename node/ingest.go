package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
	"github.com/cairn-lake/cairn/storage/event"
)

// maxBatchesPerStream bounds the batches of one stream being processed at
// once; the stream's reader waits beyond that (backpressure to the agent).
const maxBatchesPerStream = 32

// maxEventsPerBatch bounds one IngestRequest.
const maxEventsPerBatch = 10000

type ingestService struct {
	cairnv1.UnimplementedIngestServiceServer
	n *Node
}

// Ingest reads batches, processes up to maxBatchesPerStream concurrently and
// answers each with one result per event once its events are committed and
// applied. A bad event only fails itself. The stream's token is checked when
// it opens and again before every batch; a batch already accepted is still
// answered when the token is revoked, then the stream ends Unauthenticated.
func (s *ingestService) Ingest(stream cairnv1.IngestService_IngestServer) error {
	ctx := stream.Context()
	cred, err := s.n.authenticate(ctx)
	if err != nil {
		s.n.log.Info("ingest stream refused", "peer", peerAddr(ctx), "err", err)
		return toStatus(err)
	}
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxBatchesPerStream)
	sendErr := make(chan error, 1)
	defer wg.Wait()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(req.Events) > maxEventsPerBatch {
			return status.Errorf(codes.InvalidArgument, "batch %d has %d events; the limit is %d", req.Seq, len(req.Events), maxEventsPerBatch)
		}
		var scope *tokenScope // nil: an anonymous stream writes any account
		if cred != nil {
			if scope, _, err = s.n.authorize(cred); err != nil {
				s.n.log.Info("ingest stream stopped", "peer", peerAddr(ctx), "token", cred.id, "err", err)
				return toStatus(err)
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case err := <-sendErr:
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp := s.n.ingestBatch(ctx, req, scope)
			sendMu.Lock()
			err := stream.Send(resp)
			sendMu.Unlock()
			if err != nil {
				select {
				case sendErr <- err:
				default:
				}
			}
		}()
	}
}

// ingestBatch validates, routes and stores one batch. An event of an account
// outside scope is rejected; a nil scope allows every account.
func (n *Node) ingestBatch(ctx context.Context, req *cairnv1.IngestRequest, scope *tokenScope) *cairnv1.IngestResponse {
	now := time.Now()
	results := make([]*cairnv1.EventResult, len(req.Events))
	type part struct {
		idx    []int
		events []*cairnv1.Event
	}
	parts := map[uint32]*part{}
	var shards uint32
	n.metaFSM.view(func(st *cairnv1.MetaState) { shards = st.Shards })
	retention := n.retentionAt(now)
	for i, raw := range req.Events {
		ev, err := event.Parse(raw, now)
		if err != nil {
			r := &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_REJECTED, Reason: err.Error()}
			var rej *event.RejectError
			if errors.As(err, &rej) {
				r.EventId = rej.EventID
			}
			results[i] = r
			continue
		}
		if err := storage.ValidateEvent(ev); err != nil {
			results[i] = &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_REJECTED, EventId: ev.EventId, Reason: err.Error()}
			continue
		}
		if scope != nil && !scope.allows(ev.Account) {
			results[i] = &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_REJECTED, EventId: ev.EventId, Reason: scope.outside(ev.Account)}
			continue
		}
		if retention.Expired(ev.Account, ev.EventCategory, ev.EventTimeUnixNano) {
			results[i] = &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_REJECTED, EventId: ev.EventId,
				Reason: expiredReason(retention, ev)}
			continue
		}
		results[i] = &cairnv1.EventResult{EventId: ev.EventId}
		if shards == 0 {
			results[i].Status = cairnv1.EventStatus_EVENT_STATUS_FAILED
			results[i].Reason = ErrNotInitialized.Error()
			continue
		}
		sh := ShardFor(ev.Account, shards)
		p := parts[sh]
		if p == nil {
			p = &part{}
			parts[sh] = p
		}
		p.idx = append(p.idx, i)
		p.events = append(p.events, ev)
	}
	var wg sync.WaitGroup
	for sh, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses, err := n.writeShard(ctx, sh, p.events)
			for j, i := range p.idx {
				if err != nil {
					results[i].Status = cairnv1.EventStatus_EVENT_STATUS_FAILED
					results[i].Reason = err.Error()
					continue
				}
				results[i].Status = statuses[j]
			}
		}()
	}
	wg.Wait()
	n.metrics.countResults(results)
	return &cairnv1.IngestResponse{Seq: req.Seq, Results: results}
}

// peerAddr is the remote address of a call, for logs.
func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// expiredReason is the rejection of an event that its retention policy has
// already expired.
func expiredReason(r *storage.Retention, ev *cairnv1.Event) string {
	days := uint32(storage.DefaultRetentionDays)
	if p := r.Effective(ev.Account, ev.EventCategory); p != nil {
		days = p.Days
	}
	return fmt.Sprintf("expired by retention policy (account %s, %d days)", ev.Account, days)
}
