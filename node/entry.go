package node

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/hashicorp/raft"
	"github.com/minio/minlz"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
)

// Features this version registers in NodeInfo.features: what it can do that
// earlier versions could not.
const (
	// featureEntryMinLZ: applies Raft entries whose payload is compressed
	// with MinLZ (cairnv1.Compression_COMPRESSION_MINLZ).
	featureEntryMinLZ = "entry-minlz"
	// featureRecordValues: applies Raft entries whose events carry their
	// record value (cairnv1.Event.record) instead of their raw record.
	featureRecordValues = "record-values"
)

// nodeFeatures are the features of this version, sorted.
var nodeFeatures = []string{featureEntryMinLZ, featureRecordValues}

// withRecordValues returns copies of events that carry their record value
// (storage.RecordValues) instead of their raw record, for a Raft entry: the
// leader cuts the key's fields from the records once, for every replica,
// and the entry is smaller. events are not changed: a write whose outcome is
// unknown is tried again, maybe through another node, with them.
func withRecordValues(events []*cairnv1.Event) []*cairnv1.Event {
	values := storage.RecordValues(events)
	store := make([]cairnv1.Event, len(events))
	out := make([]*cairnv1.Event, len(events))
	for i, e := range events {
		c := &store[i]
		c.Record = values[i]
		if len(e.Record) > 0 { // already a record value
			c.Record = e.Record
		}
		c.EventId, c.EventTimeUnixNano, c.Account, c.Region = e.EventId, e.EventTimeUnixNano, e.Account, e.Region
		c.EventName, c.EventSource, c.Username, c.AccessKeyId = e.EventName, e.EventSource, e.Username, e.AccessKeyId
		c.ReadOnly, c.ErrorCode, c.SourceIp, c.EventCategory = e.ReadOnly, e.ErrorCode, e.SourceIp, e.EventCategory
		c.Resources, c.Columns = e.Resources, e.Columns
		out[i] = c
	}
	return out
}

// maxEntryPayload bounds the decompressed payload of one Raft entry. A
// leader packs about 1 MiB of events into an entry; the bound only keeps a
// corrupt length from allocating without limit.
const maxEntryPayload = 256 << 20

// encodeIngestCommand encodes Command{INGEST, payload: b}, with the payload
// compressed with MinLZ when compress is set. Uncompressed, the batch is
// marshalled straight into the envelope: the bytes are those of
// proto.Marshal of the Command, without a second copy of the events.
func encodeIngestCommand(b *cairnv1.IngestBatch, compress bool) ([]byte, error) {
	const typeField, payloadField, compressionField = 1, 2, 3 // cairn.v1.Command
	size := proto.Size(b)
	buf := protowire.AppendTag(nil, typeField, protowire.VarintType)
	buf = protowire.AppendVarint(buf, uint64(cairnv1.CommandType_COMMAND_TYPE_INGEST))
	if !compress {
		buf = slices.Grow(buf, 16+size)
		buf = protowire.AppendTag(buf, payloadField, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(size))
		buf, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, b)
		if err != nil {
			return nil, fmt.Errorf("cannot encode ingest batch: %w", err)
		}
		return buf, nil
	}
	raw, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(make([]byte, 0, size), b)
	if err != nil {
		return nil, fmt.Errorf("cannot encode ingest batch: %w", err)
	}
	packed, err := minlz.Encode(nil, raw, minlz.LevelFastest)
	if err != nil {
		return nil, fmt.Errorf("cannot compress ingest batch: %w", err)
	}
	out := make([]byte, 0, len(buf)+len(packed)+16)
	out = append(out, buf...)
	out = protowire.AppendTag(out, payloadField, protowire.BytesType)
	out = protowire.AppendBytes(out, packed)
	out = protowire.AppendTag(out, compressionField, protowire.VarintType)
	return protowire.AppendVarint(out, uint64(cairnv1.Compression_COMPRESSION_MINLZ)), nil
}

// mustDecode decodes the payload of the command of entry l into m,
// decompressing it first if it is compressed. An entry that cannot be
// decoded panics, the same way on every replica, rather than being skipped
// on some.
func mustDecode(l *raft.Log, cmd *cairnv1.Command, m proto.Message) {
	if err := proto.Unmarshal(mustPayload(l, cmd), m); err != nil {
		panic(fmt.Sprintf("cannot decode payload of raft entry %d: %v", l.Index, err))
	}
}

// mustDecodeIngest is mustDecode for an ingest entry, by decodeIngestBatch.
func mustDecodeIngest(l *raft.Log, cmd *cairnv1.Command) []*cairnv1.Event {
	events, err := decodeIngestBatch(mustPayload(l, cmd))
	if err != nil {
		panic(fmt.Sprintf("cannot decode payload of raft entry %d: %v", l.Index, err))
	}
	return events
}

// mustPayload returns the payload of the command of entry l, decompressed.
func mustPayload(l *raft.Log, cmd *cairnv1.Command) []byte {
	payload := cmd.Payload
	switch cmd.Compression {
	case cairnv1.Compression_COMPRESSION_NONE:
	case cairnv1.Compression_COMPRESSION_MINLZ:
		n, err := minlz.DecodedLen(payload)
		if err == nil && n > maxEntryPayload {
			err = fmt.Errorf("decompressed payload of %d bytes is over the limit of %d", n, maxEntryPayload)
		}
		if err == nil {
			payload, err = minlz.Decode(nil, payload)
		}
		if err != nil {
			panic(fmt.Sprintf("cannot decompress payload of raft entry %d: %v", l.Index, err))
		}
	default:
		panic(fmt.Sprintf("raft entry %d has unknown compression %v", l.Index, cmd.Compression))
	}
	return payload
}

