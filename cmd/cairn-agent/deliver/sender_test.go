package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// These tests run the Sender against an in-process IngestService double on
// 127.0.0.1:0. The double stands in for the cluster only as far as the wire
// contract goes (one response per seq, one result per event, dedup on
// eventID); they test the agent's windowing, retry and reconnect logic.

// ingestFunc is the body of a double's Ingest handler.
type ingestFunc func(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error

type fakeIngest struct {
	cairnv1.UnimplementedIngestServiceServer
	handle ingestFunc
}

func (f *fakeIngest) Ingest(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
	return f.handle(stream)
}

// startServer serves handle on a fresh port and returns its address.
func startServer(t *testing.T, handle ingestFunc) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cairnv1.RegisterIngestServiceServer(srv, &fakeIngest{handle: handle})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// deadAddr returns an address on which nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

// store is the double's shared event store, deduplicating on eventID, and a
// log of how often each event was received.
type store struct {
	mu     sync.Mutex
	stored map[string]bool
	seen   map[string]int
}

func newStore() *store { return &store{stored: map[string]bool{}, seen: map[string]int{}} }

// result stores ev and answers with the status the test event asks for:
// IDs containing "rej" are rejected, "dup" answer duplicate, and the
// failFirst function decides how many sends of an event answer FAILED.
func (s *store) result(ev []byte, failFirst func(id string) int) *cairnv1.EventResult {
	var rec struct {
		EventID string `json:"eventID"`
	}
	if err := json.Unmarshal(ev, &rec); err != nil {
		return &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_REJECTED, Reason: "not JSON"}
	}
	id := rec.EventID
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[id]++
	switch {
	case failFirst != nil && s.seen[id] <= failFirst(id):
		return &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_FAILED, EventId: id, Reason: "no leader for shard 3"}
	case strings.Contains(id, "rej"):
		return &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_REJECTED, EventId: id, Reason: "eventTime is missing"}
	case strings.Contains(id, "dup") || s.stored[id]:
		s.stored[id] = true
		return &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_DUPLICATE, EventId: id}
	}
	s.stored[id] = true
	return &cairnv1.EventResult{Status: cairnv1.EventStatus_EVENT_STATUS_STORED, EventId: id}
}

