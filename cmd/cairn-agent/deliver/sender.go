// Package deliver sends batches of raw CloudTrail records to a Cairn cluster
// over one long-lived IngestService.Ingest stream.
//
// Every batch goes out with a sequence number; the cluster answers each
// sequence number once, in any order, with one result per event. At most
// Config.Window batches are unresolved at any time, which bounds both the
// memory the Sender holds and the work in flight on the cluster
// (backpressure: the Sender stops taking batches until one resolves).
// Events the cluster answers FAILED are re-sent after a backoff, a bounded
// number of times. When the stream breaks, the Sender reconnects to the next
// server of its list and re-sends every batch that was not answered; the
// cluster deduplicates on eventID, so re-sending is always safe.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Batch is a group of raw records delivered together. The Sender does not
// modify it; the caller must not modify it until OnDone was called for it.
type Batch struct {
	// ID is the caller's; the Sender does not look at it.
	ID     uint64
	Events [][]byte
}

// Result counts the final outcome of a batch's events.
type Result struct {
	Stored, Duplicate, Rejected, Failed int
}

// Rejection is one event the cluster refused for good.
type Rejection struct {
	EventID string // as the cluster read it; may be empty
	Reason  string
	Record  []byte
}

// Config configures a Sender. Zero fields take the defaults shown.
type Config struct {
	// Servers are tried in order, wrapping around; at least one is needed.
	Servers []string
	// Window is the most batches unresolved at once (8).
	Window int
	// MaxAttempts is how many times an event answered FAILED is sent before
	// it counts as failed (10: with the default RetryBackoff, about 25 s of
	// re-sends, enough to ride out an election or a node's restart).
	// Re-sends after a broken stream do not count.
	MaxAttempts int
	// RetryBackoff spaces the re-sends of FAILED events (200ms to 5s).
	RetryBackoff Backoff
	// ReconnectBackoff spaces connection attempts (100ms to 5s).
	ReconnectBackoff Backoff
	// ConnectTimeout bounds one connection attempt (3s).
	ConnectTimeout time.Duration
	// GiveUpAfter ends Run with an error when, for this long, the Sender has
	// been unable to connect or its streams kept breaking before any answer
	// (30s).
	GiveUpAfter time.Duration
	// Token authenticates every stream (gRPC metadata "authorization:
	// Bearer <token>"); empty sends none.
	Token string
	// DialOptions are added to the Sender's own (insecure transport
	// credentials); later options win.
	DialOptions []grpc.DialOption

	// Callbacks run on the goroutine that called Run, one at a time; they
	// must not block for long.

	// OnRejected is called for every rejected event.
	OnRejected func(Rejection)
	// OnDone is called once per batch, when each of its events is stored,
	// duplicate, rejected or finally failed. It is not called for the
	// batches still unresolved when Run returns an error.
	OnDone func(*Batch, Result)
	// Warn receives connection problems, as one human-readable line each.
	Warn func(msg string)
}

