package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// fakeIngest is an IngestService double: it stores events by eventID,
// answers DUPLICATE for IDs it has, and REJECTED for records without one.
type fakeIngest struct {
	cairnv1.UnimplementedIngestServiceServer
	mu         sync.Mutex
	stored     map[string][]byte
	requests   int      // batches received
	stallAfter int      // when > 0, batches after this many get no answer
	auth       []string // the authorization metadata of each stream
}

func (f *fakeIngest) Ingest(stream grpc.BidiStreamingServer[cairnv1.IngestRequest, cairnv1.IngestResponse]) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	f.mu.Lock()
	f.auth = append(f.auth, strings.Join(md.Get("authorization"), ","))
	f.mu.Unlock()
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		resp := &cairnv1.IngestResponse{Seq: req.GetSeq()}
		f.mu.Lock()
		f.requests++
		if f.stallAfter > 0 && f.requests > f.stallAfter {
			f.mu.Unlock()
			continue
		}
		for _, ev := range req.GetEvents() {
			var rec struct {
				EventID string `json:"eventID"`
			}
			_ = json.Unmarshal(ev, &rec)
			r := &cairnv1.EventResult{EventId: rec.EventID, Status: cairnv1.EventStatus_EVENT_STATUS_STORED}
			switch {
			case rec.EventID == "":
				r.Status, r.Reason = cairnv1.EventStatus_EVENT_STATUS_REJECTED, "eventID is missing"
			case f.stored[rec.EventID] != nil:
				r.Status = cairnv1.EventStatus_EVENT_STATUS_DUPLICATE
			default:
				f.stored[rec.EventID] = bytes.Clone(ev)
			}
			resp.Results = append(resp.Results, r)
		}
		f.mu.Unlock()
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func startFake(t *testing.T) (*fakeIngest, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIngest{stored: map[string][]byte{}}
	srv := grpc.NewServer()
	cairnv1.RegisterIngestServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return f, lis.Addr().String()
}

func runAgent(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAgentFile(t *testing.T) {
	f, addr := startFake(t)
	path := filepath.Join(t.TempDir(), "events.jsonl")
	var lines strings.Builder
	for i := range 1234 {
		fmt.Fprintf(&lines, `{"eventID":"ev-%05d", "eventTime":"2026-03-01T10:00:00Z"}`+"\n", i)
	}
	if err := os.WriteFile(path, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runAgent(t, "--server", addr, "--file", path, "--batch", "100", "--quiet")
	if code != exitOK || !strings.HasPrefix(out, "sent 1234 stored 1234 duplicate 0 rejected 0 failed 0 in ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := string(f.stored["ev-00042"]); got != `{"eventID":"ev-00042", "eventTime":"2026-03-01T10:00:00Z"}` {
		t.Fatalf("stored record %q, want it byte for byte", got)
	}

	// The same file again: every event is a duplicate, which is success.
	code, out, _ = runAgent(t, "--server", addr, "--file", path, "--quiet")
	if code != exitOK || !strings.HasPrefix(out, "sent 1234 stored 0 duplicate 1234 rejected 0 failed 0 in ") {
		t.Fatalf("second run: exit %d, stdout %q", code, out)
	}
}

func TestAgentRejected(t *testing.T) {
	_, addr := startFake(t)
	path := filepath.Join(t.TempDir(), "events.json")
	var recs []string
	for i := range 30 {
		recs = append(recs, fmt.Sprintf(`{"n":%d}`, i)) // no eventID: rejected
	}
	recs = append(recs, `{"eventID":"ok-1"}`)
	if err := os.WriteFile(path, []byte("["+strings.Join(recs, ",")+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runAgent(t, "--server", addr, "--file", path, "--quiet")
	if code != exitRejected || !strings.HasPrefix(out, "sent 31 stored 1 duplicate 0 rejected 30 failed 0 in ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := strings.Count(errOut, "cairn-agent: rejected record "); n != 20 {
		t.Fatalf("%d rejections printed, want the first 20:\n%s", n, errOut)
	}
	if !strings.Contains(errOut, `rejected record "{\"n\":0}": eventID is missing`) ||
		!strings.Contains(errOut, "… and 10 more rejected events not shown") {
		t.Fatalf("stderr:\n%s", errOut)
	}
}

func TestAgentGenerate(t *testing.T) {
	f, addr := startFake(t)
	code, out, errOut := runAgent(t, "--server", addr, "--generate", "2000", "--accounts", "3", "--quiet")
	if code != exitOK || !strings.HasPrefix(out, "sent 2000 stored 2000 ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if len(f.stored) != 2000 {
		t.Fatalf("server stored %d events, want 2000", len(f.stored))
	}
}

func TestAgentUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	defer func(d time.Duration) { giveUpAfter = d }(giveUpAfter)
	giveUpAfter = time.Second

	code, out, errOut := runAgent(t, "--server", addr, "--generate", "10", "--quiet")
	want := "cairn-agent: cannot reach any server (" + addr + ") for 1s; last error: " + addr +
		": connection refused; is cairnd running? set --server or CAIRN_SERVER\n"
	if code != exitFailure || !strings.HasPrefix(out, "sent 0 stored 0 duplicate 0 rejected 0 failed 0 in ") ||
		!strings.HasSuffix(errOut, want) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and stderr ending %q", code, out, errOut, want)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--generate", "10", "--file", "x"},
		{"--generate", "0"},
		{"--file", "x", "--seed", "3"},
		{"--generate", "10", "--batch", "0"},
		{"--generate", "10", "extra"},
		{"--nope"},
	} {
		code, out, errOut := runAgent(t, args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "cairn-agent: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 with a message", args, code, out, errOut)
		}
	}
}

// fixedSource yields the given records.
type fixedSource struct{ recs [][]byte }

func (s *fixedSource) Next() ([]byte, error) {
	if len(s.recs) == 0 {
		return nil, io.EOF
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, nil
}

func TestBatcherLimits(t *testing.T) {
	rec := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	src := &fixedSource{recs: [][]byte{rec(10), rec(10), rec(10), rec(maxRecordBytes + 1), rec(25), rec(10), rec(10), rec(10)}}
	var tooLarge int
	b := &batcher{size: 3, maxBytes: 40, linger: time.Hour, onTooLarge: func([]byte) { tooLarge++ }, onSpooled: func(int) {}}
	items := make(chan item)
	out := make(chan *deliver.Batch, 10)
	go func() { _ = readSource(context.Background(), src, items) }()
	if err := b.run(context.Background(), nil, items, out); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for batch := range out {
		n := 0
		for _, e := range batch.Events {
			n += len(e)
		}
		sizes = append(sizes, len(batch.Events), n)
	}
	// 3 by count; 25+10 then 10 would pass 40 bytes; the last 10.
	want := []int{3, 30, 2, 35, 2, 20}
	if fmt.Sprint(sizes) != fmt.Sprint(want) || tooLarge != 1 {
		t.Fatalf("batches (count, bytes) %v, want %v; too large %d, want 1", sizes, want, tooLarge)
	}
}
