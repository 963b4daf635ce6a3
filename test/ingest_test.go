package test

import (
	"context"
	"strings"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// TestIngestRejectsPerEvent sends every kind of invalid event in one batch
// among valid ones: each invalid event is rejected with its precise reason,
// every valid neighbour is stored, and the stream stays usable.
func TestIngestRejectsPerEvent(t *testing.T) {
	c := NewCluster(t, 1, WithReplicas(1), WithShards(4))
	good := makeEvents(t, 8, 5, 11)
	future := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	huge := `{"eventID":"big","eventTime":"2024-01-01T00:00:00Z","eventName":"X","eventSource":"s","recipientAccountId":"111122223333","pad":"` + strings.Repeat("a", 300*1024) + `"}`
	bad := []struct {
		raw, reason string
	}{
		{`{"eventID": "a", nope}`, "not valid JSON"},
		{`{"eventTime":"2024-01-01T00:00:00Z","eventName":"X","eventSource":"s","recipientAccountId":"111122223333"}`, `missing field "eventID"`},
		{`{"eventID":"b","eventName":"X","eventSource":"s","recipientAccountId":"111122223333"}`, `missing field "eventTime"`},
		{`{"eventID":"c","eventTime":"2024-01-01T00:00:00Z","eventSource":"s","recipientAccountId":"111122223333"}`, `missing field "eventName"`},
		{`{"eventID":"d","eventTime":"2024-01-01T00:00:00Z","eventName":"X","recipientAccountId":"111122223333"}`, `missing field "eventSource"`},
		{`{"eventID":"e","eventTime":"yesterday","eventName":"X","eventSource":"s","recipientAccountId":"111122223333"}`, "is not an ISO-8601 time"},
		{huge, "the limit is 262144"},
		{`{"eventID":"f","eventTime":"2024-01-01T00:00:00Z","eventName":"X","eventSource":"s","userIdentity":{"type":"AWSService"}}`, "account not determinable"},
		{`{"eventID":"g","eventTime":"` + future + `","eventName":"X","eventSource":"s","recipientAccountId":"111122223333"}`, "after the receiver's clock"},
	}
	var batch [][]byte
	for i, b := range bad {
		batch = append(batch, good[i%len(good)], []byte(b.raw))
	}
	// Distinct valid events: only the first 8 goods are new; re-sends within
	// the batch are duplicates.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := cairnv1.NewIngestServiceClient(c.Conn(0)).Ingest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&cairnv1.IngestRequest{Seq: 7, Events: batch}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Seq != 7 || len(resp.Results) != len(batch) {
		t.Fatalf("response seq %d with %d results; want seq 7 with %d", resp.Seq, len(resp.Results), len(batch))
	}
	for i, b := range bad {
		g, r := resp.Results[2*i], resp.Results[2*i+1]
		if g.Status != cairnv1.EventStatus_EVENT_STATUS_STORED && g.Status != cairnv1.EventStatus_EVENT_STATUS_DUPLICATE {
			t.Errorf("valid event next to bad case %d: %v %q", i, g.Status, g.Reason)
		}
		if r.Status != cairnv1.EventStatus_EVENT_STATUS_REJECTED || !strings.Contains(r.Reason, b.reason) {
			t.Errorf("bad case %d: got %v %q, want REJECTED containing %q", i, r.Status, r.Reason, b.reason)
		}
	}
	if id := resp.Results[3].EventId; id != "" {
		t.Errorf("event without eventID reported id %q", id)
	}
	if id := resp.Results[5].EventId; id != "b" {
		t.Errorf("rejected event's id reported as %q, want b", id)
	}
	// The stream is still usable after the rejections.
	if err := stream.Send(&cairnv1.IngestRequest{Seq: 8, Events: [][]byte{good[0]}}); err != nil {
		t.Fatal(err)
	}
	resp, err = stream.Recv()
	if err != nil || resp.Results[0].Status != cairnv1.EventStatus_EVENT_STATUS_DUPLICATE {
		t.Fatalf("second batch: %v %v", err, resp)
	}
	stream.CloseSend()
}

// TestOneBadInThousand: a stream with 1 bad event in 1,000 stores 999.
func TestOneBadInThousand(t *testing.T) {
	c := NewCluster(t, 1, WithReplicas(1), WithShards(4))
	events := makeEvents(t, 1000, 20, 12)
	events[500] = []byte(`{"eventID":"broken","eventTime":"2024-01-01T00:00:00Z"`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 999 || len(res.Rejected) != 1 || res.Attempts != 1 {
		t.Fatalf("stored %d, rejected %d (%v) in %d batches; want 999 stored, 1 rejected, 1 batch", res.Stored, len(res.Rejected), res.Rejected, res.Attempts)
	}
	var total uint64
	for _, s := range c.Status(0).Shards {
		total += s.Events
	}
	if total != 999 {
		t.Fatalf("shards hold %d events, want 999", total)
	}
}
