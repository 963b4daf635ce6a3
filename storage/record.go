package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/cockroachdb/pebble/v2"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Record values (keyspace 0x12).
//
// A record's key already holds its eventTime, eventSource, eventName,
// awsRegion, eventID and account. So the value is the record as received
// with the values of those fields cut out, and reading puts them back from
// the key, giving the received bytes exactly. That is about 100 bytes less
// per record in memtables, flushes and Raft entries, and 12 less on disk
// (zstd had found most of the repetition between key and value):
//
//	value = raw                       nothing was cut (raw is JSON, so it
//	                                  starts with '{' or JSON white space,
//	                                  never 0x01)
//	value = 0x01 | n | n cuts | body  otherwise; each cut is
//	                                  uvarint(gap << 3 | field): the value of
//	                                  recordFields[field] goes back gap bytes
//	                                  of body after the previous cut
//
// A field is cut where the record has it as a top-level member whose value is
// a string that reads, between its quotes, exactly as the key's value (so a
// value the record writes with escapes is never cut). eventTime is cut only
// when written as 2006-01-02T15:04:05Z, as CloudTrail writes it, so that
// formatting the key's eventTime gives it back. Where the fields are is
// written in the value, so reading never searches, and putting back what the
// key holds gives the record whatever findRecordFields found.
//
// A value is a pure function of the record and its key, so replicas write
// the same values.
const recordCut byte = 0x01

// recordFields are the fields a record key holds. A cut names one by its
// index, in 3 bits.
var recordFields = [...]string{"eventTime", "eventSource", "eventName", "awsRegion", "eventID", "recipientAccountId"}

// RecordValues returns, for each of events, the record value of its Raw (see
// above), as cairnv1.Event.Record carries it. The values share one
// allocation.
func RecordValues(events []*cairnv1.Event) [][]byte {
	size := 0
	for _, e := range events {
		size += len(e.Raw) + 2 + len(recordFields)*3
	}
	buf := make([]byte, 0, size)
	values := make([][]byte, len(events))
	for i, e := range events {
		start := len(buf)
		k := eventRecordKey(e)
		buf = appendRecordValue(buf, e.Raw, &k)
		values[i] = buf[start:len(buf):len(buf)]
	}
	return values
}

// eventRecordKey returns the fields of e's record key.
func eventRecordKey(e *cairnv1.Event) recordKey[string] {
	return recordKey[string]{account: e.Account, source: e.EventSource, name: e.EventName,
		region: e.Region, eventID: e.EventId, eventTime: e.EventTimeUnixNano}
}

// checkRecordValue checks that value is a record value that k can read:
// that appendRecord would put back what it cut without an error. It does
// not read the body.
func checkRecordValue[T string | []byte](value []byte, k *recordKey[T]) error {
	var scratch [64]byte
	_, err := readRecord(value, func(_ []byte, field int) bool { return len(k.field(scratch[:0], field)) > 0 })
	return err
}

// recordKey is what a record's key holds, to cut from and put back into its
// value.
type recordKey[T string | []byte] struct {
	account, source, name, region, eventID T
	eventTime                              int64 // unix nanoseconds
}

// field appends the value of recordFields[i] as the record writes it to dst,
// or returns nil if the key cannot give it (an eventTime that is not a whole
// second).
func (k *recordKey[T]) field(dst []byte, i int) []byte {
	switch recordFields[i] {
	case "eventTime":
		return appendRecordTime(dst, k.eventTime)
	case "eventSource":
		return append(dst, k.source...)
	case "eventName":
		return append(dst, k.name...)
	case "awsRegion":
		return append(dst, k.region...)
	case "eventID":
		return append(dst, k.eventID...)
	default: // recipientAccountId
		return append(dst, k.account...)
	}
}

