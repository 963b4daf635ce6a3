package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/spool"
)

// sourceDesc identifies a source, so that a spool is never resumed with a
// source other than the one that filled it.
type sourceDesc struct {
	Kind     string `json:"kind"` // generate, file, stdin or dir
	Path     string `json:"path,omitempty"`
	Seed     int64  `json:"seed,omitempty"`
	Accounts int    `json:"accounts,omitempty"`
	Start    string `json:"start,omitempty"` // RFC 3339
	Days     int    `json:"days,omitempty"`
}

func (d sourceDesc) String() string {
	switch d.Kind {
	case "generate":
		return fmt.Sprintf("--generate (seed %d, %d accounts, %d days from %s)", d.Seed, d.Accounts, d.Days, d.Start)
	case "stdin":
		return "standard input"
	}
	return fmt.Sprintf("--%s %s", d.Kind, d.Path)
}

// describeSource returns the description of the source opts name, checked
// against the one a spool recorded (nil for none). A generated source
// without --start takes the start the spool recorded, so that a run resumed
// on a later day generates the same events; opts.startTime is set either way.
func describeSource(opts *options, stored []byte) ([]byte, error) {
	var prev *sourceDesc
	if len(stored) > 0 {
		prev = &sourceDesc{}
		if err := json.Unmarshal(stored, prev); err != nil {
			return nil, fmt.Errorf("cannot read the source recorded in spool %s: %w", opts.spool, err)
		}
	}
	var d sourceDesc
	switch {
	case opts.generate > 0:
		if opts.startTime.IsZero() {
			if prev != nil && prev.Kind == "generate" && prev.Start != "" {
				t, err := time.Parse(time.RFC3339, prev.Start)
				if err != nil {
					return nil, fmt.Errorf("cannot read the source recorded in spool %s: %w", opts.spool, err)
				}
				opts.startTime = t
			} else {
				opts.startTime = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -opts.days)
			}
		}
		d = sourceDesc{Kind: "generate", Seed: opts.seed, Accounts: opts.accounts, Start: opts.startTime.Format(time.RFC3339), Days: opts.days}
	case opts.file == "-":
		d = sourceDesc{Kind: "stdin"}
	case opts.file != "":
		d = sourceDesc{Kind: "file", Path: absPath(opts.file)}
	default:
		d = sourceDesc{Kind: "dir", Path: absPath(opts.dir)}
	}
	if prev != nil && *prev != d {
		return nil, fmt.Errorf("spool %s belongs to %s, not to %s: give another --spool directory", opts.spool, prev, d)
	}
	return json.Marshal(d)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// openedSource is the source of one run.
type openedSource struct {
	reader source.Reader
	close  func()
	files  func() source.DirStats // zero for sources that are not directories
}

// openSource opens the source opts name, resuming after the position and
// the completed files the spool recovered.
func openSource(ctx context.Context, opts options, rec *spool.Recovered, con *console) (*openedSource, error) {
	var pos source.Position
	if len(rec.Mark) > 0 {
		if err := json.Unmarshal(rec.Mark, &pos); err != nil {
			return nil, fmt.Errorf("cannot read the source position recorded in spool %s: %w", opts.spool, err)
		}
	}
	noFiles := func() source.DirStats { return source.DirStats{} }
	switch {
	case opts.generate > 0:
		g := newGenerated(ctx, opts.generate, opts.accounts, opts.seed, opts.startTime, opts.days, opts.rate, pos.Records)
		return &openedSource{reader: g, close: func() {}, files: noFiles}, nil
	case opts.file != "":
		if opts.file != "-" && rec.Done[opts.file] {
			return &openedSource{reader: emptySource{}, close: func() {}, files: noFiles}, nil
		}
		skip := int64(0)
		if opts.file != "-" && pos.File == opts.file {
			skip = pos.Records
		}
		f, err := source.OpenFileAt(opts.file, skip)
		if err != nil {
			return nil, err
		}
		return &openedSource{reader: f, close: func() { _ = f.Close() }, files: noFiles}, nil
	default:
		d, err := source.OpenDir(ctx, opts.dir, source.DirOptions{
			Follow: opts.follow,
			Poll:   opts.poll,
			Done:   func(rel string) bool { return rec.Done[rel] },
			Resume: pos,
			Note:   func(msg string) { con.notef("%s", msg) },
		})
		if err != nil {
			return nil, err
		}
		return &openedSource{reader: d, close: func() { _ = d.Close() }, files: d.Stats}, nil
	}
}

// emptySource is a source with nothing left to read.
type emptySource struct{}

func (emptySource) Next() ([]byte, error) { return nil, io.EOF }
