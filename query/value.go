package query

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of Value. Structs, arrays, maps and JSON (such as userIdentity,
// resources or json_extract results) are all KindJSON, held as compact JSON
// text.
const (
	KindNull      Kind = iota
	KindBool           // boolean
	KindInt            // bigint
	KindFloat          // double
	KindString         // varchar
	KindTimestamp      // timestamp, UTC, nanosecond precision
	KindDate           // date
	KindInterval       // interval day to second
	KindMonths         // interval year to month
	KindJSON           // struct, array, map or json, as JSON text
)

var kindNames = [...]string{"null", "boolean", "bigint", "double", "varchar", "timestamp", "date",
	"interval day to second", "interval year to month", "json"}

// String names the kind as a SQL type: "varchar", "timestamp", ….
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one SQL value. The zero Value is NULL. Values are immutable and
// safe to copy and share.
type Value struct {
	kind Kind
	n    int64  // bool (0/1), int, float bits, Unix nanoseconds, days, interval nanoseconds or months
	s    string // string, or JSON text
}

// Row is one result row, a Value per output column (Plan.Columns).
type Row []Value

// Constructors.
var nullValue Value

// BoolValue returns a boolean Value.
func BoolValue(b bool) Value {
	if b {
		return Value{kind: KindBool, n: 1}
	}
	return Value{kind: KindBool}
}

// IntValue returns a bigint Value.
func IntValue(i int64) Value { return Value{kind: KindInt, n: i} }

// FloatValue returns a double Value.
func FloatValue(f float64) Value { return Value{kind: KindFloat, n: int64(math.Float64bits(f))} }

// StringValue returns a varchar Value.
func StringValue(s string) Value { return Value{kind: KindString, s: s} }

// TimeValue returns a timestamp Value (converted to UTC). t must lie within
// the years 1678 to 2261, which int64 nanoseconds hold.
func TimeValue(t time.Time) Value { return Value{kind: KindTimestamp, n: t.UnixNano()} }

// JSONValue returns a Value holding JSON text, which the caller guarantees
// is valid compact JSON.
func JSONValue(text string) Value { return Value{kind: KindJSON, s: text} }

func tsValue(nanos int64) Value      { return Value{kind: KindTimestamp, n: nanos} }
func dateValue(days int64) Value     { return Value{kind: KindDate, n: days} }
func intervalValue(ns int64) Value   { return Value{kind: KindInterval, n: ns} }
func monthsValue(months int64) Value { return Value{kind: KindMonths, n: months} }

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is NULL.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Bool returns a boolean's value (false for other kinds).
func (v Value) Bool() bool { return v.kind == KindBool && v.n != 0 }

// Int returns a bigint's value (0 for other kinds).
func (v Value) Int() int64 {
	if v.kind != KindInt {
		return 0
	}
	return v.n
}

// Float returns a double's value, or a bigint's converted (0 for other kinds).
func (v Value) Float() float64 {
	switch v.kind {
	case KindFloat:
		return math.Float64frombits(uint64(v.n))
	case KindInt:
		return float64(v.n)
	}
	return 0
}

// Text returns a varchar's text or a JSON value's JSON text ("" for other
// kinds).
func (v Value) Text() string { return v.s }

// Time returns a timestamp's or date's time in UTC (zero for other kinds).
func (v Value) Time() time.Time {
	switch v.kind {
	case KindTimestamp:
		return time.Unix(0, v.n).UTC()
	case KindDate:
		return time.Unix(v.n*86400, 0).UTC()
	}
	return time.Time{}
}

// JSON returns v as JSON: NULL as null, numbers as numbers (NaN and
// infinities as the strings "NaN", "Infinity", "-Infinity"), strings as JSON
// strings, timestamps as ISO-8601 strings in UTC ("2026-01-02T03:04:05Z",
// with as many fractional digits as the value needs: 3, 6 or 9), dates as
// "2026-01-02", intervals as Trino prints them, and structs, arrays and maps
// as their JSON.
func (v Value) JSON() []byte { return v.appendJSON(nil) }

func (v Value) appendJSON(dst []byte) []byte {
	switch v.kind {
	case KindNull:
		return append(dst, "null"...)
	case KindBool, KindInt:
		return append(dst, v.String()...)
	case KindFloat:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.AppendQuote(dst, v.String())
		}
		return append(dst, v.String()...)
	case KindJSON:
		return append(dst, v.s...)
	case KindString:
		return appendJSONString(dst, v.s)
	}
	return appendJSONString(dst, v.String())
}

// String returns v as text for tables and CSV: NULL as "NULL", strings as
// they are (unquoted), timestamps and dates as in JSON (unquoted), JSON as
// its text.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "NULL"
	case KindBool:
		return strconv.FormatBool(v.n != 0)
	case KindInt:
		return strconv.FormatInt(v.n, 10)
	case KindFloat:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case KindString, KindJSON:
		return v.s
	case KindTimestamp:
		return formatISO(v.n)
	case KindDate:
		return time.Unix(v.n*86400, 0).UTC().Format("2006-01-02")
	case KindInterval:
		return formatInterval(v.n)
	case KindMonths:
		m := v.n
		sign := ""
		if m < 0 {
			sign, m = "-", -m
		}
		return sign + strconv.FormatInt(m/12, 10) + "-" + strconv.FormatInt(m%12, 10)
	}
	return ""
}