// appendRecordTime appends t (unix nanoseconds) as 2006-01-02T15:04:05Z, or
// returns nil if that would not give t back.
func appendRecordTime(dst []byte, t int64) []byte {
	tm := time.Unix(0, t).UTC() // years 1677–2262: four digits
	if tm.Nanosecond() != 0 {
		return nil
	}
	year, month, day := tm.Date()
	hour, minute, sec := tm.Clock()
	dst = appendDigits(dst, year, 4)
	dst = appendDigits(append(dst, '-'), int(month), 2)
	dst = appendDigits(append(dst, '-'), day, 2)
	dst = appendDigits(append(dst, 'T'), hour, 2)
	dst = appendDigits(append(dst, ':'), minute, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	return append(dst, 'Z')
}

// appendDigits appends v, which is not negative, as n decimal digits.
func appendDigits(dst []byte, v, n int) []byte {
	start := len(dst)
	for range n {
		dst = append(dst, 0)
	}
	for i := len(dst) - 1; i >= start; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// appendRecordValue appends the value that stores raw under k's record key.
func appendRecordValue[T string | []byte](dst, raw []byte, k *recordKey[T]) []byte {
	spans := findRecordFields(raw)
	var scratch [64]byte // a field's value; a longer one is allocated
	// The cuts, in the order of the record.
	var cuts [len(recordFields)]struct {
		span
		field int
	}
	n := 0
	for f, sp := range spans {
		if sp.start < 0 {
			continue
		}
		v := k.field(scratch[:0], f)
		if len(v) == 0 || !bytes.Equal(raw[sp.start:sp.end], v) {
			continue
		}
		i := n
		for ; i > 0 && cuts[i-1].start > sp.start; i-- {
			cuts[i] = cuts[i-1]
		}
		cuts[i].span, cuts[i].field = sp, f
		n++
	}
	if n == 0 && (len(raw) == 0 || raw[0] != recordCut) {
		return append(dst, raw...)
	}
	dst = append(dst, recordCut, byte(n))
	prev := 0 // where the previous cut ends, in raw
	for _, c := range cuts[:n] {
		dst = binary.AppendUvarint(dst, uint64(c.start-prev)<<3|uint64(c.field))
		prev = c.end
	}
	from := 0
	for _, c := range cuts[:n] {
		dst = append(dst, raw[from:c.start]...)
		from = c.end
	}
	return append(dst, raw[from:]...)
}

// findRecordFields returns, for each of recordFields, the bytes between the
// quotes of the first string value of a top-level member of that name in the
// JSON object b, or {-1, -1}. It reads any bytes without failing; where b is
// not such an object, what it finds is only less useful. It stops once it
// has found every field.
func findRecordFields(b []byte) (spans [len(recordFields)]span) {
	for i := range spans {
		spans[i] = span{-1, -1}
	}
	var (
		depth int
		key   = false // the next string at depth 1 is a member name
		field = -1    // the index in recordFields of the name whose value comes next
		found int
	)
	for i := 0; i < len(b); {
		switch jsonClass[b[i]] {
		case jsonSpace:
			i++
		case jsonOpen:
			depth++
			key = depth == 1 && b[i] == '{'
			field = -1
			i++
		case jsonClose:
			depth--
			i++
		case jsonComma:
			key = depth == 1
			i++
		case jsonQuote:
			start := i + 1
			end := stringEnd(b, start)
			if depth == 1 {
				switch {
				case key:
					field = recordFieldIndex(b[start:end])
					key = false
				case field >= 0:
					if spans[field].start < 0 && end < len(b) {
						spans[field] = span{start, end}
						if found++; found == len(spans) {
							return spans
						}
					}
					field = -1
				}
			}
			i = end + 1
		default: // a number or a literal
			field = -1
			i++
		}
	}
	return spans
}

// Classes of bytes outside JSON strings, for findRecordFields.
const (
	jsonOther uint8 = iota
	jsonSpace       // white space and ':'
	jsonOpen        // '{' and '['
	jsonClose       // '}' and ']'
	jsonComma
	jsonQuote
)

var jsonClass = func() (t [256]uint8) {
	for _, c := range " \t\n\r:" {
		t[c] = jsonSpace
	}
	t['{'], t['['] = jsonOpen, jsonOpen
	t['}'], t[']'] = jsonClose, jsonClose
	t[','] = jsonComma
	t['"'] = jsonQuote
	return t
}()

// stringEnd returns the index of the quote that closes the JSON string whose
// contents start at b[i], or len(b).
func stringEnd(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	const quotes, backslashes = ones * '"', ones * '\\'
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			q, bs := w^quotes, w^backslashes
			if m := ((q-ones)&^q | (bs-ones)&^bs) & highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3 // the first quote or backslash, or a byte before it
				break
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) || b[i] == '"' {
			return min(i, len(b))
		}
		i += 2 // an escape: the byte after the backslash is never the end
	}
}

