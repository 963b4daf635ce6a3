package source

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// File reads the records of one file, or of standard input when the path is
// "-". It implements Tracker. The caller must call Close.
type File struct {
	path     string   // as given; "-" for standard input
	name     string   // for messages
	f        *os.File // nil for standard input
	splitter *Splitter
	skip     int64 // records to pass over before the first one returned
	n        int64 // records read so far, including skipped ones
	ended    bool  // Next has returned io.EOF
	reported bool  // Completed has returned path
}

// OpenFile opens path ("-" for standard input) for reading records; see
// Splitter for the formats it accepts.
func OpenFile(path string) (*File, error) {
	return OpenFileAt(path, 0)
}

// OpenFileAt opens path like OpenFile, resuming after its first skip records:
// they are read but not returned, and Position counts on from skip. Standard
// input cannot be read again, so it cannot resume: skip must be 0 for "-".
func OpenFileAt(path string, skip int64) (*File, error) {
	switch {
	case skip < 0:
		return nil, fmt.Errorf("cannot resume %s at record %d: want 0 or more", path, skip)
	case path == "-" && skip > 0:
		return nil, fmt.Errorf("cannot resume standard input after %d records: it can only be read from its start", skip)
	}
	if path == "-" {
		s, err := NewSplitter(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("cannot read standard input: %w", err)
		}
		return &File{path: path, name: "standard input", splitter: s}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open records file: %w", err)
	}
	s, err := NewSplitter(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return &File{path: path, name: path, f: f, splitter: s, skip: skip}, nil
}

// Next returns the next record, or io.EOF after the last one. When resuming,
// it is an error for the file to end within the records to skip: it is then
// not the file that was partly read before.
func (f *File) Next() ([]byte, error) {
	for {
		rec, err := f.splitter.Next()
		if errors.Is(err, io.EOF) {
			if f.n < f.skip {
				return nil, fmt.Errorf("cannot resume %s after record %d: it has only %d records (was it replaced?)",
					f.name, f.skip, f.n)
			}
			f.ended = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", f.name, err)
		}
		f.n++
		if f.n > f.skip {
			return rec, nil
		}
	}
}

// Position returns the path as given and the records of it returned so far,
// counting from skip when resuming (so before the first record it is the
// position resumed from). For standard input File is empty.
func (f *File) Position() Position {
	n := max(f.n, f.skip)
	if f.f == nil {
		return Position{Records: n}
	}
	return Position{File: f.path, Records: n}
}

// Completed returns the path once, after Next has returned io.EOF; standard
// input is never reported, as it cannot be named again.
func (f *File) Completed() []string {
	if !f.ended || f.reported || f.f == nil {
		return nil
	}
	f.reported = true
	return []string{f.path}
}

// Close closes the file; it does nothing for standard input.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	return f.f.Close()
}
