package spool

import (
	"bytes"
	"testing"
)

// BenchmarkAppendAck spools and acknowledges batches of 500 events of
// 1.5 KB, syncing once per 64 batches (about once a second at 30,000
// events/s), as the agent does.
//
//	go test -run '^$' -bench AppendAck ./cmd/cairn-agent/spool/
func BenchmarkAppendAck(b *testing.B) {
	s, _, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ev := bytes.Repeat([]byte("x"), 1500)
	events := make([][]byte, 500)
	for i := range events {
		events[i] = ev
	}
	mark := []byte(`{"file":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/f.json.gz","records":1234}`)
	b.SetBytes(int64(len(events) * len(ev)))
	n := 0
	for b.Loop() {
		batch := &Batch{Events: events, Mark: mark}
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(batch.ID); err != nil {
			b.Fatal(err)
		}
		if n++; n%64 == 0 {
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n*len(events))/b.Elapsed().Seconds(), "events/s")
}
