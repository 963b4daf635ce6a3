package source

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFileTracker(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	mustWrite(t, path, []byte(`{"Records":[`+recA+`,`+recB+`,`+recC+`]}`))

	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Position(); got != (Position{File: path}) {
		t.Fatalf("Position before reading = %+v", got)
	}
	for i := range 3 {
		if _, err := f.Next(); err != nil {
			t.Fatal(err)
		}
		if got := f.Position(); got != (Position{File: path, Records: int64(i + 1)}) {
			t.Fatalf("Position after record %d = %+v", i+1, got)
		}
		if got := f.Completed(); got != nil {
			t.Fatalf("Completed before the end = %v", got)
		}
	}
	if _, err := f.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next at the end: %v, want io.EOF", err)
	}
	if got := f.Completed(); !slices.Equal(got, []string{path}) {
		t.Fatalf("Completed at the end = %v, want [%s]", got, path)
	}
	if got := f.Completed(); got != nil {
		t.Fatalf("Completed again = %v, want nothing", got)
	}
}

func TestOpenFileAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json.gz")
	mustWrite(t, path, gzipBytes(t, []byte(recA+"\n"+recB+"\n"+recC+"\n")))

	f, err := OpenFileAt(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Position(); got != (Position{File: path, Records: 1}) {
		t.Fatalf("Position before reading = %+v, want the one resumed from", got)
	}
	assertRecords(t, mustReadAll(t, f), []string{recB, recC})
	if got := f.Position(); got != (Position{File: path, Records: 3}) {
		t.Fatalf("Position at the end = %+v", got)
	}

	t.Run("past the end", func(t *testing.T) {
		f, err := OpenFileAt(path, 4)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = f.Next()
		if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "has only 3 records") {
			t.Fatalf("Next = %v, want an error saying the file has only 3 records", err)
		}
		if got := f.Completed(); got != nil {
			t.Fatalf("Completed = %v, want nothing", got)
		}
	})
	for _, tc := range []struct {
		path    string
		skip    int64
		wantErr string
	}{
		{"-", 1, "cannot resume standard input"},
		{path, -1, "want 0 or more"},
	} {
		if _, err := OpenFileAt(tc.path, tc.skip); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("OpenFileAt(%q, %d) = %v, want an error containing %q", tc.path, tc.skip, err, tc.wantErr)
		}
	}
}
