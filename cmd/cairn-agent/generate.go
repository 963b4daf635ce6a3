package main

import (
	"io"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
)

// generated is a source of n synthetic records. For a given seed it yields
// the same records on every run of the same UTC day: the events cover the
// days whole days before today.
type generated struct {
	g    *gen.Generator
	left int
}

func newGenerated(n, accounts int, seed int64, days int, now time.Time) *generated {
	today := now.UTC().Truncate(24 * time.Hour)
	g := gen.New(gen.Config{
		Seed:     seed,
		Accounts: accounts,
		Start:    today.AddDate(0, 0, -days),
		Days:     days,
	})
	return &generated{g: g, left: n}
}

func (s *generated) Next() ([]byte, error) {
	if s.left == 0 {
		return nil, io.EOF
	}
	s.left--
	return s.g.Next(nil), nil
}
