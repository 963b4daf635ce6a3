package sql

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokIdent          // unquoted identifier or keyword; text as written
	tokQIdent         // "quoted" identifier; text unescaped
	tokString         // 'string'; text unescaped
	tokNumber         // 12, 1.5, 1e3; text as written
	tokOp             // punctuation and operators; text is the operator
)

// token is one lexeme. pos is its byte offset in the source; raw is the text
// as written, for error messages.
type token struct {
	kind tokKind
	text string
	raw  string
	pos  int
}

// is reports whether t is the unquoted keyword kw (upper case), in any case.
func (t token) is(kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

// isOp reports whether t is the operator op.
func (t token) isOp(op string) bool { return t.kind == tokOp && t.text == op }

// describe names t for "found …" in messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return shorten(t.raw)
	default:
		return `"` + shorten(t.raw) + `"`
	}
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:37]) + "..."
}

// lexer turns source text into tokens on demand, so that the parser can lex
// the word after FROM by other rules (see tableWord).
type lexer struct {
	src string
	off int
}

// next returns the next token, or panics with an *Error (recovered by Parse).
func (l *lexer) next() token {
	l.skipSpace()
	start := l.off
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: start}
	}
	c := l.src[l.off]
	switch {
	case isIdentStart(c):
		for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
			l.off++
		}
		s := l.src[start:l.off]
		return token{kind: tokIdent, text: s, raw: s, pos: start}
	case isDigit(c) || (c == '.' && l.off+1 < len(l.src) && isDigit(l.src[l.off+1])):
		return l.number()
	case c == '\'':
		s := l.quoted('\'', "string literal")
		return token{kind: tokString, text: s, raw: l.src[start:l.off], pos: start}
	case c == '"':
		s := l.quoted('"', "quoted identifier")
		if s == "" {
			l.fail(start, "zero-length delimited identifier")
		}
		return token{kind: tokQIdent, text: s, raw: l.src[start:l.off], pos: start}
	case c == '`':
		l.fail(start, "backquoted identifiers are not supported; use double quotes to quote identifiers")
	}
	for _, op := range [...]string{"||", "<>", "!=", "<=", ">=", "->", "=>"} {
		if strings.HasPrefix(l.src[l.off:], op) {
			l.off += 2
			return token{kind: tokOp, text: op, raw: op, pos: start}
		}
	}
	if strings.IndexByte("(),.;*+-/%=<>[]?:", c) >= 0 {
		l.off++
		s := l.src[start:l.off]
		return token{kind: tokOp, text: s, raw: s, pos: start}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	l.fail(start, "unexpected character %q", r)
	panic("unreachable")
}

// tableWord lexes the table name after FROM. CloudTrail Lake accepts an event
// data store ID there unquoted, such as 5e2676f8-9fce-46ef-8142-3e36a94e6691
// or eds-ID: a run of letters, digits and underscores joined by "-" with no
// spaces. Such a run comes back as a quoted identifier; anything else is
// lexed as usual.
func (l *lexer) tableWord() token {
	l.skipSpace()
	start, i := l.off, l.off
	dashes := 0
	for i < len(l.src) {
		c := l.src[i]
		if isIdentChar(c) {
			i++
			continue
		}
		if c == '-' && i > start && i+1 < len(l.src) && isIdentChar(l.src[i+1]) && isIdentChar(l.src[i-1]) {
			dashes++
			i++
			continue
		}
		break
	}
	if dashes == 0 {
		return l.next()
	}
	l.off = i
	s := l.src[start:i]
	return token{kind: tokQIdent, text: s, raw: s, pos: start}
}

func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		switch c := l.src[l.off]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.off++
		case strings.HasPrefix(l.src[l.off:], "--"):
			end := strings.IndexByte(l.src[l.off:], '\n')
			if end < 0 {
				l.off = len(l.src)
			} else {
				l.off += end + 1
			}
		case strings.HasPrefix(l.src[l.off:], "/*"):
			end := strings.Index(l.src[l.off+2:], "*/")
			if end < 0 {
				l.fail(l.off, "unterminated comment")
			}
			l.off += 2 + end + 2
		default:
			return
		}
	}
}

// number lexes 12, 1.5, .5, 1e3, 1.5E-3. A digit run followed by letters is
// an identifier starting with a digit, which Trino rejects too.
func (l *lexer) number() token {
	start := l.off
	digits := func() {
		for l.off < len(l.src) && isDigit(l.src[l.off]) {
			l.off++
		}
	}
	digits()
	if l.off < len(l.src) && l.src[l.off] == '.' {
		l.off++
		digits()
	}
	if l.off < len(l.src) && (l.src[l.off] == 'e' || l.src[l.off] == 'E') {
		save := l.off
		l.off++
		if l.off < len(l.src) && (l.src[l.off] == '+' || l.src[l.off] == '-') {
			l.off++
		}
		if l.off < len(l.src) && isDigit(l.src[l.off]) {
			digits()
		} else {
			l.off = save
		}
	}
	if l.off < len(l.src) && isIdentChar(l.src[l.off]) {
		for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
			l.off++
		}
		l.fail(start, "identifiers must not start with a digit; surround %s with double quotes", l.src[start:l.off])
	}
	s := l.src[start:l.off]
	return token{kind: tokNumber, text: s, raw: s, pos: start}
}

// quoted lexes a string or identifier quoted by q, where qq stands for q.
func (l *lexer) quoted(q byte, what string) string {
	start := l.off
	l.off++
	var b strings.Builder
	for {
		i := strings.IndexByte(l.src[l.off:], q)
		if i < 0 {
			l.fail(start, "unterminated %s", what)
		}
		b.WriteString(l.src[l.off : l.off+i])
		l.off += i + 1
		if l.off < len(l.src) && l.src[l.off] == q {
			b.WriteByte(q)
			l.off++
			continue
		}
		return b.String()
	}
}

func (l *lexer) fail(off int, format string, args ...any) {
	panic(Errorf(l.src, off, format, args...))
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
