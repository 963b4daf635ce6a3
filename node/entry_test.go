package node

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// testBatch returns an IngestBatch of n events with every field set, some
// of them to values a decoder could get wrong: empty, negative, at the
// limits of their type, multi-byte UTF-8.
func testBatch(n int, seed uint64) *cairnv1.IngestBatch {
	rng := rand.New(rand.NewPCG(seed, seed))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	b := &cairnv1.IngestBatch{LeaderTimeUnixNano: 1700000000123456789}
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.Uint32(), i)
		e := &cairnv1.Event{
			Raw:               []byte(`{"eventID":"` + id + `","eventName":"GetObject","requestParameters":{"key":"ключ/ü"}}`),
			EventId:           id,
			EventTimeUnixNano: int64(rng.Uint64()) >> rng.IntN(64),
			Account:           pick("111122223333", "444455556666", ""),
			Region:            pick("us-east-1", "eu-west-1", ""),
			EventName:         pick("GetObject", "AssumeRole", "ConsoleLogin"),
			EventSource:       pick("s3.amazonaws.com", "sts.amazonaws.com"),
			Username:          pick("alice", "ci-runner", "", "Zoë"),
			AccessKeyId:       pick("AKIAEXAMPLE", ""),
			ReadOnly:          pick("true", "false", ""),
			ErrorCode:         pick("", "AccessDenied"),
			SourceIp:          pick("203.0.113.7", "s3.amazonaws.com"),
			EventCategory:     pick("Management", "Data", "Insight"),
			Columns:           uint32(rng.IntN(40)) | uint32(rng.IntN(2))<<31,
		}
		for range rng.IntN(3) {
			e.Resources = append(e.Resources, &cairnv1.Resource{Name: "arn:aws:s3:::bucket-" + id[:4], Type: pick("AWS::S3::Bucket", "")})
		}
		switch i % 7 {
		case 0:
			e.Raw = nil
		case 3:
			e.Raw, e.Record = nil, append([]byte{0x01, 0x01, 0x5c}, e.Raw...)
		}
		b.Events = append(b.Events, e)
	}
	return b
}

// checkDecodeMatchesProto fails t unless decodeIngestBatch and
// proto.Unmarshal agree on payload: both fail, or both give equal events
// but for unknown fields.
func checkDecodeMatchesProto(t *testing.T, payload []byte) {
	t.Helper()
	got, err := decodeIngestBatch(payload)
	var want cairnv1.IngestBatch
	wantErr := proto.Unmarshal(payload, &want)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeIngestBatch error %v, proto.Unmarshal error %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if len(got) != len(want.Events) {
		t.Fatalf("decoded %d events, proto.Unmarshal %d", len(got), len(want.Events))
	}
	for i := range got {
		// decodeIngestBatch drops the fields it does not know; proto keeps
		// them as unknown fields.
		want.Events[i].ProtoReflect().SetUnknown(nil)
		for _, r := range want.Events[i].Resources {
			r.ProtoReflect().SetUnknown(nil)
		}
		if !proto.Equal(got[i], want.Events[i]) {
			t.Fatalf("event %d differs:\n got %v\nwant %v", i, got[i], want.Events[i])
		}
	}
}

