package storage

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// eventsPerEntry is the size of one benchmark Raft entry: ~1 MB of synthetic
// CloudTrail records, what the leader's micro-batching aims for.
const eventsPerEntry = 800

// BenchmarkApplyIngest applies Raft entries of synthetic CloudTrail records
// with the default options. One op is one entry of eventsPerEntry events.
// It reports:
//   - events/s: ApplyIngest throughput (dedup lookups, batch commit, and the
//     background flushes and compactions that run meanwhile);
//   - cpu-µs/event: process CPU time per event, from the first entry to the
//     end of the final full compaction (so all the work of getting the data
//     to its last level), minus the time spent generating events. It moves
//     less than events/s when other processes load the machine;
//   - disk-B/event: bytes on disk per stored event after Compact (both
//     keyspaces, all files of the DB);
//   - raw-B/event: the average size of the records themselves.
//
// bytes/event includes fixed overheads (MANIFEST, OPTIONS), so run enough
// entries for it to mean something:
//
//	go test ./storage/ -run '^$' -bench 'ApplyIngest$' -benchtime 200x
func BenchmarkApplyIngest(b *testing.B) {
	benchmarkApplyIngest(b, Options{})
}

// BenchmarkApplyIngestVariants compares Pebble settings on the same load. It
// is how the constants in options.go were chosen:
//
//	go test ./storage/ -run '^$' -bench 'ApplyIngestVariants' -benchtime 200x
func BenchmarkApplyIngestVariants(b *testing.B) {
	setLevels := func(blockSize int, profileFor func(level int) *sstable.CompressionProfile) func(*pebble.Options) {
		return func(o *pebble.Options) {
			for i := range o.Levels {
				profile := profileFor(i)
				o.Levels[i].BlockSize = blockSize
				o.Levels[i].Compression = func() *sstable.CompressionProfile { return profile }
			}
		}
	}
	uniform := func(p *sstable.CompressionProfile) func(int) *sstable.CompressionProfile {
		return func(int) *sstable.CompressionProfile { return p }
	}
	// bottom: as chosen, but with p at L6.
	bottom := func(p *sstable.CompressionProfile) func(int) *sstable.CompressionProfile {
		return func(level int) *sstable.CompressionProfile {
			if level == 6 {
				return p
			}
			return levelCompression(level)
		}
	}
	// bottomBlocks: as chosen, but with blocks of blockSize and p at L6.
	bottomBlocks := func(blockSize int, p *sstable.CompressionProfile) func(*pebble.Options) {
		return func(o *pebble.Options) {
			l := &o.Levels[len(o.Levels)-1]
			l.BlockSize = blockSize
			l.Compression = func() *sstable.CompressionProfile { return p }
		}
	}
	for _, v := range []struct {
		name string
		tune func(*pebble.Options)
	}{
		{"chosen", nil},
		{"pebble-default-blocks-4K-snappy", setLevels(4<<10, uniform(sstable.SnappyCompression))},
		{"fastest-128K", setLevels(128<<10, uniform(sstable.FastestCompression))},
		{"zstd1-64K", setLevels(64<<10, uniform(sstable.BalancedCompression))},
		{"zstd1-128K", setLevels(128<<10, uniform(sstable.BalancedCompression))},
		{"zstd3-32K", setLevels(32<<10, uniform(sstable.ZstdCompression))},
		{"zstd3-64K", setLevels(64<<10, uniform(sstable.ZstdCompression))},
		{"zstd3-128K", setLevels(128<<10, uniform(sstable.ZstdCompression))},
		{"zstd3-256K", setLevels(256<<10, uniform(sstable.ZstdCompression))},
		{"zstd5-128K", setLevels(128<<10, uniform(zstdAt(5)))},
		{"zstd7-128K", setLevels(128<<10, uniform(zstdAt(7)))},
		{"zstd3-L6zstd7-128K", setLevels(128<<10, bottom(zstdAt(7)))},
		{"zstd3-L6zstd7-256K", setLevels(256<<10, bottom(zstdAt(7)))},
		{"zstd3-L6zstd9-256K", setLevels(256<<10, bottom(zstdAt(9)))},
		{"L6-128K", bottomBlocks(128<<10, levelCompression(6))},
		{"L6zstd4-128K", bottomBlocks(128<<10, zstdAt(4))},
		{"L6zstd4-256K", bottomBlocks(256<<10, zstdAt(4))},
		{"L6zstd5-128K", bottomBlocks(128<<10, zstdAt(5))},
		{"L6zstd5-256K", bottomBlocks(256<<10, zstdAt(5))},
		{"valsep-256-depth10", valueSeparation(256, 10)},
		{"valsep-256-depth50", valueSeparation(256, 50)},
	} {
		b.Run(v.name, func(b *testing.B) {
			benchmarkApplyIngest(b, Options{tune: v.tune})
		})
	}
}

// valueSeparation moves values of at least minSize bytes into blob files,
// which compactions then carry by reference instead of rewriting.
func valueSeparation(minSize, depth int) func(*pebble.Options) {
	return func(o *pebble.Options) {
		o.FormatMajorVersion = pebble.FormatValueSeparation
		o.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
			return pebble.ValueSeparationPolicy{
				Enabled:               true,
				MinimumSize:           minSize,
				MaxBlobReferenceDepth: depth,
				RewriteMinimumAge:     time.Hour,
				TargetGarbageRatio:    0.2,
			}
		}
	}
}

