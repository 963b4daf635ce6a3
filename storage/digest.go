package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Digest reads one consistent snapshot of the DB and returns its applied
// index, its event count and a SHA-256 over every key and value except the
// applied index key, in key order. Two replicas at the same applied index must
// return equal digests; a difference means they diverged.
//
// Each key/value pair is hashed as len(key) uint32 | key | len(value) uint32 |
// value, so no two different contents hash the same input. Digest reads the
// whole DB: it is for consistency checks and tests, not for a hot path.
func (db *DB) Digest() (applied, events uint64, digest []byte, err error) {
	release, err := db.acquire()
	if err != nil {
		return 0, 0, nil, err
	}
	defer release()

	snap := db.pdb.NewSnapshot()
	defer snap.Close()
	if applied, err = getUint64(snap, appliedIndexKey); err != nil {
		return 0, 0, nil, fmt.Errorf("cannot compute digest: %w", err)
	}
	if events, err = getUint64(snap, eventCountKey); err != nil {
		return 0, 0, nil, fmt.Errorf("cannot compute digest: %w", err)
	}
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: allKeysLower, UpperBound: allKeysUpper})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("cannot compute digest: %w", err)
	}
	defer iter.Close()

	h := sha256.New()
	var lenBuf [4]byte
	for valid := iter.First(); valid; valid = iter.Next() {
		key := iter.Key()
		if bytes.Equal(key, appliedIndexKey) {
			continue
		}
		value, err := iter.ValueAndErr()
		if err != nil {
			return 0, 0, nil, fmt.Errorf("cannot compute digest: %w", err)
		}
		h.Write(binary.BigEndian.AppendUint32(lenBuf[:0], uint32(len(key))))
		h.Write(key)
		h.Write(binary.BigEndian.AppendUint32(lenBuf[:0], uint32(len(value))))
		h.Write(value)
	}
	if err := iter.Error(); err != nil {
		return 0, 0, nil, fmt.Errorf("cannot compute digest: %w", err)
	}
	return applied, events, h.Sum(nil), nil
}
