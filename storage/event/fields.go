package event

// Helpers that read and check single fields for Parse.

import (
	"bytes"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// required returns v's string value, or a rejection when v is absent, null,
// empty or not a string.
func required(v *fastjson.Value, name string, id []byte) ([]byte, *RejectError) {
	switch {
	case v == nil:
		return nil, reject(ErrMissingField, id, "missing field %q", name)
	case v.Type() == fastjson.TypeNull:
		return nil, reject(ErrMissingField, id, "missing field %q (it is null)", name)
	case v.Type() != fastjson.TypeString:
		return nil, reject(ErrMissingField, id, "field %q must be a string, not %s", name, article(v))
	}
	b, _ := v.StringBytes()
	if len(b) == 0 {
		return nil, reject(ErrMissingField, id, "missing field %q (it is empty)", name)
	}
	return b, nil
}

// optional returns v's string value: empty when v is absent or null, a
// rejection when v is present but not a string.
func optional(v *fastjson.Value, name string, id []byte) ([]byte, *RejectError) {
	if isAbsent(v) {
		return nil, nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return nil, reject(ErrBadField, id, "field %q must be a string, not %s", name, article(v))
	}
	return b, nil
}

// checkKeyed rejects a value too long to be part of every storage key.
func checkKeyed(b []byte, name string, id []byte) *RejectError {
	if len(b) > MaxKeyFieldLen {
		return reject(ErrBadField, id, "field %q is %d bytes long; the limit is %d", name, len(b), MaxKeyFieldLen)
	}
	return nil
}

// checkValue rejects an extracted value that storage keys cannot hold or that
// another JSON reader would decode differently.
//
// A 0x00 byte (written "\u0000") would end the string early in a key.
//
// fastjson decodes an unpaired UTF-16 surrogate escape ("\ud800" alone, or
// followed by a non-surrogate escape) differently from other JSON readers,
// which produce U+FFFD for the lone surrogate: it keeps the escape as text, or
// swallows the escape after it. Then the index would hold a value that no other
// reader of the stored bytes sees. Such a value holds either the text "\uD8xx"
// or U+FFFD; only if it does is raw scanned for a surrogate escape, so the hot
// path pays one IndexByte per value.
func checkValue(b []byte, name string, id, raw []byte) *RejectError {
	// Values are short: one pass over the bytes beats three IndexByte calls.
	for _, c := range b {
		if c == 0 || c == '\\' || c == 0xEF {
			return checkSuspectValue(b, name, id, raw)
		}
	}
	return nil
}

func checkSuspectValue(b []byte, name string, id, raw []byte) *RejectError {
	if bytes.IndexByte(b, 0) >= 0 {
		return nulError(name, id)
	}
	if (hasSurrogateEscape(b) || bytes.Contains(b, replacementChar)) && hasSurrogateEscape(raw) {
		return reject(ErrBadField, id, "field %q contains an unpaired UTF-16 surrogate escape (\\uD800–\\uDFFF), which JSON readers decode differently", name)
	}
	return nil
}

var replacementChar = []byte("\uFFFD")

// hasSurrogateEscape reports whether b contains the text \uD800 to \uDFFF
// (in any case). In raw JSON that is a surrogate escape, or rarely an escaped
// backslash followed by such text: a false positive that only costs a rejection
// of a value that already looks broken.
func hasSurrogateEscape(b []byte) bool {
	for {
		i := bytes.Index(b, []byte(`\u`))
		if i < 0 || i+4 > len(b) {
			return false
		}
		c1, c2 := b[i+2]|0x20, b[i+3]|0x20
		if c1 == 'd' && (c2 == '8' || c2 == '9' || (c2 >= 'a' && c2 <= 'f')) {
			return true
		}
		b = b[i+2:]
	}
}

func nulError(name string, id []byte) *RejectError {
	return reject(ErrBadField, id, `field %q contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, name)
}

func isAbsent(v *fastjson.Value) bool {
	return v == nil || v.Type() == fastjson.TypeNull
}

// readOnlyOf maps readOnly to "true", "false" or "".
func readOnlyOf(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		switch {
		case equalFold(b, "true"):
			return "true"
		case equalFold(b, "false"):
			return "false"
		}
	}
	return ""
}

// equalFold reports whether b equals the lower-case ASCII word s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// resourceOf returns a resources[] element's ARN (or ARNPrefix) and type, and
// the name of one of them if it appears twice in the element.
func resourceOf(v *fastjson.Value) (arn, typ []byte, dup string) {
	var arnV, prefixV, typV *fastjson.Value
	v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
		var slot **fastjson.Value
		switch string(k) {
		case "ARN":
			slot = &arnV
		case "ARNPrefix":
			slot = &prefixV
		case "type":
			slot = &typV
		default:
			return
		}
		if *slot != nil && dup == "" {
			dup = "resources[]." + string(k)
		}
		*slot = x
	})
	arn = arnV.GetStringBytes()
	if len(arn) == 0 {
		arn = prefixV.GetStringBytes()
	}
	return arn, typV.GetStringBytes(), dup
}

// field returns the value of key in the object v (nil when v is not an object
// or has no such key) and whether key appears more than once.
func field(v *fastjson.Value, key string) (val *fastjson.Value, dup bool) {
	v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
		if string(k) == key {
			dup = dup || val != nil
			val = x
		}
	})
	return val, dup
}

func dupError(name string, id []byte) *RejectError {
	return reject(ErrBadField, id, "field %q appears more than once; a record must say each field once", name)
}

// typeName names a JSON value's type for reasons.
func typeName(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "boolean"
	default:
		return v.Type().String()
	}
}

// article returns "a string", "an object", … for reasons.
func article(v *fastjson.Value) string {
	n := typeName(v)
	if n == "object" || n == "array" {
		return "an " + n
	}
	if n == "null" {
		return n
	}
	return "a " + n
}

// invalidUTF8At returns the offset of the first invalid UTF-8 sequence in b.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}
