package query

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Values are encoded as one tag byte and a payload:
//
//	0 NULL
//	1 false          2 true
//	3 bigint         zig-zag varint
//	4 double         8 bytes, IEEE 754 bits, little-endian
//	5 varchar        uvarint length, bytes
//	6 timestamp      zig-zag varint Unix nanoseconds
//	7 date           zig-zag varint days since 1970-01-01
//	8 interval       zig-zag varint nanoseconds
//	9 months         zig-zag varint months
//	10 JSON          uvarint length, JSON text
//
// Equal values of one kind encode to equal bytes, so an encoding is also a
// grouping key.
const (
	tagNull = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagTimestamp
	tagDate
	tagInterval
	tagMonths
	tagJSON
)

// intKinds maps the tags with a varint payload to their kinds.
var intKinds = [...]Kind{tagInt: KindInt, tagTimestamp: KindTimestamp, tagDate: KindDate,
	tagInterval: KindInterval, tagMonths: KindMonths}

// appendValue appends the encoding of v to dst.
func appendValue(dst []byte, v Value) []byte {
	switch v.kind {
	case KindNull:
		return append(dst, tagNull)
	case KindBool:
		if v.n != 0 {
			return append(dst, tagTrue)
		}
		return append(dst, tagFalse)
	case KindInt:
		return binary.AppendVarint(append(dst, tagInt), v.n)
	case KindFloat:
		return binary.LittleEndian.AppendUint64(append(dst, tagFloat), uint64(v.n))
	case KindString:
		return appendString(append(dst, tagString), v.s)
	case KindTimestamp:
		return binary.AppendVarint(append(dst, tagTimestamp), v.n)
	case KindDate:
		return binary.AppendVarint(append(dst, tagDate), v.n)
	case KindInterval:
		return binary.AppendVarint(append(dst, tagInterval), v.n)
	case KindMonths:
		return binary.AppendVarint(append(dst, tagMonths), v.n)
	case KindJSON:
		return appendString(append(dst, tagJSON), v.s)
	}
	panic(fmt.Sprintf("query: cannot encode value of kind %d", v.kind))
}

// parseValue decodes one value from src into v and returns the rest.
func parseValue(src []byte, v *Value) (rest []byte, err error) {
	if len(src) == 0 {
		return nil, corrupt("value missing")
	}
	tag, src := src[0], src[1:]
	switch tag {
	case tagNull:
		*v = nullValue
	case tagFalse, tagTrue:
		*v = BoolValue(tag == tagTrue)
	case tagInt, tagTimestamp, tagDate, tagInterval, tagMonths:
		n, k := binary.Varint(src)
		if k <= 0 {
			return nil, corrupt("bad integer")
		}
		src = src[k:]
		*v = Value{kind: intKinds[tag], n: n}
	case tagFloat:
		if len(src) < 8 {
			return nil, corrupt("short double")
		}
		*v = FloatValue(math.Float64frombits(binary.LittleEndian.Uint64(src)))
		src = src[8:]
	case tagString, tagJSON:
		var s string
		if src, err = parseString(src, &s); err != nil {
			return nil, err
		}
		kind := KindString
		if tag == tagJSON {
			kind = KindJSON
		}
		*v = Value{kind: kind, s: s}
	default:
		return nil, corrupt(fmt.Sprintf("unknown value tag %d", tag))
	}
	return src, nil
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

func parseString(src []byte, s *string) (rest []byte, err error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || n > uint64(len(src)-k) {
		return nil, corrupt("bad string length")
	}
	*s = string(src[k : k+int(n)])
	return src[k+int(n):], nil
}

// parseUvarint decodes one uvarint into n, which must be at most limit (a
// bound on counts that guards allocations against corrupt input).
func parseUvarint(src []byte, n *uint64, limit uint64) (rest []byte, err error) {
	x, k := binary.Uvarint(src)
	if k <= 0 {
		return nil, corrupt("bad count")
	}
	if x > limit {
		return nil, corrupt(fmt.Sprintf("count %d is over the limit %d", x, limit))
	}
	*n = x
	return src[k:], nil
}

func corrupt(msg string) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, msg)
}