// formatISO formats Unix nanoseconds as 2006-01-02T15:04:05Z, with 3, 6 or
// 9 fractional digits when the value has them.
func formatISO(nanos int64) string {
	t := time.Unix(0, nanos).UTC()
	layout := "2006-01-02T15:04:05Z"
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		layout = "2006-01-02T15:04:05.000Z"
	case ns%1e3 == 0:
		layout = "2006-01-02T15:04:05.000000Z"
	default:
		layout = "2006-01-02T15:04:05.000000000Z"
	}
	return t.Format(layout)
}

// formatInterval formats nanoseconds as Trino does: "7 00:00:00.000".
func formatInterval(ns int64) string {
	sign := ""
	u := uint64(ns)
	if ns < 0 {
		sign, u = "-", uint64(-ns)
	}
	ms := u / 1e6
	days, ms := ms/86400000, ms%86400000
	h, ms := ms/3600000, ms%3600000
	m, ms := ms/60000, ms%60000
	s, ms := ms/1000, ms%1000
	var b strings.Builder
	b.WriteString(sign)
	b.WriteString(strconv.FormatUint(days, 10))
	b.WriteByte(' ')
	for i, x := range [...]uint64{h, m, s} {
		if i > 0 {
			b.WriteByte(':')
		}
		if x < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.FormatUint(x, 10))
	}
	b.WriteByte('.')
	ss := strconv.FormatUint(1000+ms, 10)
	b.WriteString(ss[1:])
	return b.String()
}

// appendJSONString appends s as a JSON string, escaping what RFC 8259
// requires plus <, > and & left as they are.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// isNumeric reports whether k is bigint or double.
func isNumeric(k Kind) bool { return k == KindInt || k == KindFloat }

// compare compares a and b for the SQL comparison operators. ok is false when
// either is NULL or they cannot be compared; the result is then NULL. Beyond
// equal kinds it coerces as Trino does for literals, and leniently for values
// read from JSON whose type is only known at run time:
//
//   - bigint and double compare as numbers;
//   - a timestamp or date against a string parses the string as a time;
//   - a date against a timestamp compares the date's midnight;
//   - a boolean against the string 'true' or 'false' (any case);
//   - a number against a string that parses as a number;
//   - JSON against a string or JSON compares the text.
func compare(a, b Value) (int, bool) {
	if a.kind == KindNull || b.kind == KindNull {
		return 0, false
	}
	if a.kind == b.kind {
		switch a.kind {
		case KindString, KindJSON:
			return strings.Compare(a.s, b.s), true
		case KindFloat:
			return cmpFloat(a.Float(), b.Float())
		default:
			return cmpInt(a.n, b.n), true
		}
	}
	if isNumeric(a.kind) && isNumeric(b.kind) {
		if a.kind == KindInt && b.kind == KindInt {
			return cmpInt(a.n, b.n), true
		}
		return cmpFloat(a.Float(), b.Float())
	}
	if (a.kind == KindDate || a.kind == KindTimestamp) && (b.kind == KindDate || b.kind == KindTimestamp) {
		return cmpInt(toNanos(a), toNanos(b)), true
	}
	if ca, ok := coerceTo(a, b.kind); ok && ca.kind != a.kind {
		return compare(ca, b)
	}
	if cb, ok := coerceTo(b, a.kind); ok && cb.kind != b.kind {
		return compare(a, cb)
	}
	return 0, false
}

// coerceTo converts a string (or JSON text) v to kind k for a comparison; ok
// is false when v is not a string or does not parse.
func coerceTo(v Value, k Kind) (Value, bool) {
	if v.kind != KindString && v.kind != KindJSON {
		return v, false
	}
	switch k {
	case KindString, KindJSON:
		return Value{kind: k, s: v.s}, true
	case KindTimestamp:
		if ns, ok := parseTimestamp(v.s); ok {
			return tsValue(ns), true
		}
	case KindDate:
		if d, ok := parseDate(v.s); ok {
			return dateValue(d), true
		}
	case KindBool:
		switch strings.ToLower(v.s) {
		case "true":
			return BoolValue(true), true
		case "false":
			return BoolValue(false), true
		}
	case KindInt, KindFloat:
		s := strings.TrimSpace(v.s)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return IntValue(i), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return FloatValue(f), true
		}
	}
	return v, false
}

func toNanos(v Value) int64 {
	if v.kind == KindDate {
		return v.n * 86400 * 1e9
	}
	return v.n
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) (int, bool) {
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	case a == b:
		return 0, true
	}
	return 0, false // NaN
}

// order is the total order used by ORDER BY, min and max: NULL first (the
// caller places NULLs), then by value within comparable kinds; values of
// incomparable kinds order by kind. NaN is above every other double.
func order(a, b Value) int {
	switch {
	case a.kind == KindNull && b.kind == KindNull:
		return 0
	case a.kind == KindNull:
		return -1
	case b.kind == KindNull:
		return 1
	}
	if c, ok := compare(a, b); ok {
		return c
	}
	fa, fb := a.Float(), b.Float()
	if isNumeric(a.kind) && isNumeric(b.kind) {
		na, nb := math.IsNaN(fa), math.IsNaN(fb)
		switch {
		case na && nb:
			return 0
		case na:
			return 1
		case nb:
			return -1
		}
	}
	if c := cmpInt(int64(a.kind), int64(b.kind)); c != 0 {
		return c
	}
	return bytes.Compare(appendValue(nil, a), appendValue(nil, b))
}

// truth returns a boolean's value and whether it is known (not NULL). A
// non-boolean (from JSON of unknown type) is true only if it is the string
// "true".
func truth(v Value) (val, known bool) {
	switch v.kind {
	case KindNull:
		return false, false
	case KindBool:
		return v.n != 0, true
	case KindString:
		switch strings.ToLower(v.s) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}