// recordFieldIndex returns the index of name in recordFields, or -1.
func recordFieldIndex(name []byte) int {
	var i int
	switch len(name) {
	case len("eventID"):
		i = 4
	case len("eventTime"): // and eventName, awsRegion
		switch name[len(name)-1] {
		case 'e':
			i = 0
			if name[len(name)-3] == 'a' {
				i = 2
			}
		case 'n':
			i = 3
		default:
			return -1
		}
	case len("eventSource"):
		i = 1
	case len("recipientAccountId"):
		i = 5
	default:
		return -1
	}
	if string(name) != recordFields[i] {
		return -1
	}
	return i
}

// appendRecord appends the raw record that value stores under k's record key
// to dst.
func appendRecord[T string | []byte](dst, value []byte, k *recordKey[T]) ([]byte, error) {
	if len(value) == 0 || value[0] != recordCut {
		return append(dst, value...), nil
	}
	start := len(dst)
	from := 0
	body, err := readRecord(value, func(body []byte, field int) bool {
		dst = append(dst, body[from:]...)
		from = len(body)
		out := k.field(dst, field)
		if len(out) <= len(dst) {
			return false
		}
		dst = out
		return true
	})
	if err != nil {
		return dst[:start], err
	}
	return append(dst, body[from:]...), nil
}

// readRecord checks the cuts of the record value value, and calls put with
// the body up to each cut and the cut's field, in order; put reports whether
// the key gives that field. readRecord returns the body.
func readRecord(value []byte, put func(body []byte, field int) bool) ([]byte, error) {
	if len(value) == 0 || value[0] != recordCut {
		return value, nil
	}
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("record value of %d bytes: %s: %w", len(value), fmt.Sprintf(format, args...), errBadKey)
	}
	if len(value) < 2 || int(value[1]) > len(recordFields) {
		return bad("bad header")
	}
	var cuts [len(recordFields)]uint64
	body := value[2:]
	for i := range value[1] {
		c, n := binary.Uvarint(body)
		if n <= 0 {
			return bad("bad cut")
		}
		cuts[i], body = c, body[n:]
	}
	at := 0
	for _, c := range cuts[:value[1]] {
		gap, f := c>>3, int(c&7)
		if f >= len(recordFields) || gap > uint64(len(body)-at) {
			return bad("bad cut")
		}
		at += int(gap)
		if !put(body[:at], f) {
			return bad("the key has no %s to put back", recordFields[f])
		}
	}
	return body, nil
}

// appendKey appends k's record key.
func (k *recordKey[T]) appendKey(dst []byte) []byte {
	return appendRecordKey(dst, k.account, k.source, k.name, k.region, k.eventTime, k.eventID)
}

// getRecord returns the raw record stored under k's record key, or
// ErrNotFound.
func getRecord[T string | []byte](r reader, k *recordKey[T]) ([]byte, error) {
	v, closer, err := r.Get(k.appendKey(nil))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return appendRecord(nil, v, k)
}
