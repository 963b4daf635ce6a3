package sql

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported matches (with errors.Is) every *Error whose message starts
// with "unsupported: ": valid Trino that Cairn does not run, such as a JOIN.
// Callers map it to "unimplemented" rather than "invalid argument".
var ErrUnsupported = errors.New("unsupported")

// Error is a problem with a query at a position in its text. Line and Column
// are 1-based; Column counts characters (runes), not bytes. Msg says what was
// wrong, e.g. `expected ")", found "FROM"` or `unsupported: JOIN`.
type Error struct {
	Line, Column int
	Msg          string
}

// Error returns e.g. `line 1, column 38: expected expression, found "FROM"`.
func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unsupported reports whether the error names a construct Cairn does not run.
func (e *Error) Unsupported() bool { return strings.HasPrefix(e.Msg, "unsupported: ") }

// Is makes errors.Is(err, ErrUnsupported) true for unsupported constructs.
func (e *Error) Is(target error) bool { return target == ErrUnsupported && e.Unsupported() }

// Errorf returns an *Error at byte offset off of src. The query package uses
// it to report compile errors at the positions the AST records.
func Errorf(src string, off int, format string, args ...any) *Error {
	line, col := Position(src, off)
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// Position converts byte offset off of src to a 1-based line and column
// (in characters). An offset past the end is the position just after it.
func Position(src string, off int) (line, column int) {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	line = 1 + strings.Count(src[:off], "\n")
	start := strings.LastIndexByte(src[:off], '\n') + 1
	return line, 1 + utf8.RuneCountInString(src[start:off])
}
