package query

import "time"

// parseTimestamp parses the time forms users write and CloudTrail records
// hold, returning Unix nanoseconds (UTC):
//
//	2026-01-02
//	2026-01-02 03:04[:05[.123456789]]   ("T" or a space between date and time)
//	… followed by Z, UTC, +hh:mm, +hhmm or +hh (optionally after a space)
//
// A time without a zone is UTC. ok is false for anything else, or for a time
// outside what int64 nanoseconds hold (1678 to 2261).
func parseTimestamp(s string) (nanos int64, ok bool) {
	y, mo, d, rest, ok := parseYMD(s)
	if !ok {
		return 0, false
	}
	var h, mi, sec, ns int
	if rest != "" && (rest[0] == 'T' || rest[0] == 't' || rest[0] == ' ') && len(rest) >= 6 && rest[3] == ':' {
		var ok1, ok2 bool
		h, ok1 = num(rest[1:3])
		mi, ok2 = num(rest[4:6])
		if !ok1 || !ok2 || h > 23 || mi > 59 {
			return 0, false
		}
		rest = rest[6:]
		if len(rest) >= 3 && rest[0] == ':' {
			var ok3 bool
			if sec, ok3 = num(rest[1:3]); !ok3 || sec > 59 {
				return 0, false
			}
			rest = rest[3:]
			if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') {
				n := 1
				for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
					if n <= 9 {
						ns = ns*10 + int(rest[n]-'0')
					}
					n++
				}
				if n == 1 {
					return 0, false
				}
				for i := n - 1; i < 9; i++ {
					ns *= 10
				}
				rest = rest[n:]
			}
		}
	}
	off, ok := parseZone(rest)
	if !ok {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC).Add(-time.Duration(off) * time.Second)
	if t.Year() < 1678 || t.Year() > 2261 {
		return 0, false
	}
	return t.UnixNano(), true
}

// parseDate parses 2026-01-02 (or a timestamp, whose date it takes) and
// returns days since 1970-01-01.
func parseDate(s string) (days int64, ok bool) {
	y, mo, d, rest, ok := parseYMD(s)
	if !ok {
		return 0, false
	}
	if rest != "" {
		ns, ok := parseTimestamp(s)
		if !ok {
			return 0, false
		}
		return floorDiv(ns, 86400e9), true
	}
	return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Unix() / 86400, true
}

func parseYMD(s string) (y, mo, d int, rest string, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, "", false
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, 0, 0, "", false
	}
	return y, mo, d, s[10:], true
}

// parseZone parses what follows a time: "", Z, UTC, +hh:mm, +hhmm, +hh, with
// an optional space before it. It returns the offset in seconds east of UTC.
func parseZone(s string) (int, bool) {
	if s != "" && s[0] == ' ' {
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	switch s {
	case "", "Z", "z", "UTC", "utc":
		return 0, true
	}
	if s[0] != '+' && s[0] != '-' || len(s) < 3 {
		return 0, false
	}
	h, ok := num(s[1:3])
	m := 0
	switch rest := s[3:]; {
	case rest == "":
	case len(rest) == 3 && rest[0] == ':':
		m, ok = num(rest[1:])
	case len(rest) == 2:
		m, ok = num(rest)
	default:
		return 0, false
	}
	if !ok || h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

func num(s string) (int, bool) {
	n := 0
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() // day 0 is the last of month
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// timeOK reports whether t fits in int64 Unix nanoseconds.
func timeOK(t time.Time) bool {
	return t.Year() >= 1678 && t.Year() <= 2261
}

// checkedNanos returns t as Unix nanoseconds, or ok false when it does not
// fit.
func checkedNanos(t time.Time) (int64, bool) {
	if !timeOK(t) {
		return 0, false
	}
	return t.UnixNano(), true
}