func benchmarkApplyIngest(b *testing.B, opts Options) {
	db := mustOpen(b, b.TempDir(), opts)
	gen := newEventGen(1, day0)
	var events, rawBytes int
	var genCPU time.Duration // CPU spent building events, not storing them
	cpuStart, cpuOK := processCPU()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		before, _ := processCPU()
		batch := gen.batch(eventsPerEntry)
		for _, e := range batch {
			rawBytes += len(e.Raw)
		}
		after, _ := processCPU()
		genCPU += after - before
		b.StartTimer()
		if _, err := db.ApplyIngest(uint64(i+1), batch); err != nil {
			b.Fatal(err)
		}
		events += len(batch)
	}
	b.StopTimer()
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")

	if err := db.Compact(); err != nil {
		b.Fatal(err)
	}
	if cpuEnd, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64((cpuEnd-cpuStart-genCPU).Microseconds())/float64(events), "cpu-µs/event")
	}
	if db.EventCount() != uint64(events) {
		b.Fatalf("stored %d events, applied %d", db.EventCount(), events)
	}
	reportKeyspaces(b, db, events)
	b.ReportMetric(float64(rawBytes)/float64(events), "raw-B/event")
}

// reportKeyspaces reports db's bytes on disk per event, in all and per
// keyspace (as Pebble estimates them), and the sstables' Bloom filter,
// index and data block bytes per event.
func reportKeyspaces(b *testing.B, db *DB, events int) {
	used, err := db.DiskUsage()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used)/float64(events), "disk-B/event")
	tables, err := db.pdb.SSTables(pebble.WithProperties())
	if err != nil {
		b.Fatal(err)
	}
	var filter, index, data, nt uint64
	for _, lvl := range tables {
		for _, t := range lvl {
			filter += t.Properties.FilterSize
			index += t.Properties.IndexSize
			data += t.Properties.DataSize
			nt++
		}
	}
	b.ReportMetric(float64(filter)/float64(events), "filter-B/event")
	b.ReportMetric(float64(index)/float64(events), "idxblk-B/event")
	b.ReportMetric(float64(data)/float64(events), "data-B/event")
	b.ReportMetric(float64(nt), "tables")
	for _, ks := range []struct {
		name         string
		lower, upper byte
	}{
		{"summary", prefixSummary, prefixSummary + 1}, {"record", prefixRecord, prefixRecord + 1},
		{"eventID", prefixEventID, prefixIndex}, {"index", prefixIndex, prefixCounts}, {"counts", prefixCounts, prefixCounts + 1},
	} {
		n, err := db.pdb.EstimateDiskUsage([]byte{ks.lower}, []byte{ks.upper})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/float64(events), ks.name+"-B/event")
	}
}

// BenchmarkGetRaw looks up random stored events by (account, eventID, time)
// in a compacted DB whose blocks fit in the cache: the cost of the three
// point reads (eventID index, summary, record) and of copying the record out.
func BenchmarkGetRaw(b *testing.B) {
	db := mustOpen(b, b.TempDir(), Options{})
	gen := newEventGen(2, day0)
	var events []*cairnv1.Event
	for i := range 20 {
		batch := gen.batch(eventsPerEntry)
		if _, err := db.ApplyIngest(uint64(i+1), batch); err != nil {
			b.Fatal(err)
		}
		events = append(events, batch...)
	}
	if err := db.Compact(); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		e := events[(i*7919)%len(events)]
		if _, err := db.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRetentionCut loads 1,000,000 synthetic events spread over 100
// days into one DB, compacts it, then applies a cut that expires the oldest
// 90 days and waits for the compaction that follows it. It reports the
// cut's apply time and the bytes on disk before and after:
//
//	go test ./storage/ -run '^$' -bench RetentionCut -benchtime 1x
func BenchmarkRetentionCut(b *testing.B) {
	const events, days = 1_000_000, 100
	for range b.N {
		b.StopTimer()
		db := mustOpen(b, b.TempDir(), Options{})
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		g := newEventGen(1, start)
		span := int64(days) * nanosPerDay
		for i := 0; i < events; i += eventsPerEntry {
			batch := g.batch(eventsPerEntry)
			for j, e := range batch {
				e.EventTimeUnixNano = start.UnixNano() + span/events*int64(i+j)
			}
			mustApply(b, db, uint64(i/eventsPerEntry+1), batch...)
		}
		if err := db.Compact(); err != nil {
			b.Fatal(err)
		}
		before, err := db.DiskUsage()
		if err != nil {
			b.Fatal(err)
		}
		// Keep the newest 10 days.
		r := NewRetention(&cairnv1.RetentionRules{Policies: []*cairnv1.RetentionPolicy{{Days: 10}}}, start.UnixNano()+span)
		b.StartTimer()
		st, err := db.ApplyCut(uint64(events), r)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		for db.compacting.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if err := db.Compact(); err != nil {
			b.Fatal(err)
		}
		after, err := db.DiskUsage()
		if err != nil {
			b.Fatal(err)
		}
		if kept := db.EventCount(); kept != events-st.Events || st.Events < events*89/100 || st.Events > events*91/100 {
			b.Fatalf("the cut deleted %d of %d events and %d remain", st.Events, events, kept)
		}
		b.ReportMetric(float64(st.Events), "events-deleted")
		b.ReportMetric(float64(before)/(1<<20), "MiB-before")
		b.ReportMetric(float64(after)/(1<<20), "MiB-after")
	}
}

func zstdAt(level uint8) *sstable.CompressionProfile {
	p := *sstable.ZstdCompression
	p.DataBlocks.Level = level
	p.ValueBlocks.Level = level
	return &p
}
