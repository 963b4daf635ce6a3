package storage

import (
	"errors"
	"fmt"
	"hash/maphash"

	"github.com/cockroachdb/pebble/v2"
)

// Limits of the dedup memory (seenDays). At most seenMaxKeys hashes of 8
// bytes are held per DB, about 40 MB with the map's overhead.
var (
	seenMaxDays = 16
	seenMaxKeys = 2_000_000
)

// seenDays is the dedup memory of a DB: for a few days, a hash of every
// eventID index key stored on that day. A day's set is complete (loaded from
// the DB, then kept up to date by every write), so an event whose hash is
// missing is certainly new and needs no Pebble read; a hash that is present,
// which is what a re-sent event gives, is confirmed by a read of the event's
// summary, so a hash collision can never make a new event a duplicate. What
// the dedup check answers is therefore exactly what a read would, on every
// replica.
//
// It is used only under the DB's applyMu.
type seenDays struct {
	seed   maphash.Seed
	seeded bool
	days   map[int32]map[uint64]struct{}
	keys   int
	// pending are the hashes of the keys the current batch stores, added to
	// their days' sets once it is committed.
	pending []seenHash
}

type seenHash struct {
	day int32
	h   uint64
}

func (s *seenDays) hash(idKey []byte) uint64 { return maphash.Bytes(s.seed, idKey) }

// set returns the complete set of day, loading it from pdb if there is room,
// or nil when the day is not held (the caller reads the DB instead).
func (s *seenDays) set(pdb *pebble.DB, day int32) (map[uint64]struct{}, error) {
	if set, ok := s.days[day]; ok {
		return set, nil
	}
	if !s.seeded {
		s.seed, s.seeded = maphash.MakeSeed(), true
	}
	if s.days == nil {
		s.days = map[int32]map[uint64]struct{}{}
	}
	if len(s.days) >= seenMaxDays {
		// Make room by forgetting the oldest day, unless day is older
		// still: late events for old days are read from the DB.
		oldest := day
		for d := range s.days {
			oldest = min(oldest, d)
		}
		if oldest == day {
			return nil, nil
		}
		s.keys -= len(s.days[oldest])
		delete(s.days, oldest)
	}
	prefix := appendDay([]byte{prefixEventID}, day)
	iter, err := pdb.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keyUpperBound(prefix)})
	if err != nil {
		return nil, fmt.Errorf("cannot load the eventIDs of day %d: %w", day, err)
	}
	set := map[uint64]struct{}{}
	for valid := iter.First(); valid; valid = iter.Next() {
		if s.keys+len(set) >= seenMaxKeys {
			return nil, iter.Close() // no room: this day is read from the DB
		}
		set[s.hash(iter.Key())] = struct{}{}
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return nil, fmt.Errorf("cannot load the eventIDs of day %d: %w", day, err)
	}
	s.days[day] = set
	s.keys += len(set)
	return set, nil
}

// commit adds the pending hashes of a committed batch to their days' sets,
// where held.
func (s *seenDays) commit() {
	for _, p := range s.pending {
		if set, ok := s.days[p.day]; ok {
			if _, dup := set[p.h]; !dup {
				set[p.h] = struct{}{}
				s.keys++
			}
		}
	}
	s.pending = s.pending[:0]
}

// forget drops every set, after events were deleted, and what a failed
// batch left pending.
func (s *seenDays) forget() {
	s.days, s.keys, s.pending = nil, 0, s.pending[:0]
}

// seen reports whether the event with summary key sumKey (its dedup
// identity) and eventID index key idKey, of day, is stored already or was
// written earlier in the current batch. When it is not, the caller stores
// the event and the hash of idKey is pending until the batch is committed
// (seenDays.commit).
//
// The memory holds hashes of eventID index keys, which lack the eventID, so
// a present hash is confirmed by reading the summary: that answers whether
// this very event is stored, not another of the same entry.
func (db *DB) seen(sumKey, idKey []byte, day int32, inBatch map[string]struct{}) (bool, error) {
	if _, ok := inBatch[string(sumKey)]; ok {
		return true, nil
	}
	s := &db.seenDays
	set, err := s.set(db.pdb, day)
	if err != nil {
		return false, err
	}
	if set != nil {
		h := s.hash(idKey)
		if _, ok := set[h]; !ok {
			s.pending = append(s.pending, seenHash{day, h})
			return false, nil
		}
	}
	_, closer, err := db.pdb.Get(sumKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil // its hash, if held, is in the set already
	}
	if err != nil {
		return false, fmt.Errorf("cannot look up summary key: %w", err)
	}
	return true, closer.Close()
}
