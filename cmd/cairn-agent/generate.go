package main

import (
	"context"
	"io"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
)

// generated is a source of n synthetic records, the same ones for the same
// seed, accounts, start and days. It resumes by generating and dropping the
// records already taken, which costs about a microsecond each.
type generated struct {
	ctx   context.Context
	g     *gen.Generator
	n     int64
	taken int64
	rate  float64 // records per second; 0 is as fast as possible
	began time.Time
	base  int64 // taken when the pacing began
}

func newGenerated(ctx context.Context, n int64, accounts int, seed int64, start time.Time, days int, rate float64, skip int64) *generated {
	g := gen.New(gen.Config{Seed: seed, Accounts: accounts, Start: start, Days: days})
	s := &generated{ctx: ctx, g: g, n: n, rate: rate}
	var scratch []byte
	for s.taken < min(skip, n) {
		scratch = s.g.Next(scratch[:0])
		s.taken++
	}
	return s
}

// Next returns the next record; with a rate it first waits for the record's
// turn.
func (s *generated) Next() ([]byte, error) {
	if s.taken >= s.n {
		return nil, io.EOF
	}
	if s.rate > 0 {
		if s.began.IsZero() {
			s.began, s.base = time.Now(), s.taken
		}
		due := s.began.Add(time.Duration(float64(s.taken-s.base) / s.rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return nil, s.ctx.Err()
			}
		}
	}
	s.taken++
	return s.g.Next(nil), nil
}

// Position counts the records taken, including skipped ones.
func (s *generated) Position() source.Position { return source.Position{Records: s.taken} }

// Completed is always empty: the source has no files.
func (s *generated) Completed() []string { return nil }
