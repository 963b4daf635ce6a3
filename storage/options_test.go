package storage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// The Bloom filters hold the summary keys and no others: a dedup check of a
// new event skips the tables whose filter says so, and a key of another
// keyspace is never filtered out.
func TestSummaryFilter(t *testing.T) {
	f := summaryFilter()
	w := f.NewWriter(pebble.TableFilter)
	id := func(i int) []byte { return fmt.Appendf([]byte{prefixSummary}, "id-%d", i) }
	other := func(i int) []byte { return fmt.Appendf([]byte{prefixEventID}, "id-%d", i) }
	for i := range 1000 {
		w.AddKey(id(i))
		w.AddKey(other(i))
	}
	filter := w.Finish(nil)
	falsePositives := 0
	for i := range 1000 {
		if !f.MayContain(pebble.TableFilter, filter, id(i)) {
			t.Fatalf("the filter lost %q", id(i))
		}
		if !f.MayContain(pebble.TableFilter, filter, other(i+1000)) {
			t.Fatalf("the filter ruled out %q, of another keyspace", other(i+1000))
		}
		if f.MayContain(pebble.TableFilter, filter, id(i+1000)) {
			falsePositives++
		}
	}
	if falsePositives > 30 {
		t.Errorf("%d false positives in 1000 absent summary keys", falsePositives)
	}

	// In a DB: the dedup checks of new events, read from flushed tables (no
	// dedup memory), skip their blocks. The filters of all keys that tables
	// of earlier versions have still serve; the eventID index filters of
	// layouts 3 and 4 are read and rule out nothing the checks ask for. No
	// compaction moves the tables to the last level, whose filters Pebble's
	// Get does not read.
	defer func(days int) { seenMaxDays = days }(seenMaxDays)
	seenMaxDays = 0
	noCompactions := func(o *pebble.Options) { o.DisableAutomaticCompactions = true }
	withFilter := func(p pebble.FilterPolicy) func(o *pebble.Options) {
		return func(o *pebble.Options) {
			noCompactions(o)
			for i := range o.Levels {
				o.Levels[i].FilterPolicy = p
			}
		}
	}
	for _, tc := range []struct {
		name             string
		tune             func(*pebble.Options)
		minHits, maxHits int64
	}{
		{"summary filters", noCompactions, 150, math.MaxInt64},
		{"filters of all keys", withFilter(bloom.FilterPolicy(bloomBitsPerKey)), 150, math.MaxInt64},
		// They hold no summary keys, so they must say "may contain" to
		// every dedup check.
		{"eventID filters", withFilter(eventIDFilter()), 0, 0},
	} {
		dir := t.TempDir()
		db := mustOpen(t, dir, Options{tune: tc.tune})
		ents := entries(5, 4, 200)
		mustApply(t, db, 1, ents[0]...)
		mustFlush(t, db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = mustOpen(t, dir, Options{tune: noCompactions})
		before := db.pdb.Metrics().Filter
		mustApply(t, db, 2, ents[1]...)
		after := db.pdb.Metrics().Filter
		if hits := after.Hits - before.Hits; hits < tc.minHits || hits > tc.maxHits {
			t.Errorf("%s: the filters spared %d block reads to 200 dedup checks of new events, want %d to %d", tc.name, hits, tc.minHits, tc.maxHits)
		}
		statuses := mustApply(t, db, 3, ents[0]...)
		if want := slices.Repeat([]cairnv1.EventStatus{duplicate}, len(ents[0])); !slices.Equal(statuses, want) {
			t.Errorf("%s: re-sent events after a flush: %v…, want duplicates", tc.name, statuses[:3])
		}
	}

	// The last level's tables have no filter.
	db := mustOpen(t, t.TempDir(), Options{})
	mustApply(t, db, 1, entries(6, 1, 300)[0]...)
	mustFlush(t, db)
	if err := db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	levels, err := db.pdb.SSTables(pebble.WithProperties())
	if err != nil {
		t.Fatal(err)
	}
	last := levels[len(levels)-1]
	if len(last) == 0 {
		t.Fatal("no table in the last level after a full compaction")
	}
	for _, table := range last {
		if table.Properties.FilterSize != 0 {
			t.Errorf("table %s of the last level has a filter of %d bytes", table.FileNum, table.Properties.FilterSize)
		}
	}
}
