package source

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Records written with the irregular spacing, escapes and number spellings
// that re-encoding would change: the splitter must hand them on untouched.
var (
	recA = `{"eventVersion":"1.08","eventID":"a1b2c3d4-0000-4000-8000-000000000001","eventTime":"2026-03-01T10:00:00Z","recipientAccountId":"123456789012"}`
	recB = `{"eventID" : "a1b2c3d4-0000-4000-8000-000000000002",  "userAgent":"caf\u00e9 \"quoted\"", "n": 1.50E+2, "list":[ 1 ,2 ]}`
	recC = "{\n    \"eventID\": \"a1b2c3d4-0000-4000-8000-000000000003\",\n    \"requestParameters\": {\"Records\": [1]}\n  }"
)

func TestSplitterFormats(t *testing.T) {
	all := []string{recA, recB, recC}
	cases := []struct {
		name  string
		input string
		want  []string
	}{
		{"log file object", `{"Records":[` + recA + `,` + recB + `,` + recC + `]}`, all},
		{"log file object, spaced, other keys", "\n{ \"Other\": {\"x\": [1]},\n \"Records\" : [\n  " + recA + " ,\n  " + recB + ",\n" + recC + "\n ], \"Tail\": true }\n", all},
		{"log file object, empty Records", `{"Records":[]}`, nil},
		{"bare array", `[` + recA + `,` + recB + `,` + recC + `]`, all},
		{"bare array, pretty", "[\n  " + recA + ",\n  " + recB + ",\n  " + recC + "\n]\n", all},
		{"empty array", "[ ]", nil},
		{"json lines", recA + "\n" + recB + "\n" + recC + "\n", all},
		{"json lines, crlf and blank lines", recA + "\r\n\r\n" + recB + "\r\n" + recC, all},
		{"mixed top-level values", `{"Records":[` + recA + `]}` + "\n[" + recB + "]\n" + recC, all},
		{"empty input", "", nil},
		{"only whitespace", " \n\t\n", nil},
	}
	for _, tc := range cases {
		for _, compressed := range []bool{false, true} {
			name := tc.name
			input := []byte(tc.input)
			if compressed {
				name += ", gzip"
				input = gzipBytes(t, input)
			}
			t.Run(name, func(t *testing.T) {
				s, err := NewSplitter(bytes.NewReader(input))
				if err != nil {
					t.Fatalf("NewSplitter: %v", err)
				}
				got := mustReadAll(t, s)
				assertRecords(t, got, tc.want)
			})
		}
	}
}

// TestSplitterLargeInput crosses many buffer boundaries, where the splitter
// must look past the decoder's buffer for the start of the next value.
func TestSplitterLargeInput(t *testing.T) {
	var want []string
	var lines, array strings.Builder
	array.WriteString("[")
	for i := range 5000 {
		rec := fmt.Sprintf(`{"eventID":"%08d-0000-4000-8000-000000000000", "pad": %q}`, i, strings.Repeat("x", i%300))
		want = append(want, rec)
		lines.WriteString(rec + strings.Repeat(" ", i%7) + "\n")
		if i > 0 {
			array.WriteString(",\n")
		}
		array.WriteString(rec)
	}
	array.WriteString("]")
	for name, input := range map[string]string{"json lines": lines.String(), "array": array.String()} {
		for _, compressed := range []bool{false, true} {
			data := []byte(input)
			if compressed {
				data = gzipBytes(t, data)
				name += ", gzip"
			}
			t.Run(name, func(t *testing.T) {
				s, err := NewSplitter(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("NewSplitter: %v", err)
				}
				assertRecords(t, mustReadAll(t, s), want)
			})
		}
	}
}

func TestSplitterErrors(t *testing.T) {
	cases := []struct {
		name, input, wantErr string
	}{
		{"truncated object", `{"eventID":"x"`, "unexpected EOF"},
		{"truncated array", `[` + recA + `,`, "unexpected EOF"},
		{"garbage line", recA + "\nnot json\n", `unexpected 'n'`},
		{"bad Records", `{"Records":"nope"}`, "cannot read Records array"},
		{"number at top level", `42`, `unexpected '4'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSplitter(strings.NewReader(tc.input))
			if err != nil {
				t.Fatalf("NewSplitter: %v", err)
			}
			for {
				_, err = s.Next()
				if err != nil {
					break
				}
			}
			if errors.Is(err, io.EOF) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	input := []byte(`{"Records":[` + recA + `,` + recB + `]}`)
	plain := filepath.Join(dir, "plain.json")
	gz := filepath.Join(dir, "123456789012_CloudTrail_us-east-1_20260301T1000Z_abcdefgh12345678.json.gz")
	mustWrite(t, plain, input)
	mustWrite(t, gz, gzipBytes(t, input))
	for _, path := range []string{plain, gz} {
		f, err := OpenFile(path)
		if err != nil {
			t.Fatalf("OpenFile(%s): %v", path, err)
		}
		assertRecords(t, mustReadAll(t, f), []string{recA, recB})
		if err := f.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if _, err := OpenFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("OpenFile of a missing file succeeded")
	}
}

func mustReadAll(t *testing.T, r Reader) []string {
	t.Helper()
	var got []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(got), err)
		}
		got = append(got, string(rec))
	}
}

func assertRecords(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func gzipBytes(t *testing.T, data []byte) []byte {
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

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSplitterStreamsLogFile checks a log file object whose first key is
// Records, read one record at a time: records before a truncation come out,
// and keys after the array are passed over.
func TestSplitterStreamsLogFile(t *testing.T) {
	t.Run("keys after Records", func(t *testing.T) {
		input := `{"Records":[` + recA + `,` + recB + `], "Tail": {"Records": [1]}}` + "\n" + recC
		s, err := NewSplitter(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		assertRecords(t, mustReadAll(t, s), []string{recA, recB, recC})
	})
	t.Run("whitespace beyond the lookahead", func(t *testing.T) {
		input := "{" + strings.Repeat(" ", 300) + `"Records":[` + recA + `]}`
		s, err := NewSplitter(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		assertRecords(t, mustReadAll(t, s), []string{recA})
	})
	t.Run("truncated", func(t *testing.T) {
		input := `{"Records":[` + recA + `,` + recB + `,{"eventID":"cut`
		s, err := NewSplitter(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			rec, err := s.Next()
			if err != nil {
				if errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "unexpected EOF") {
					t.Fatalf("got error %v after %d records, want unexpected EOF", err, len(got))
				}
				break
			}
			got = append(got, string(rec))
		}
		assertRecords(t, got, []string{recA, recB})
	})
}

// TestSplitterBare checks the flag that tells a record standing on its own at
// the top level from one inside an array or a log file object.
func TestSplitterBare(t *testing.T) {
	input := `{"Records":[` + recA + `]}` + "\n[" + recB + "]\n" + recC
	s, err := NewSplitter(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true} {
		if _, err := s.Next(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if s.bare != want {
			t.Errorf("record %d: bare = %v, want %v", i, s.bare, want)
		}
	}
}
