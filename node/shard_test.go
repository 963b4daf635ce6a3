package node

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func TestEncodeIngestCommandMatchesProto(t *testing.T) {
	b := &cairnv1.IngestBatch{LeaderTimeUnixNano: 1700000000123456789, Events: []*cairnv1.Event{
		{Raw: []byte(`{"eventID":"a"}`), EventId: "a", Account: "111122223333", Region: "us-east-1", EventTimeUnixNano: 42},
		{Raw: []byte(`{"eventID":"b"}`), EventId: "b", Account: "444455556666", Resources: []*cairnv1.Resource{{Name: "arn:x", Type: "AWS::S3::Bucket"}}},
	}}
	got, err := encodeIngestCommand(b)
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