func (s *store) seenCount(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

func (s *store) answer(req *cairnv1.IngestRequest, failFirst func(string) int) *cairnv1.IngestResponse {
	resp := &cairnv1.IngestResponse{Seq: req.GetSeq()}
	for _, ev := range req.GetEvents() {
		resp.Results = append(resp.Results, s.result(ev, failFirst))
	}
	return resp
}

// makeBatches returns n batches of size events each, with event IDs made
// by id(batch, event).
func makeBatches(n, size int, id func(b, e int) string) []*Batch {
	batches := make([]*Batch, n)
	for b := range batches {
		batches[b] = &Batch{}
		for e := range size {
			rec := fmt.Sprintf(`{"eventID":%q,"eventTime":"2026-03-01T10:00:00Z"}`, id(b, e))
			batches[b].Events = append(batches[b].Events, []byte(rec))
		}
	}
	return batches
}

func plainID(b, e int) string { return fmt.Sprintf("ev-%03d-%03d", b, e) }

// runSender delivers batches with cfg and returns the Sender, the batches'
// results in OnDone order, and Run's error.
func runSender(t *testing.T, cfg Config, batches []*Batch) (*Sender, map[*Batch]Result, error) {
	t.Helper()
	done := map[*Batch]Result{}
	cfg.OnDone = func(b *Batch, r Result) {
		if _, ok := done[b]; ok {
			t.Errorf("OnDone called twice for one batch")
		}
		done[b] = r
	}
	if cfg.RetryBackoff == (Backoff{}) {
		cfg.RetryBackoff = Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}
	}
	if cfg.ReconnectBackoff == (Backoff{}) {
		cfg.ReconnectBackoff = Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}
	}
	cfg.Warn = func(msg string) { t.Logf("warn: %s", msg) }
	s := New(cfg)
	in := make(chan *Batch)
	go func() {
		defer close(in)
		for _, b := range batches {
			in <- b
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.Run(ctx, in)
	return s, done, err
}

func assertStats(t *testing.T, got, want Stats) {
	t.Helper()
	if got != want {
		t.Fatalf("stats:\n got %+v\nwant %+v", got, want)
	}
}

// TestWindowAndOutOfOrder holds every batch until the agent stops sending,
// then answers the held batches newest first. The agent must never have more
// than Window batches unanswered, and must match each answer to its batch.
func TestWindowAndOutOfOrder(t *testing.T) {
	const window, nBatches, size = 3, 20, 5
	st := newStore()
	var mu sync.Mutex
	maxOutstanding, outstanding := 0, 0
	addr := startServer(t, func(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
		reqs := make(chan *cairnv1.IngestRequest)
		go func() {
			defer close(reqs)
			for {
				req, err := stream.Recv()
				if err != nil {
					return
				}
				reqs <- req
			}
		}()
		var held []*cairnv1.IngestRequest
		for {
			select {
			case req, ok := <-reqs:
				if !ok {
					return nil
				}
				held = append(held, req)
				mu.Lock()
				outstanding++
				maxOutstanding = max(maxOutstanding, outstanding)
				mu.Unlock()
			case <-time.After(30 * time.Millisecond): // the agent has stopped: answer, newest first
				for i := len(held) - 1; i >= 0; i-- {
					mu.Lock()
					outstanding--
					mu.Unlock()
					if err := stream.Send(st.answer(held[i], nil)); err != nil {
						return err
					}
				}
				held = nil
			}
		}
	})

	id := func(b, e int) string {
		switch (b*size + e) % 10 {
		case 3:
			return fmt.Sprintf("dup-%03d-%03d", b, e)
		case 7:
			return fmt.Sprintf("rej-%03d-%03d", b, e)
		}
		return plainID(b, e)
	}
	batches := makeBatches(nBatches, size, id)
	var rejected []Rejection
	s, done, err := runSender(t, Config{
		Servers:    []string{addr},
		Window:     window,
		OnRejected: func(r Rejection) { rejected = append(rejected, r) },
	}, batches)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	assertStats(t, s.Stats(), Stats{Sent: 100, Stored: 80, Duplicate: 10, Rejected: 10})
	if maxOutstanding != window {
		t.Fatalf("server saw up to %d unanswered batches, want exactly the window, %d", maxOutstanding, window)
	}
	if len(rejected) != 10 {
		t.Fatalf("OnRejected called %d times, want 10", len(rejected))
	}
	for _, r := range rejected {
		if !strings.HasPrefix(r.EventID, "rej-") || r.Reason != "eventTime is missing" ||
			!strings.Contains(string(r.Record), r.EventID) {
			t.Fatalf("rejection %+v (record %s) does not describe its own event", r, r.Record)
		}
	}
	if len(done) != nBatches {
		t.Fatalf("OnDone called for %d batches, want %d", len(done), nBatches)
	}
	for i, b := range batches {
		want := Result{Stored: size}
		for e := range size {
			switch (i*size + e) % 10 {
			case 3:
				want.Stored--
				want.Duplicate++
			case 7:
				want.Stored--
				want.Rejected++
			}
		}
		if done[b] != want {
			t.Fatalf("batch %d: result %+v, want %+v", i, done[b], want)
		}
	}
}

// TestRetryFailed answers FAILED for some events a few times, and for one
// event always: the first are re-sent until stored, the last counts as failed
// after exactly MaxAttempts sends.
func TestRetryFailed(t *testing.T) {
	const maxAttempts = 4
	st := newStore()
	failFirst := func(id string) int {
		switch {
		case id == "poison":
			return 1 << 30
		case strings.HasSuffix(id, "-000"), strings.HasSuffix(id, "-004"):
			return 2
		}
		return 0
	}
	addr := startServer(t, func(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
		for {
			req, err := stream.Recv()
			if err != nil {
				return nil
			}
			if err := stream.Send(st.answer(req, failFirst)); err != nil {
				return err
			}
		}
	})
	batches := makeBatches(10, 8, plainID)
	batches[6].Events[5] = []byte(`{"eventID":"poison"}`)
	s, done, err := runSender(t, Config{Servers: []string{addr}, Window: 4, MaxAttempts: maxAttempts}, batches)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// 20 flaky events are sent 3 times each; poison 4 times.
	assertStats(t, s.Stats(), Stats{Sent: 80, Stored: 79, Failed: 1, Resent: 20*2 + 3})
	if n := st.seenCount("poison"); n != maxAttempts {
		t.Fatalf("poison event sent %d times, want %d", n, maxAttempts)
	}
	if n := st.seenCount(plainID(3, 4)); n != 3 {
		t.Fatalf("flaky event sent %d times, want 3", n)
	}
	if n := st.seenCount(plainID(3, 5)); n != 1 {
		t.Fatalf("healthy event sent %d times, want 1", n)
	}
	if got, want := done[batches[6]], (Result{Stored: 7, Failed: 1}); got != want {
		t.Fatalf("batch with poison: %+v, want %+v", got, want)
	}
}

// TestReconnect drops the stream on the second server after answering two
// batches; the agent must skip the dead first server, move on to the third
// and re-send the four batches that were never answered. The second server
// had stored them (it commits before answering), so the third reports them
// as duplicates.
func TestReconnect(t *testing.T) {
	st := newStore()
	var mu sync.Mutex
	received := map[string]int{}
	count := func(name string) {
		mu.Lock()
		received[name]++
		mu.Unlock()
	}
	flaky := startServer(t, func(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
		for n := 1; ; n++ {
			req, err := stream.Recv()
			if err != nil {
				return nil
			}
			count("flaky")
			resp := st.answer(req, nil)
			if n == 6 {
				return status.Error(codes.Unavailable, "node shutting down")
			}
			if n <= 2 {
				if err := stream.Send(resp); err != nil {
					return err
				}
			}
		}
	})
	healthy := startServer(t, func(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
		for {
			req, err := stream.Recv()
			if err != nil {
				return nil
			}
			count("healthy")
			if err := stream.Send(st.answer(req, nil)); err != nil {
				return err
			}
		}
	})

	batches := makeBatches(10, 10, plainID)
	s, done, err := runSender(t, Config{Servers: []string{deadAddr(t), flaky, healthy}, Window: 4}, batches)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	assertStats(t, s.Stats(), Stats{Sent: 100, Stored: 60, Duplicate: 40, Resent: 40})
	if received["flaky"] != 6 || received["healthy"] != 8 {
		t.Fatalf("batches received: %v, want flaky 6, healthy 8 (4 re-sent, 4 new)", received)
	}
	for i, b := range batches {
		want := Result{Stored: 10}
		if i >= 2 && i < 6 {
			want = Result{Duplicate: 10}
		}
		if done[b] != want {
			t.Fatalf("batch %d: %+v, want %+v", i, done[b], want)
		}
	}
}

// TestGiveUp runs with no server reachable: Run must end with an error that
// names the servers, and count the taken events as failed.
func TestGiveUp(t *testing.T) {
	addr := deadAddr(t)
	start := time.Now()
	s, _, err := runSender(t, Config{
		Servers:     []string{addr},
		Window:      2,
		GiveUpAfter: 200 * time.Millisecond,
	}, makeBatches(5, 3, plainID))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach any server ("+addr+")") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Run: got error %v, want cannot reach any server (%s) … connection refused", err, addr)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("gave up after %s, want about 200ms", elapsed)
	}
	// Nothing was sent, so nothing counts as failed.
	assertStats(t, s.Stats(), Stats{})
}