func (c *Config) setDefaults() {
	if c.Window <= 0 {
		c.Window = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.RetryBackoff == (Backoff{}) {
		c.RetryBackoff = Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.ReconnectBackoff == (Backoff{}) {
		c.ReconnectBackoff = Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 3 * time.Second
	}
	if c.GiveUpAfter <= 0 {
		c.GiveUpAfter = 30 * time.Second
	}
	if c.OnRejected == nil {
		c.OnRejected = func(Rejection) {}
	}
	if c.OnDone == nil {
		c.OnDone = func(*Batch, Result) {}
	}
	if c.Warn == nil {
		c.Warn = func(string) {}
	}
}

// Stats counts events. Sent counts each event once, however often it was
// re-sent; Resent counts the extra sends.
type Stats struct {
	Sent, Stored, Duplicate, Rejected, Failed, Resent int64
}

// Resolved is the number of events with a final outcome.
func (s Stats) Resolved() int64 { return s.Stored + s.Duplicate + s.Rejected + s.Failed }

// Sender delivers batches; see the package documentation. Run may be called
// once; Stats may be called at any time from any goroutine.
type Sender struct {
	cfg Config

	sent, stored, duplicate, rejected, failed, resent atomic.Int64

	// The fields below belong to the goroutine running Run.
	nextServer  int
	seq         uint64
	sess        *session
	inflight    map[uint64]*send // on the current stream, by seq
	ready       []*send          // to send as soon as there is a stream
	delayed     []*send          // FAILED events waiting for their backoff
	unresolved  int              // batches taken but not done: at most Window
	outageSince time.Time        // when delivery last stopped working; zero while it works
}

// pendingBatch is a taken batch and what is known of its events.
type pendingBatch struct {
	b    *Batch
	left int // events without a final outcome
	res  Result
}

// send is one IngestRequest's worth of events of one batch: all of them at
// first, then the ones answered FAILED. A batch has at most one send at a
// time, so Window bounds the requests in flight too.
type send struct {
	pb      *pendingBatch
	idx     []int // indexes into pb.b.Events
	attempt int   // 1 for the first send of these events
	first   bool  // not yet transmitted at all
	readyAt time.Time
}

// New returns a Sender for cfg.
func New(cfg Config) *Sender {
	cfg.setDefaults()
	return &Sender{cfg: cfg, inflight: make(map[uint64]*send)}
}

// Stats returns the current counts.
func (s *Sender) Stats() Stats {
	return Stats{
		Sent:      s.sent.Load(),
		Stored:    s.stored.Load(),
		Duplicate: s.duplicate.Load(),
		Rejected:  s.rejected.Load(),
		Failed:    s.failed.Load(),
		Resent:    s.resent.Load(),
	}
}

// Errors returned by Run.
var (
	// ErrNoServers: Config.Servers is empty.
	ErrNoServers = errors.New("no servers given")
	// ErrUnreachable: no server could be reached for Config.GiveUpAfter.
	ErrUnreachable = errors.New("cannot reach any server")
)

// Run delivers the batches received from in until in is closed and every
// taken batch is done, then returns nil. It returns an error when ctx ends,
// when no server could be reached for Config.GiveUpAfter, or when a server
// refuses the stream for good (unauthenticated, unimplemented); the events
// then sent but without an outcome are counted as failed.
func (s *Sender) Run(ctx context.Context, in <-chan *Batch) (err error) {
	if len(s.cfg.Servers) == 0 {
		return ErrNoServers
	}
	defer func() {
		s.closeSession()
		if err != nil {
			s.failUnresolved()
		}
	}()
	inOpen := true
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for inOpen || s.unresolved > 0 {
		if s.sess == nil && (len(s.ready) > 0 || len(s.inflight) > 0) {
			if err := s.connect(ctx); err != nil {
				return err
			}
		}
		if s.sess != nil && len(s.ready) > 0 {
			if err := s.transmit(s.ready[0]); err != nil {
				if err := s.broken(err); err != nil {
					return err
				}
				continue
			}
			s.ready = s.ready[1:]
			continue
		}

		var takeC <-chan *Batch
		if inOpen && s.unresolved < s.cfg.Window {
			takeC = in
		}
		var recvC <-chan recvMsg
		if s.sess != nil {
			recvC = s.sess.recv
		}
		var timerC <-chan time.Time
		if len(s.delayed) > 0 {
			timer.Reset(time.Until(s.delayed[0].readyAt))
			timerC = timer.C
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case b, ok := <-takeC:
			if !ok {
				inOpen = false
				continue
			}
			s.take(b)
		case m := <-recvC:
			if m.err != nil {
				if fatal(m.err) {
					return fmt.Errorf("server %s refused the stream: %s", s.sess.addr, status.Convert(m.err).Message())
				}
				if err := s.broken(m.err); err != nil {
					return err
				}
				continue
			}
			s.handle(m.resp)
		case now := <-timerC:
			for len(s.delayed) > 0 && !s.delayed[0].readyAt.After(now) {
				s.ready = append(s.ready, s.delayed[0])
				s.delayed = s.delayed[1:]
			}
		}
	}
	return nil
}

// take accepts a new batch.
func (s *Sender) take(b *Batch) {
	pb := &pendingBatch{b: b, left: len(b.Events)}
	if pb.left == 0 {
		s.cfg.OnDone(b, Result{})
		return
	}
	s.unresolved++
	idx := make([]int, len(b.Events))
	for i := range idx {
		idx[i] = i
	}
	s.ready = append(s.ready, &send{pb: pb, idx: idx, attempt: 1, first: true})
}

// transmit puts one send on the current stream under a new sequence number.
func (s *Sender) transmit(sd *send) error {
	s.seq++
	req := &cairnv1.IngestRequest{Seq: s.seq, Events: make([][]byte, len(sd.idx))}
	for i, j := range sd.idx {
		req.Events[i] = sd.pb.b.Events[j]
	}
	if err := s.sess.stream.Send(req); err != nil {
		return err
	}
	if sd.first {
		s.sent.Add(int64(len(sd.idx)))
		sd.first = false
	} else {
		s.resent.Add(int64(len(sd.idx)))
	}
	s.inflight[s.seq] = sd
	return nil
}

// handle applies the server's answer for one send.
func (s *Sender) handle(resp *cairnv1.IngestResponse) {
	sd, ok := s.inflight[resp.GetSeq()]
	if !ok {
		s.cfg.Warn(fmt.Sprintf("server %s answered unknown batch %d; ignored", s.sess.addr, resp.GetSeq()))
		return
	}
	delete(s.inflight, resp.GetSeq())
	s.outageSince = time.Time{}

	results := resp.GetResults()
	if len(results) != len(sd.idx) {
		reason := fmt.Sprintf("server %s answered %d results for %d events", s.sess.addr, len(results), len(sd.idx))
		results = make([]*cairnv1.EventResult, len(sd.idx))
		for i := range results {
			results[i] = &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_FAILED, Reason: reason}
		}
	}
	pb := sd.pb
	var retry []int
	var failReason string
	for i, r := range results {
		j := sd.idx[i]
		switch r.GetStatus() {
		case cairnv1.EventStatus_EVENT_STATUS_STORED:
			pb.res.Stored++
			s.stored.Add(1)
		case cairnv1.EventStatus_EVENT_STATUS_DUPLICATE:
			pb.res.Duplicate++
			s.duplicate.Add(1)
		case cairnv1.EventStatus_EVENT_STATUS_REJECTED:
			pb.res.Rejected++
			s.rejected.Add(1)
			s.cfg.OnRejected(Rejection{EventID: r.GetEventId(), Reason: r.GetReason(), Record: pb.b.Events[j]})
		default: // FAILED, or a status this agent does not know: try again
			retry = append(retry, j)
			failReason = r.GetReason()
			continue
		}
		pb.left--
	}
	if len(retry) > 0 {
		if sd.attempt >= s.cfg.MaxAttempts {
			pb.res.Failed += len(retry)
			pb.left -= len(retry)
			s.failed.Add(int64(len(retry)))
			s.cfg.Warn(fmt.Sprintf("giving up on %d events after %d attempts: %s", len(retry), sd.attempt, failReason))
		} else {
			s.delayed = append(s.delayed, &send{
				pb:      pb,
				idx:     retry,
				attempt: sd.attempt + 1,
				readyAt: time.Now().Add(s.cfg.RetryBackoff.Delay(sd.attempt - 1)),
			})
			slices.SortStableFunc(s.delayed, func(a, b *send) int { return a.readyAt.Compare(b.readyAt) })
		}
	}
	if pb.left == 0 {
		s.unresolved--
		s.cfg.OnDone(pb.b, pb.res)
	}
}

// broken ends the current stream; everything it had in flight is sent again,
// in its original order, ahead of anything newer. It returns an error when
// streams keep breaking without any answer for Config.GiveUpAfter.
func (s *Sender) broken(err error) error {
	addr := s.sess.addr
	s.closeSession()
	seqs := make([]uint64, 0, len(s.inflight))
	for seq := range s.inflight {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	resend := make([]*send, 0, len(seqs)+len(s.ready))
	for _, seq := range seqs {
		resend = append(resend, s.inflight[seq])
		delete(s.inflight, seq)
	}
	s.ready = append(resend, s.ready...)
	if len(s.ready) == 0 {
		// Nothing was waiting for this stream (an idle stream the server
		// closed): reconnect when there is work, with a fresh outage clock.
		s.cfg.Warn(fmt.Sprintf("stream to %s closed: %s", addr, describe(err)))
		return nil
	}
	if s.outageSince.IsZero() {
		s.outageSince = time.Now()
	} else if time.Since(s.outageSince) >= s.cfg.GiveUpAfter {
		return fmt.Errorf("no server answered for %s; last error: stream to %s broken: %s",
			s.cfg.GiveUpAfter.Round(time.Second), addr, describe(err))
	}
	s.cfg.Warn(fmt.Sprintf("stream to %s broken: %s; reconnecting", addr, describe(err)))
	return nil
}

// connect opens a stream to the next server that answers, waiting between
// attempts, until Config.GiveUpAfter passed without any server answering.
func (s *Sender) connect(ctx context.Context) error {
	var lastWarn time.Time
	for attempt := 0; ; attempt++ {
		addr := s.cfg.Servers[s.nextServer%len(s.cfg.Servers)]
		s.nextServer++
		sess, err := openSession(ctx, addr, s.cfg)
		if err == nil {
			s.sess = sess
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.outageSince.IsZero() {
			s.outageSince = time.Now()
		}
		if time.Since(s.outageSince) >= s.cfg.GiveUpAfter {
			return fmt.Errorf("%w (%s) for %s; last error: %s: %w",
				ErrUnreachable, strings.Join(s.cfg.Servers, ", "), s.cfg.GiveUpAfter.Round(time.Second), addr, err)
		}
		wait := s.cfg.ReconnectBackoff.Delay(attempt)
		if attempt == 0 || time.Since(lastWarn) >= 5*time.Second {
			s.cfg.Warn(fmt.Sprintf("cannot reach %s: %v; retrying", addr, err))
			lastWarn = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (s *Sender) closeSession() {
	if s.sess != nil {
		s.sess.close()
		s.sess = nil
	}
}

// failUnresolved counts every sent event without an outcome as failed.
// Events never sent are not counted.
func (s *Sender) failUnresolved() {
	var sends []*send
	for _, sd := range s.inflight {
		sends = append(sends, sd)
	}
	sends = append(sends, s.ready...)
	sends = append(sends, s.delayed...)
	for _, sd := range sends {
		if !sd.first {
			s.failed.Add(int64(len(sd.idx)))
		}
	}
	clear(s.inflight)
	s.ready, s.delayed = nil, nil
	s.unresolved = 0
}
