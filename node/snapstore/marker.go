package snapstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// Live marker format, version 1. All integers are big-endian.
//
//	"CAIRNLIV" (8 bytes) | version (1 byte) | applied index uint64 | CRC-32 (IEEE) of the 17 bytes before it
//
// A marker is what a local snapshot holds: "the state is the live DB, applied
// up to this index". The store turns it into a real archive only when raft
// opens the snapshot to send it.
const (
	markerMagic   = "CAIRNLIV"
	markerVersion = 1
	markerLen     = len(markerMagic) + 1 + 8 + 4
)

// appendLiveMarker appends the marker for appliedIndex to dst.
func appendLiveMarker(dst []byte, appliedIndex uint64) []byte {
	start := len(dst)
	dst = append(dst, markerMagic...)
	dst = append(dst, markerVersion)
	dst = binary.BigEndian.AppendUint64(dst, appliedIndex)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// parseLiveMarker parses a marker at the start of src.
func parseLiveMarker(src []byte) (appliedIndex uint64, rest []byte, err error) {
	if len(src) < markerLen {
		return 0, nil, fmt.Errorf("%w: live marker is %d bytes, want %d", ErrCorrupt, len(src), markerLen)
	}
	if string(src[:len(markerMagic)]) != markerMagic {
		return 0, nil, fmt.Errorf("%w: not a live marker (magic %q)", ErrCorrupt, src[:len(markerMagic)])
	}
	if v := src[len(markerMagic)]; v != markerVersion {
		return 0, nil, fmt.Errorf("%w: live marker version %d, this build reads version %d", ErrUnsupported, v, markerVersion)
	}
	body := src[:markerLen-4]
	if want, got := binary.BigEndian.Uint32(src[markerLen-4:markerLen]), crc32.ChecksumIEEE(body); want != got {
		return 0, nil, fmt.Errorf("%w: live marker checksum %08x, content %08x", ErrCorrupt, want, got)
	}
	return binary.BigEndian.Uint64(body[len(markerMagic)+1:]), src[markerLen:], nil
}

// WriteLiveMarker writes the live marker for appliedIndex to w. It is all an
// FSMSnapshot.Persist writes to its sink, after it has made the live DB
// durable up to appliedIndex (Pebble Flush, or a synced write of the applied
// index): a node restarted with NoSnapshotRestoreOnStart trusts that the DB
// holds everything up to the newest snapshot's index.
func WriteLiveMarker(w io.Writer, appliedIndex uint64) error {
	if _, err := w.Write(appendLiveMarker(nil, appliedIndex)); err != nil {
		return fmt.Errorf("cannot write live marker: %w", err)
	}
	return nil
}

// ReadLiveMarker reads one live marker from r and returns its applied index.
// It reads exactly the marker's bytes.
func ReadLiveMarker(r io.Reader) (appliedIndex uint64, err error) {
	var buf [markerLen]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return 0, fmt.Errorf("%w: cannot read live marker: %w", ErrCorrupt, err)
	}
	idx, _, err := parseLiveMarker(buf[:])
	return idx, err
}
