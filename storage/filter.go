package storage

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// eventIDFilter is the Bloom filter policy of the shard DBs' levels above
// the last: a table's filter holds only its eventID index keys (0x21), and
// says "may contain" for every other key. The only point reads of keys that
// may be absent are the dedup checks of events the dedup memory (seenDays)
// does not cover, which read the eventID index; every other Get reads a key
// an index entry or a summary named, which exists. Filtering the other keys
// cost 10 bits per key for nothing, and their hashing at every flush and
// compaction. The last level has no filters: Pebble's Get does not read
// them there, so they were 5 bytes per event on disk for nothing.
//
// Its name differs from that of the Bloom policy before it, so that a
// filter is always read with the policy that wrote it (Pebble finds the
// policy by the name a table records): the full filters of tables written
// before are still read as such (options.go registers that policy), and an
// earlier version ignores these.
type eventIDFilter struct{ bloom pebble.FilterPolicy }

func newEventIDFilter() eventIDFilter { return eventIDFilter{bloom.FilterPolicy(bloomBitsPerKey)} }

func (eventIDFilter) Name() string { return "cairn.EventIDBloomFilter" }

func (f eventIDFilter) MayContain(ftype pebble.FilterType, filter, key []byte) bool {
	if len(key) == 0 || key[0] != prefixEventID {
		return true
	}
	return f.bloom.MayContain(ftype, filter, key)
}

func (f eventIDFilter) NewWriter(ftype pebble.FilterType) pebble.FilterWriter {
	return eventIDFilterWriter{f.bloom.NewWriter(ftype)}
}

type eventIDFilterWriter struct{ pebble.FilterWriter }

func (w eventIDFilterWriter) AddKey(key []byte) {
	if len(key) > 0 && key[0] == prefixEventID {
		w.FilterWriter.AddKey(key)
	}
}
