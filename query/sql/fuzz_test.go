package sql

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics or hangs, that every error is an
// *Error with a sane position, and that what parses prints as text that
// parses back to the same text.
func FuzzParse(f *testing.F) {
	for _, tt := range roundTripTests {
		f.Add(tt.in)
	}
	for _, tt := range errorTests {
		f.Add(tt.in)
	}
	f.Add("SELECT eventSource, eventName, COUNT(*) AS apiCount FROM events WHERE eventTime > '2023-01-01 00:00:00' GROUP BY eventSource, eventName ORDER BY apiCount DESC LIMIT 10")
	f.Add("select userIdentity.arn, element_at(requestParameters, 'bucketName') from events where errorCode = 'AccessDenied' and eventTime > now() - interval '7' day")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) returned %T, not *Error", src, err)
			}
			if e.Line < 1 || e.Column < 1 || e.Msg == "" {
				t.Fatalf("Parse(%q): bad error %+v", src, e)
			}
			return
		}
		text := s.String()
		s2, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", src, text, err)
		}
		if again := s2.String(); again != text {
			t.Fatalf("Parse(%q) printed %q, which prints as %q", src, text, again)
		}
		if utf8.ValidString(src) && !utf8.ValidString(text) {
			t.Fatalf("Parse(%q) printed invalid UTF-8 %q", src, text)
		}
	})
}
