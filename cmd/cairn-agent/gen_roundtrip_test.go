package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
	"github.com/cairn-lake/cairn/storage/event"
)

// The generator's records, written in every format the agent reads, come
// back from the agent's own splitter byte for byte, and the cluster's
// parser accepts each.
func TestGeneratedRecordsRoundTrip(t *testing.T) {
	g := gen.New(gen.Config{Seed: 3, Accounts: 7, Start: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Days: 3})
	recs := make([][]byte, 2000)
	for i := range recs {
		recs[i] = g.Next(nil)
	}
	logFile := append(append([]byte(`{"Records":[`), bytes.Join(recs, []byte(","))...), "]}"...)
	formats := map[string][]byte{
		"log file":   logFile,
		"array":      append(append([]byte("[\n"), bytes.Join(recs, []byte(",\n"))...), "\n]"...),
		"json lines": append(bytes.Join(recs, []byte("\n")), '\n'),
		"gzip":       gzipped(t, logFile),
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for name, data := range formats {
		sp, err := source.NewSplitter(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := 0; ; i++ {
			rec, err := sp.Next()
			if errors.Is(err, io.EOF) {
				if i != len(recs) {
					t.Fatalf("%s: %d records, want %d", name, i, len(recs))
				}
				break
			}
			if err != nil {
				t.Fatalf("%s record %d: %v", name, i, err)
			}
			if !bytes.Equal(rec, recs[i]) {
				t.Fatalf("%s record %d differs:\n got %s\nwant %s", name, i, rec, recs[i])
			}
			if _, err := event.Parse(rec, now); err != nil {
				t.Fatalf("%s record %d: the cluster would reject it: %v", name, i, err)
			}
		}
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