func TestDecodeIngestBatchMatchesProto(t *testing.T) {
	b := testBatch(300, 1)
	payload, err := proto.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	events, err := decodeIngestBatch(payload)
	if err != nil || len(events) != len(b.Events) {
		t.Fatalf("decoded %d events, %v; want %d", len(events), err, len(b.Events))
	}
	for i, e := range events {
		if !proto.Equal(e, b.Events[i]) {
			t.Fatalf("event %d: got %v, want %v", i, e, b.Events[i])
		}
	}

	// What a later version might send, or a corrupt entry hold. Each case
	// appends to an encoded event (field 2 of the batch).
	event, _ := proto.Marshal(b.Events[1])
	withField := func(extra ...byte) []byte {
		ev := append(append([]byte(nil), event...), extra...)
		out := protowire.AppendTag(nil, 1, protowire.VarintType)
		out = protowire.AppendVarint(out, 99)
		out = protowire.AppendTag(out, 2, protowire.BytesType)
		return protowire.AppendBytes(out, ev)
	}
	str := func(num protowire.Number, v string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	cases := map[string][]byte{
		"unknown varint field":   withField(varint(40, 7)...),
		"unknown bytes field":    withField(str(41, "later")...),
		"unknown fixed64 field":  withField(protowire.AppendFixed64(protowire.AppendTag(nil, 42, protowire.Fixed64Type), 1)...),
		"unknown group":          withField(append(protowire.AppendTag(varint(43, 1)[:0:0], 44, protowire.StartGroupType), protowire.AppendTag(varint(45, 1), 44, protowire.EndGroupType)...)...),
		"repeated string field":  withField(str(4, "999988887777")...),
		"repeated time field":    withField(varint(3, 5)...),
		"string field as varint": withField(varint(4, 5)...),
		"time field as bytes":    withField(str(3, "x")...),
		"raw as varint":          withField(varint(1, 3)...),
		"record as varint":       withField(varint(16, 3)...),
		"record not UTF-8":       withField(str(16, "\x01\x00\xff")...),
		"columns over 32 bits":   withField(varint(15, 1<<40|9)...),
		"negative time":          withField(varint(3, ^uint64(0))...),
		"invalid UTF-8 string":   withField(str(6, "Get\xffObject")...),
		"invalid UTF-8 resource": withField(protowire.AppendBytes(protowire.AppendTag(nil, 14, protowire.BytesType), str(1, "arn:\xc3"))...),
		"invalid UTF-8, unknown": withField(str(46, "\xff")...),
		"raw not UTF-8":          withField(str(1, "\xff\xfe")...),
		"truncated length":       withField(protowire.AppendTag(nil, 6, protowire.BytesType)...),
		"field number zero":      withField(0x00, 0x01),
		"stray end group":        withField(protowire.AppendTag(nil, 47, protowire.EndGroupType)...),
		"event is not a message": protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{0xff, 0xff}),
		"events field as varint": varint(2, 1),
		"empty batch":            nil,
		"truncated batch":        payload[:len(payload)-3],
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) { checkDecodeMatchesProto(t, p) })
	}
}

func FuzzDecodeIngestBatch(f *testing.F) {
	for _, n := range []int{0, 1, 5} {
		p, err := proto.Marshal(testBatch(n, uint64(n)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, payload []byte) { checkDecodeMatchesProto(t, payload) })
}

// BenchmarkDecodeIngestBatch decodes an entry's worth of events (800), with
// proto.Unmarshal and with decodeIngestBatch.
func BenchmarkDecodeIngestBatch(b *testing.B) {
	payload, err := proto.Marshal(testBatch(800, 2))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("proto", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for range b.N {
			var m cairnv1.IngestBatch
			if err := proto.Unmarshal(payload, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeIngestBatch", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for range b.N {
			if _, err := decodeIngestBatch(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestWithRecordValuesCopiesEveryField sets every field of an event and
// checks that the copy for a Raft entry has them all, with the record value
// in place of the raw record. It fails when Event gains a field that
// withRecordValues does not copy.
func TestWithRecordValuesCopiesEveryField(t *testing.T) {
	e := &cairnv1.Event{}
	m := e.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		var v protoreflect.Value
		switch {
		case fd.IsList():
			l := m.NewField(fd).List()
			l.Append(protoreflect.ValueOfMessage((&cairnv1.Resource{Name: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}).ProtoReflect()))
			v = protoreflect.ValueOfList(l)
		case fd.Kind() == protoreflect.BytesKind:
			v = protoreflect.ValueOfBytes([]byte(`{"eventID":"id-1","x":1}`))
		case fd.Kind() == protoreflect.StringKind:
			v = protoreflect.ValueOfString(string(fd.Name()) + "-1")
		case fd.Kind() == protoreflect.Int64Kind:
			v = protoreflect.ValueOfInt64(1_700_000_000_000_000_000)
		case fd.Kind() == protoreflect.Uint32Kind:
			v = protoreflect.ValueOfUint32(7)
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", fd.Name(), fd.Kind())
		}
		m.Set(fd, v)
	}
	e.Record = nil
	e.EventId = "id-1"
	got := withRecordValues([]*cairnv1.Event{e})[0]
	if string(got.Record) != "\x01\x01\x64"+`{"eventID":"","x":1}` || got.Raw != nil {
		t.Errorf("record %q, raw %q; want the record value and no raw", got.Record, got.Raw)
	}
	if e.Record != nil || e.Raw == nil {
		t.Errorf("withRecordValues changed its input")
	}
	got.Raw, got.Record = e.Raw, nil
	if !proto.Equal(got, e) {
		t.Errorf("copy for the entry\n %v\ndiffers from\n %v", got, e)
	}
}
