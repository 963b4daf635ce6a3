package event

import (
	"encoding/binary"
	"fmt"
)

// checkTokens completes fastjson's parse into a strict JSON check.
//
// fastjson.Parser checks the structure of a document strictly (brackets,
// commas, colons, keys, nothing after the value) but is lenient inside
// tokens: it keeps raw control characters and unknown escapes in strings and
// takes any run of [0-9.eE+-] as a number, and NaN and Inf too. Those are what
// this single pass over the bytes rejects, so that Parse accepts exactly RFC
// 8259 JSON. It must run only on bytes fastjson.Parser accepted: it relies on
// the structure being valid.
//
// It replaces fastjson.Validate, which is two to three times slower (it
// re-checks the structure) and, in v1.6.10, misses a raw control character
// that precedes an escape in the same string ("x<LF>y\"z"). FuzzParse checks
// that Parse's verdict agrees with encoding/json's.
func checkTokens(b []byte) error {
	for i := 0; i < len(b); {
		switch tokenClass[b[i]] {
		case tokSkip:
			i++
		case tokString:
			// The hot path, inline: most of a record is short strings.
			i++
			for {
				for i+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[i:])) {
					i += 8
				}
				for i < len(b) && plain[b[i]] {
					i++
				}
				if i < len(b) && b[i] == '"' {
					i++
					break
				}
				if i+1 < len(b) && b[i] == '\\' && shortEscape[b[i+1]] {
					i += 2
					continue
				}
				end, err := checkStringSlow(b, i) // to the end of the string
				if err != nil {
					return err
				}
				i = end
				break
			}
		case tokNumber:
			end, err := checkNumber(b, i)
			if err != nil {
				return err
			}
			i = end
		case tokTrue:
			i += len("true") // fastjson checked the word
		case tokFalse:
			i += len("false")
		default:
			if b[i] == 'n' && i+4 <= len(b) && string(b[i:i+4]) == "null" {
				i += len("null")
				continue
			}
			if c := b[i] | 0x20; c == 'n' || c == 'i' {
				return fmt.Errorf("unexpected value at byte %d: %q (NaN and Infinity are not JSON)", i, clip(b[i:]))
			}
			return fmt.Errorf("unexpected value at byte %d: %q", i, clip(b[i:]))
		}
	}
	return nil
}

const (
	tokOther uint8 = iota
	tokSkip        // structure and white space
	tokString
	tokNumber
	tokTrue
	tokFalse
)

var tokenClass = func() (t [256]uint8) {
	for _, c := range "{}[],: \t\n\r" {
		t[c] = tokSkip
	}
	t['"'] = tokString
	t['-'] = tokNumber
	for c := '0'; c <= '9'; c++ {
		t[c] = tokNumber
	}
	t['t'] = tokTrue
	t['f'] = tokFalse
	return t
}()

// shortEscape marks the bytes that may follow '\\' other than 'u'.
var shortEscape = func() (t [256]bool) {
	for _, c := range `"\\/bfnrt` {
		t[c] = true
	}
	return t
}()

// plain marks the bytes a string can hold without a closer look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// checkStringSlow checks a string from b[i], a byte the fast path of
// checkTokens did not take, to its end, and returns the offset after the
// closing quote.
func checkStringSlow(b []byte, i int) (int, error) {
	for i < len(b) {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, fmt.Errorf("unfinished escape at byte %d", i)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, fmt.Errorf("invalid escape at byte %d: %q", i, clip(b[i:]))
				}
				i += 6
			default:
				return i, fmt.Errorf("invalid escape at byte %d: %q", i, clip(b[i:]))
			}
		default:
			return i, fmt.Errorf("control character 0x%02X in a string at byte %d", c, i)
		}
	}
	return i, fmt.Errorf("unterminated string at byte %d", i)
}

// special reports whether any of the 8 bytes in w is a control character, '"'
// or '\\' (SWAR: a byte's high bit is set in the result where it matches; a
// borrow can mark a byte after a match, never a word without one).
func special(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	const quotes, backslashes = ones * '"', ones * '\\'
	less := (w - ones*0x20) &^ w
	q := w ^ quotes
	bs := w ^ backslashes
	return (less|(q-ones)&^q|(bs-ones)&^bs)&highs != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// checkNumber checks the number starting at b[i] against RFC 8259's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the offset after
// it. The number must end at a byte that cannot continue it.
func checkNumber(b []byte, start int) (int, error) {
	i := start
	bad := func() (int, error) {
		end := i
		for end < len(b) && isNumberByte(b[end]) {
			end++
		}
		return i, fmt.Errorf("invalid number at byte %d: %q", start, b[start:max(end, i)])
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return bad()
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return bad()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return bad()
		}
	}
	if i < len(b) && isNumberByte(b[i]) {
		return bad()
	}
	return i, nil
}

// isNumberByte reports whether c is one of the bytes fastjson takes as part of
// a number.
func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' ||
		c == 'i' || c == 'I' || c == 'n' || c == 'N' || c == 'f' || c == 'F' || c == 'a' || c == 'A'
}

// clip returns up to 16 bytes of b, for error messages.
func clip(b []byte) []byte {
	return b[:min(len(b), 16)]
}
