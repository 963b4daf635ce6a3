package storage

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// keyspaceFilter is a Bloom filter policy that holds the keys of one keyspace
// only and says "may contain" for every other key.
//
// The shard DBs' levels above the last use it for the summaries
// (summaryFilter): the only point reads of keys that may be absent are the
// dedup checks, which read an event's summary key when the dedup memory
// (seenDays) does not cover its day or holds its eventID index key's hash.
// Every other Get reads a key an index entry or a summary named, which
// exists, so filtering other keys would cost 10 bits per key for nothing,
// and their hashing at every flush and compaction. The last level has no
// filters: Pebble's Get does not read them there, so they would be bytes on
// disk for nothing.
//
// A policy's name says which keys its filters hold, so that a filter is
// always read with the policy that wrote it (Pebble finds the policy by the
// name a table records). options.go registers the policies of earlier
// versions, whose tables are read as they are until compactions rewrite
// them; an earlier version ignores the filters of a policy it does not know.
type keyspaceFilter struct {
	name   string
	prefix byte
	bloom  pebble.FilterPolicy
}

func newKeyspaceFilter(name string, prefix byte) keyspaceFilter {
	return keyspaceFilter{name, prefix, bloom.FilterPolicy(bloomBitsPerKey)}
}

// summaryFilter is the filter policy the shard DBs write.
func summaryFilter() keyspaceFilter {
	return newKeyspaceFilter("cairn.SummaryBloomFilter", prefixSummary)
}

// eventIDFilter is the filter policy of layouts 3 and 4, which read the
// eventID index for dedup checks.
func eventIDFilter() keyspaceFilter {
	return newKeyspaceFilter("cairn.EventIDBloomFilter", prefixEventID)
}

func (f keyspaceFilter) Name() string { return f.name }

func (f keyspaceFilter) MayContain(ftype pebble.FilterType, filter, key []byte) bool {
	if len(key) == 0 || key[0] != f.prefix {
		return true
	}
	return f.bloom.MayContain(ftype, filter, key)
}

func (f keyspaceFilter) NewWriter(ftype pebble.FilterType) pebble.FilterWriter {
	return keyspaceFilterWriter{f.bloom.NewWriter(ftype), f.prefix}
}

type keyspaceFilterWriter struct {
	pebble.FilterWriter
	prefix byte
}

func (w keyspaceFilterWriter) AddKey(key []byte) {
	if len(key) > 0 && key[0] == w.prefix {
		w.FilterWriter.AddKey(key)
	}
}
