package event

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses the fixtures in turn. Compare MB/s and events/s.
//
//	go test -run '^$' -bench Parse -benchmem ./storage/event/
func BenchmarkParse(b *testing.B) {
	raws := benchFixtures(b)
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	b.SetBytes(int64(size / len(raws)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(raws[i%len(raws)], testNow); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkParseParallel shows how the parser pool scales over GOMAXPROCS.
func BenchmarkParseParallel(b *testing.B) {
	raws := benchFixtures(b)
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	b.SetBytes(int64(size / len(raws)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := Parse(raws[i%len(raws)], testNow); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchFixtures(b *testing.B) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no fixtures: %v", err)
	}
	var raws [][]byte
	for _, f := range files {
		r, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, r)
	}
	return raws
}
