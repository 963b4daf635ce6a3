// Package source reads raw CloudTrail records for the agent to deliver.
//
// A record is handed on exactly as it appears in its source: the bytes of one
// JSON object, trimmed of surrounding whitespace, never decoded and
// re-encoded. The cluster stores those bytes and a lookup returns them byte
// for byte.
package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Reader yields raw records one at a time. It is not safe for concurrent use.
type Reader interface {
	// Next returns the next record, or io.EOF when there are no more. The
	// caller owns the returned slice.
	Next() ([]byte, error)
}

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// Splitter splits CloudTrail JSON into raw records. It accepts, in any mix
// and any number of top-level values:
//   - a CloudTrail log file object, {"Records":[…]} (other keys are ignored);
//   - a bare JSON array of records;
//   - one record object per value, as in JSON lines.
//
// Gzip input is detected by its magic bytes and decompressed.
//
// A log file object whose first key is "Records", as CloudTrail writes it, is
// read one record at a time, so records before a truncation are returned and
// only one record is held in memory. Otherwise the whole object is read first.
type Splitter struct {
	br        *bufio.Reader // the (decompressed) input; the decoder reads from it
	dec       *json.Decoder
	inArray   bool              // inside a top-level bare array
	inRecords bool              // inside the Records array of a streamed log file object
	pending   []json.RawMessage // records of a {"Records":[…]} value not yet returned
	bare      bool              // the last record returned was a top-level object itself
}

// NewSplitter returns a Splitter reading r, decompressing it first when it
// starts with the gzip magic bytes.
func NewSplitter(r io.Reader) (*Splitter, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(len(gzipMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot read input: %w", err)
	}
	if bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("cannot read gzip input: %w", err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	return &Splitter{br: br, dec: json.NewDecoder(br)}, nil
}

// Next returns the next raw record, or io.EOF after the last one.
func (s *Splitter) Next() ([]byte, error) {
	s.bare = false
	for {
		if len(s.pending) > 0 {
			rec := s.pending[0]
			s.pending[0] = nil
			s.pending = s.pending[1:]
			return bytes.TrimSpace(rec), nil
		}
		if s.inArray {
			if s.dec.More() {
				var rec json.RawMessage
				if err := s.dec.Decode(&rec); err != nil {
					return nil, s.syntaxError(err)
				}
				return bytes.TrimSpace(rec), nil
			}
			if _, err := s.dec.Token(); err != nil { // the closing ']'
				return nil, s.syntaxError(err)
			}
			s.inArray = false
			continue
		}
		if s.inRecords {
			if s.dec.More() {
				var rec json.RawMessage
				if err := s.dec.Decode(&rec); err != nil {
					return nil, s.syntaxError(err)
				}
				return bytes.TrimSpace(rec), nil
			}
			if err := s.endLogFile(); err != nil {
				return nil, s.syntaxError(err)
			}
			s.inRecords = false
			continue
		}

		c, err := s.peek()
		if err != nil {
			return nil, err // io.EOF at a value boundary: the input is done
		}
		switch c {
		case '[':
			if _, err := s.dec.Token(); err != nil {
				return nil, s.syntaxError(err)
			}
			s.inArray = true
		case '{':
			if recordsFirst.Match(s.lookahead(256)) {
				for range 3 { // '{', "Records", '['
					if _, err := s.dec.Token(); err != nil {
						return nil, s.syntaxError(err)
					}
				}
				s.inRecords = true
				continue
			}
			var obj json.RawMessage
			if err := s.dec.Decode(&obj); err != nil {
				return nil, s.syntaxError(err)
			}
			records, isLogFile, err := logFileRecords(obj)
			if err != nil {
				return nil, s.syntaxError(err)
			}
			if !isLogFile {
				s.bare = true
				return bytes.TrimSpace(obj), nil
			}
			s.pending = records
		default:
			return nil, fmt.Errorf("unexpected %q near byte %d: want a JSON object or array of CloudTrail records",
				c, s.dec.InputOffset())
		}
	}
}

// peek returns the first byte of the next top-level value without consuming
// it. The decoder may already hold that byte in its buffer; otherwise it is
// still in s.br, since the decoder stops reading at a value boundary once its
// buffer is used up.
func (s *Splitter) peek() (byte, error) {
	var buffered io.ByteReader // a view of the bytes the decoder holds but has not used
	if r, ok := s.dec.Buffered().(io.ByteReader); ok {
		buffered = r
	} else {
		buffered = bufio.NewReader(s.dec.Buffered())
	}
	for {
		b, err := buffered.ReadByte()
		if err != nil {
			break // only whitespace, if anything, is buffered
		}
		if !isSpace(rune(b)) {
			return b, nil
		}
	}
	for {
		b, err := s.br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("cannot read input: %w", err)
		}
		if !isSpace(rune(b[0])) {
			return b[0], nil
		}
		_, _ = s.br.ReadByte() // whitespace between values carries nothing
	}
}

// recordsFirst matches the start of a log file object whose first key is
// "Records" and holds an array.
var recordsFirst = regexp.MustCompile(`^[ \t\r\n]*\{[ \t\r\n]*"Records"[ \t\r\n]*:[ \t\r\n]*\[`)

// lookahead returns up to n bytes of input that the decoder has not used yet,
// without consuming them: first what the decoder holds in its buffer, then
// what is still in s.br.
func (s *Splitter) lookahead(n int) []byte {
	buf, _ := io.ReadAll(io.LimitReader(s.dec.Buffered(), int64(n)))
	if len(buf) < n {
		more, _ := s.br.Peek(n - len(buf)) // fewer bytes at the end of the input
		buf = append(buf, more...)
	}
	return buf
}

// endLogFile reads the rest of a streamed log file object after its Records
// array: the closing ']', any other keys (ignored) and the closing '}'.
func (s *Splitter) endLogFile() error {
	if _, err := s.dec.Token(); err != nil { // ']'
		return err
	}
	for s.dec.More() {
		if _, err := s.dec.Token(); err != nil { // a key
			return err
		}
		var skip json.RawMessage
		if err := s.dec.Decode(&skip); err != nil {
			return err
		}
	}
	_, err := s.dec.Token() // '}'
	return err
}

func (s *Splitter) syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("cannot split records: %w (near byte %d)", err, s.dec.InputOffset())
}

// logFileRecords reports whether obj is a CloudTrail log file object, one
// whose top level has a "Records" key (exact case), and returns the raw
// elements of its array.
func logFileRecords(obj []byte) (records []json.RawMessage, isLogFile bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, false, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, err
		}
		if key, _ := tok.(string); key == "Records" {
			if err := dec.Decode(&records); err != nil {
				return nil, false, fmt.Errorf("cannot read Records array: %w", err)
			}
			return records, true, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false, err
		}
	}
	return nil, false, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}