// decodeIngestBatch decodes a cairn.v1.IngestBatch and returns its events,
// as proto.Unmarshal would, at half the cost on the path every replica takes
// for every event (BenchmarkDecodeIngestBatch): the events are allocated
// together, their raw bytes alias payload (which the caller must not change
// while they are used), and their strings are substrings of one copy of
// payload rather than a dozen allocations each. A string kept after the
// entry is applied keeps that copy in memory, so whoever keeps one clones
// it (storage.DB.ApplyIngest keeps none). Strings must be UTF-8, as for
// proto.Unmarshal; fields this version does not know are skipped.
// TestDecodeIngestBatchMatchesProto and FuzzDecodeIngestBatch hold it to
// proto.Unmarshal.
func decodeIngestBatch(payload []byte) ([]*cairnv1.Event, error) {
	const eventsField = 2 // cairn.v1.IngestBatch
	n := 0
	err := walkFields(payload, 0, func(num protowire.Number, typ protowire.Type, v []byte, _ int) error {
		if num == eventsField && typ == protowire.BytesType {
			n++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := eventDecoder{text: string(payload)}
	store := make([]cairnv1.Event, n)
	events := make([]*cairnv1.Event, 0, n)
	err = walkFields(payload, 0, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		if num != eventsField || typ != protowire.BytesType {
			return nil
		}
		e := &store[len(events)]
		events = append(events, e)
		return d.event(v, off, e)
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// eventDecoder decodes the events of one payload. text is a copy of the
// payload; the strings of the events are substrings of it.
type eventDecoder struct {
	text string
}

// event decodes the cairn.v1.Event at src, which is payload[off:], into e.
func (d *eventDecoder) event(src []byte, off int, e *cairnv1.Event) error {
	return walkFields(src, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		if typ == protowire.VarintType {
			x, _ := protowire.ConsumeVarint(v)
			switch num {
			case 3:
				e.EventTimeUnixNano = int64(x)
			case 15:
				e.Columns = uint32(x)
			}
			return nil
		}
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			e.Raw = v
		case 16:
			e.Record = v
		case 14:
			r, err := d.resource(v, off)
			if err != nil {
				return err
			}
			e.Resources = append(e.Resources, r)
		default:
			if f := eventStringField(e, num); f != nil {
				return d.setString(f, v, off)
			}
		}
		return nil
	})
}

// resource decodes the cairn.v1.Resource at src, which is payload[off:].
func (d *eventDecoder) resource(src []byte, off int) (*cairnv1.Resource, error) {
	r := &cairnv1.Resource{}
	err := walkFields(src, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			return d.setString(&r.Name, v, off)
		case 2:
			return d.setString(&r.Type, v, off)
		}
		return nil
	})
	return r, err
}

// setString sets *f to v, which is payload[off:off+len(v)] and must be UTF-8.
func (d *eventDecoder) setString(f *string, v []byte, off int) error {
	s := d.text[off : off+len(v)]
	if !utf8.ValidString(s) {
		return errors.New("string field contains invalid UTF-8")
	}
	*f = s
	return nil
}

// eventStringField returns the string field of e numbered num, or nil.
func eventStringField(e *cairnv1.Event, num protowire.Number) *string {
	switch num {
	case 2:
		return &e.EventId
	case 4:
		return &e.Account
	case 5:
		return &e.Region
	case 6:
		return &e.EventName
	case 7:
		return &e.EventSource
	case 8:
		return &e.Username
	case 9:
		return &e.AccessKeyId
	case 10:
		return &e.ReadOnly
	case 11:
		return &e.ErrorCode
	case 12:
		return &e.SourceIp
	case 13:
		return &e.EventCategory
	}
	return nil
}

// walkFields calls fn with every field of the protobuf message in src, which
// starts at offset base of the payload, in order: its number, its wire type,
// its value, and the value's offset in the payload. The value of a
// length-delimited field is its contents; of any other, its encoded bytes.
func walkFields(src []byte, base int, fn func(num protowire.Number, typ protowire.Type, v []byte, off int) error) error {
	pos := 0
	for pos < len(src) {
		num, typ, n := protowire.ConsumeTag(src[pos:])
		if n < 0 {
			return protowire.ParseError(n)
		}
		if !num.IsValid() {
			return fmt.Errorf("invalid field number %d", num)
		}
		pos += n
		var v []byte
		off := pos
		if typ == protowire.BytesType {
			b, m := protowire.ConsumeBytes(src[pos:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, n = b, m
			off = pos + m - len(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, src[pos:])
			if n < 0 {
				return protowire.ParseError(n)
			}
			v = src[pos : pos+n]
		}
		if err := fn(num, typ, v, base+off); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// haveFeature reports whether every node of ids registered feature. A node
// missing from the registry has none.
func haveFeature(st *cairnv1.MetaState, ids []string, feature string) bool {
	for _, id := range ids {
		n := findNode(st, id)
		if n == nil || !slices.Contains(n.Features, feature) {
			return false
		}
	}
	return true
}
