package test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	"github.com/cairn-lake/cairn/node"
	"github.com/cairn-lake/cairn/storage/event"
)

// genEvents returns n realistic CloudTrail records from the agent's
// generator, spread over accounts accounts and the last week.
//
// With CAIRN_BENCH_ORDER=time they come in eventTime order, as agents
// deliver current events, instead of in random order over the week.
func genEvents(n, accounts int, seed int64) [][]byte {
	g := gen.New(gen.Config{Seed: seed, Accounts: accounts, Start: time.Now().Add(-7 * 24 * time.Hour), Days: 7})
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next(nil)
	}
	if os.Getenv("CAIRN_BENCH_ORDER") == "time" {
		type timed struct {
			t   int64
			raw []byte
		}
		byTime := make([]timed, len(out))
		for i, raw := range out {
			e, err := event.Parse(raw, time.Now())
			if err != nil {
				panic(err)
			}
			byTime[i] = timed{e.EventTimeUnixNano, raw}
		}
		slices.SortStableFunc(byTime, func(a, b timed) int { return cmp.Compare(a.t, b.t) })
		for i := range byTime {
			out[i] = byTime[i].raw
		}
	}
	return out
}

// ingestRun is what one load of benchIngest measured.
type ingestRun struct {
	eventsPerSec float64
	cpuPerEvent  float64 // process CPU µs per acknowledged event; 0 if unknown
}

// report reports r as benchmark metrics, their units prefixed with prefix.
func (r ingestRun) report(b *testing.B, prefix string) {
	b.ReportMetric(r.eventsPerSec, prefix+"events/s")
	if r.cpuPerEvent > 0 {
		b.ReportMetric(r.cpuPerEvent, prefix+"cpu-µs/event")
	}
}

// benchIngest loads events into the cluster over streams parallel gRPC
// streams (one per node in turn) and returns the acknowledged events per
// second and the process CPU time per event while they were sent (nodes and
// client; it varies less than events/s between runs and with other load).
func benchIngest(b *testing.B, c *Cluster, events [][]byte, streams int) ingestRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, streams)
	acked := make([]int, streams)
	stopProfile := profileCPU(b, "CAIRN_BENCH_INGEST_PROFILE") // the load alone
	cpuStart, cpuOK := processCPU()
	start := time.Now()
	for s := range streams {
		var part [][]byte // every streams-th event, so that all streams go through time together
		for i := s; i < len(events); i += streams {
			part = append(part, events[i])
		}
		addr := c.Node(s % c.Len()).GRPCAddr()
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := Ingest(ctx, addr, part, 500, 8)
			errs[s] = err
			if res != nil {
				acked[s] = len(res.Acked)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpuEnd, _ := processCPU()
	stopProfile()
	total := 0
	for s := range streams {
		if errs[s] != nil {
			b.Fatalf("stream %d: %v", s, errs[s])
		}
		total += acked[s]
	}
	if total != len(events) {
		b.Fatalf("acknowledged %d of %d events", total, len(events))
	}
	r := ingestRun{eventsPerSec: float64(total) / elapsed.Seconds()}
	if cpuOK {
		r.cpuPerEvent = float64((cpuEnd - cpuStart).Microseconds()) / float64(total)
	}
	return r
}

// benchFirstLoad reports whether an ingest benchmark first loads its events
// into a cluster of its own, untimed, before the load it measures: yes unless
// CAIRN_BENCH_FIRST_LOAD=0.
//
// The first load is there because of the virtual machines this project is
// measured on: the first time since boot that the guest touches a page of
// its memory costs the host about 8 µs, against about 1.3 µs for a page the
// guest has used before (docs/benchmarks.md). The load touches about 7 GB
// (the process's memtables and heap, and the page cache of the files it
// writes). On a freshly booted machine the first load pays that and the
// second does not; a node that has run for a while no longer pays it either.
// Both figures are reported: first-events/s and events/s.
func benchFirstLoad() bool { return os.Getenv("CAIRN_BENCH_FIRST_LOAD") != "0" }

// runIngestBenchmark measures the load of events over streams streams into a
// cluster from newCluster, after a first load into another one (see
// benchFirstLoad), and reports the rates, CPU and disk bytes per event.
func runIngestBenchmark(b *testing.B, events [][]byte, streams int, newCluster func() *Cluster) {
	for range b.N {
		b.StopTimer()
		if benchFirstLoad() {
			c := newCluster()
			first := benchIngest(b, c, events, streams)
			c.Close()
			first.report(b, "first-")
			// Its files would otherwise be written back, and its heap
			// collected, during the measured load.
			if err := os.RemoveAll(c.dir); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
		}
		c := newCluster()
		b.StartTimer()
		r := benchIngest(b, c, events, streams)
		b.StopTimer()
		r.report(b, "")
		reportDisk(b, c, 0, len(events))
		c.Close()
	}
}

// profileCPU starts a CPU profile into the file named by the environment
// variable env, if it is set, and returns the function that stops it.
func profileCPU(b *testing.B, env string) (stop func()) {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// reportDisk flushes and compacts every shard replica of node i and reports
// Pebble bytes per stored event.
func reportDisk(b *testing.B, c *Cluster, i int, events int) {
	b.Helper()
	bytes, stored, err := c.Node(i).CompactAll()
	if err != nil {
		b.Fatal(err)
	}
	if stored != uint64(events) {
		b.Fatalf("node holds %d events, want %d", stored, events)
	}
	b.ReportMetric(float64(bytes)/float64(stored), "disk-bytes/event")
	var raw int64
	filepath.Walk(c.configs[i].DataDir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			raw += fi.Size()
		}
		return nil
	})
	b.ReportMetric(float64(raw)/float64(stored), "datadir-bytes/event")
}

// benchEvents is how many events each ingest benchmark loads: 500,000
// (~750 MB of JSON), enough that memtables flush and compactions run, so the
// figure is a sustained rate. CAIRN_BENCH_EVENTS overrides it.
func benchEvents(b *testing.B) int {
	if s := os.Getenv("CAIRN_BENCH_EVENTS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		return n
	}
	return 500000
}

// BenchmarkIngest1Node: a single-node cluster (RF=1), realistic ~1.4 KB
// events from 50 accounts over 4 streams.
func BenchmarkIngest1Node(b *testing.B) {
	n := benchEvents(b)
	events := genEvents(n, 50, 1)
	var size int
	for _, e := range events {
		size += len(e)
	}
	b.Logf("%d events, %.0f bytes each on average", n, float64(size)/float64(n))
	b.ResetTimer()
	runIngestBenchmark(b, events, 4, func() *Cluster {
		return NewCluster(b, 1, WithReplicas(1), WithConfig(productionCache))
	})
}

// BenchmarkIngest3Node: three nodes in one process, RF=3, 8 shards.
func BenchmarkIngest3Node(b *testing.B) {
	n := benchEvents(b)
	events := genEvents(n, 50, 2)
	b.ResetTimer()
	runIngestBenchmark(b, events, 6, func() *Cluster {
		return NewCluster(b, 3, WithConfig(productionCache))
	})
}

// productionCache gives benchmark nodes the default cache and memtables
// (the test harness shrinks them).
func productionCache(cfg *node.Config) {
	cfg.CacheBytes = 0
	cfg.MemTableBytes = 0
}