// TestFatalStreamError: a server that does not implement ingest ends Run at
// once instead of being retried forever.
func TestFatalStreamError(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer() // no services registered
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	_, _, err = runSender(t, Config{Servers: []string{lis.Addr().String()}}, makeBatches(1, 1, plainID))
	if err == nil || !strings.Contains(err.Error(), "refused the stream") {
		t.Fatalf("Run: got %v, want a refused-stream error", err)
	}
}

// TestGiveUpCountsSent: the only server takes two batches, never answers and
// goes away. The agent must give up and count exactly the sent events as
// failed.
func TestGiveUpCountsSent(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	var once sync.Once
	cairnv1.RegisterIngestServiceServer(srv, &fakeIngest{handle: func(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
		for n := 1; ; n++ {
			if _, err := stream.Recv(); err != nil {
				return nil
			}
			if n == 2 {
				once.Do(func() { go srv.Stop() })
			}
		}
	}})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	s, done, err := runSender(t, Config{
		Servers:     []string{lis.Addr().String()},
		Window:      2,
		GiveUpAfter: 200 * time.Millisecond,
	}, makeBatches(5, 3, plainID))
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Run: got %v, want ErrUnreachable", err)
	}
	assertStats(t, s.Stats(), Stats{Sent: 6, Failed: 6})
	if len(done) != 0 {
		t.Fatalf("OnDone called for %d batches, want none", len(done))
	}
}
