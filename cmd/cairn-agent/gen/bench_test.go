package gen

import (
	"testing"

	"github.com/cairn-lake/cairn/storage/event"
)

// BenchmarkNext measures generation on one goroutine.
//
//	go test -run '^$' -bench Next -benchmem ./cmd/cairn-agent/gen/
func BenchmarkNext(b *testing.B) {
	g := New(Config{Seed: 1, Start: testStart, Days: 7})
	buf := make([]byte, 0, 8192)
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		buf = g.Next(buf[:0])
		bytes += int64(len(buf))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/event")
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// BenchmarkParseGenerated measures event.Parse on the generator's mix, the
// closest thing to real ingest traffic available to tests.
func BenchmarkParseGenerated(b *testing.B) {
	g := New(Config{Seed: 1, Start: testStart, Days: 7})
	raws := make([][]byte, 4096)
	size := 0
	for i := range raws {
		raws[i] = g.Next(nil)
		size += len(raws[i])
	}
	b.SetBytes(int64(size / len(raws)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := event.Parse(raws[i%len(raws)], farFuture); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}
