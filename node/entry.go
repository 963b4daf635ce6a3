package node

import (
	"fmt"
	"slices"

	"github.com/hashicorp/raft"
	"github.com/minio/minlz"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Features this version registers in NodeInfo.features: what it can do that
// earlier versions could not.
const (
	// featureEntryMinLZ: applies Raft entries whose payload is compressed
	// with MinLZ (cairnv1.Compression_COMPRESSION_MINLZ).
	featureEntryMinLZ = "entry-minlz"
)

// nodeFeatures are the features of this version, sorted.
var nodeFeatures = []string{featureEntryMinLZ}

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
	if err := proto.Unmarshal(payload, m); err != nil {
		panic(fmt.Sprintf("cannot decode payload of raft entry %d: %v", l.Index, err))
	}
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
