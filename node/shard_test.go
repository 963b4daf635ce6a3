package node

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
)

func TestEncodeIngestCommandMatchesProto(t *testing.T) {
	b := &cairnv1.IngestBatch{LeaderTimeUnixNano: 1700000000123456789, Events: []*cairnv1.Event{
		{Raw: []byte(`{"eventID":"a"}`), EventId: "a", Account: "111122223333", Region: "us-east-1", EventTimeUnixNano: 42},
		{Raw: []byte(`{"eventID":"b"}`), EventId: "b", Account: "444455556666", Resources: []*cairnv1.Resource{{Name: "arn:x", Type: "AWS::S3::Bucket"}}},
	}}
	got, err := encodeIngestCommand(b, false)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := proto.Marshal(b)
	want, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&cairnv1.Command{Type: cairnv1.CommandType_COMMAND_TYPE_INGEST, Payload: payload})
	if !bytes.Equal(got, want) {
		t.Fatalf("encodings differ:\n got %x\nwant %x", got, want)
	}
	var cmd cairnv1.Command
	var back cairnv1.IngestBatch
	if err := proto.Unmarshal(got, &cmd); err != nil || proto.Unmarshal(cmd.Payload, &back) != nil {
		t.Fatalf("cannot decode: %v", err)
	}
	if cmd.Type != cairnv1.CommandType_COMMAND_TYPE_INGEST || !proto.Equal(&back, b) {
		t.Fatalf("round trip changed the batch: %v", &back)
	}
}

// A compressed entry decodes to the batch it was made from, is smaller than
// the uncompressed one for records that repeat themselves, and a corrupt one
// stops the replica rather than being skipped.
func TestCompressedIngestCommand(t *testing.T) {
	b := &cairnv1.IngestBatch{LeaderTimeUnixNano: 1700000000123456789}
	for i := range 200 {
		id := fmt.Sprintf("id-%04d", i)
		b.Events = append(b.Events, &cairnv1.Event{Raw: []byte(`{"eventVersion":"1.08","eventID":"` + id + `","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`),
			EventId: id, Account: "111122223333", Region: "us-east-1", EventTimeUnixNano: int64(i)})
	}
	plain, err := encodeIngestCommand(b, false)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := encodeIngestCommand(b, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(packed) >= len(plain)/2 {
		t.Errorf("compressed entry is %d bytes, uncompressed %d: expected less than half", len(packed), len(plain))
	}
	var cmd cairnv1.Command
	if err := proto.Unmarshal(packed, &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Type != cairnv1.CommandType_COMMAND_TYPE_INGEST || cmd.Compression != cairnv1.Compression_COMPRESSION_MINLZ {
		t.Fatalf("envelope %v/%v, want INGEST/MINLZ", cmd.Type, cmd.Compression)
	}
	var back cairnv1.IngestBatch
	mustDecode(&raft.Log{Index: 7}, &cmd, &back)
	if !proto.Equal(&back, b) {
		t.Fatal("round trip changed the batch")
	}

	corrupt := proto.Clone(&cmd).(*cairnv1.Command)
	corrupt.Payload = corrupt.Payload[:len(corrupt.Payload)/2]
	unknown := proto.Clone(&cmd).(*cairnv1.Command)
	unknown.Compression = 99
	for name, c := range map[string]*cairnv1.Command{"truncated": corrupt, "unknown compression": unknown} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "raft entry 7") {
					t.Errorf("%s: mustDecode did not panic naming the entry: %v", name, r)
				}
			}()
			mustDecode(&raft.Log{Index: 7}, c, &cairnv1.IngestBatch{})
		}()
	}
}

func TestHaveFeature(t *testing.T) {
	st := &cairnv1.MetaState{Nodes: []*cairnv1.NodeInfo{
		{Id: "n1", Features: []string{"a", featureEntryMinLZ}},
		{Id: "n2", Features: []string{featureEntryMinLZ}},
		{Id: "n3"},
	}}
	for _, tc := range []struct {
		ids  []string
		want bool
	}{
		{[]string{"n1", "n2"}, true},
		{[]string{"n1", "n2", "n3"}, false}, // n3 is of an earlier version
		{[]string{"n1", "n4"}, false},       // n4 is not registered yet
		{nil, true},
	} {
		if got := haveFeature(st, tc.ids, featureEntryMinLZ); got != tc.want {
			t.Errorf("haveFeature(%v) = %v, want %v", tc.ids, got, tc.want)
		}
	}
}

// On the replica that proposed an entry, Apply takes the entry's events from
// the proposal instead of decoding the entry, but only for that very entry:
// an equal copy of its data, as a follower or a replay reads it, is decoded.
func TestApplyTakesProposedEvents(t *testing.T) {
	f, err := openShardFSM(0, t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.close() })
	event := func(id, raw string) *cairnv1.Event {
		return &cairnv1.Event{Raw: []byte(raw), EventId: id, Account: "111122223333", Region: "us-east-1", EventTimeUnixNano: 1700000000e9}
	}
	encode := func(e *cairnv1.Event) []byte {
		data, err := encodeIngestCommand(&cairnv1.IngestBatch{Events: []*cairnv1.Event{e}}, true)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	raw := func(id string) string {
		db, release := f.DB()
		defer release()
		b, err := db.GetRaw("111122223333", id, 1700000000e9)
		if err != nil {
			t.Fatalf("GetRaw(%s): %v", id, err)
		}
		return string(b)
	}

	// The proposal's events differ from the data only to tell which was applied.
	data := encode(event("a", `{"from":"entry"}`))
	done := f.propose(data, []*cairnv1.Event{event("a", `{"from":"proposal"}`)})
	if st := f.Apply(&raft.Log{Index: 1, Data: data}); fmt.Sprint(st) != "[EVENT_STATUS_STORED]" {
		t.Fatalf("Apply = %v", st)
	}
	done()
	if got := raw("a"); got != `{"from":"proposal"}` {
		t.Errorf("proposed entry: stored %s, want the proposal's events", got)
	}

	data = encode(event("b", `{"from":"entry"}`))
	defer f.propose(data, []*cairnv1.Event{event("b", `{"from":"proposal"}`)})()
	if st := f.Apply(&raft.Log{Index: 2, Data: bytes.Clone(data)}); fmt.Sprint(st) != "[EVENT_STATUS_STORED]" {
		t.Fatalf("Apply = %v", st)
	}
	if got := raw("b"); got != `{"from":"entry"}` {
		t.Errorf("copy of a proposed entry: stored %s, want the entry's events", got)
	}
}
