package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A segment file is a sequence of frames, one per batch:
//
//	frame   = u32 len(payload) | u32 crc32c(payload) | payload
//	payload = u64 id | uvarint n | n × (uvarint len | bytes)     events
//	        | uvarint len | bytes                                mark
//	        | uvarint m | m × (uvarint len | bytes)              completed files
//
// Integers in the frame header and the id are big-endian. A frame that is
// short or fails its checksum ends the segment: it is the torn tail of a
// write the process did not finish.

const frameHeader = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn marks the end of the readable frames of a segment.
var errTorn = errors.New("torn frame")

// appendFrame appends b's frame to dst.
func appendFrame(dst []byte, b *Batch) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = binary.BigEndian.AppendUint64(dst, b.ID)
	dst = binary.AppendUvarint(dst, uint64(len(b.Events)))
	for _, ev := range b.Events {
		dst = appendBytes(dst, ev)
	}
	dst = appendBytes(dst, b.Mark)
	dst = binary.AppendUvarint(dst, uint64(len(b.Completed)))
	for _, f := range b.Completed {
		dst = appendBytes(dst, []byte(f))
	}
	payload := dst[start+frameHeader:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// parseFrame decodes the frame at the start of src and returns the rest.
// It returns errTorn when src holds no complete, intact frame. The batch
// aliases src.
func parseFrame(src []byte) (*Batch, []byte, error) {
	if len(src) < frameHeader {
		return nil, nil, errTorn
	}
	n := binary.BigEndian.Uint32(src)
	sum := binary.BigEndian.Uint32(src[4:])
	if uint64(len(src)-frameHeader) < uint64(n) {
		return nil, nil, errTorn
	}
	payload := src[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, nil, errTorn
	}
	b, err := parsePayload(payload)
	if err != nil {
		// The checksum matched, so this is not a torn write but a frame
		// this code did not write.
		return nil, nil, fmt.Errorf("cannot decode spooled batch: %w", err)
	}
	return b, src[frameHeader+int(n):], nil
}

func parsePayload(p []byte) (*Batch, error) {
	if len(p) < 8 {
		return nil, errors.New("short batch id")
	}
	b := &Batch{ID: binary.BigEndian.Uint64(p)}
	p = p[8:]
	n, p, err := parseCount(p)
	if err != nil {
		return nil, err
	}
	b.Events = make([][]byte, n)
	for i := range b.Events {
		if b.Events[i], p, err = parseBytes(p); err != nil {
			return nil, err
		}
	}
	if b.Mark, p, err = parseBytes(p); err != nil {
		return nil, err
	}
	if len(b.Mark) == 0 {
		b.Mark = nil
	}
	m, p, err := parseCount(p)
	if err != nil {
		return nil, err
	}
	for range m {
		var f []byte
		if f, p, err = parseBytes(p); err != nil {
			return nil, err
		}
		b.Completed = append(b.Completed, string(f))
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(p))
	}
	return b, nil
}

func parseCount(p []byte) (int, []byte, error) {
	v, k := binary.Uvarint(p)
	if k <= 0 || v > uint64(len(p)) { // every counted item takes at least one byte
		return 0, nil, errors.New("bad count")
	}
	return int(v), p[k:], nil
}

func parseBytes(p []byte) ([]byte, []byte, error) {
	v, k := binary.Uvarint(p)
	if k <= 0 || v > uint64(len(p)-k) {
		return nil, nil, errors.New("bad length")
	}
	return p[k : k+int(v)], p[k+int(v):], nil
}
