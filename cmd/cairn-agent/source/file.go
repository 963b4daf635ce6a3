package source

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// File reads the records of one file, or of standard input when the path is
// "-". The caller must call Close.
type File struct {
	name     string
	f        *os.File // nil for standard input
	splitter *Splitter
}

// OpenFile opens path ("-" for standard input) for reading records; see
// Splitter for the formats it accepts.
func OpenFile(path string) (*File, error) {
	if path == "-" {
		s, err := NewSplitter(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("cannot read standard input: %w", err)
		}
		return &File{name: "standard input", splitter: s}, nil
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
	return &File{name: path, f: f, splitter: s}, nil
}

// Next returns the next record, or io.EOF after the last one.
func (f *File) Next() ([]byte, error) {
	rec, err := f.splitter.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot read %s: %w", f.name, err)
	}
	return rec, err
}

// Close closes the file; it does nothing for standard input.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	return f.f.Close()
}
