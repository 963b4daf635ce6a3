package gen

// Append-style JSON writers. Everything the generator writes goes through
// these or is a constant fragment, so the output is valid JSON by
// construction (the tests check it with two parsers).

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quoted, with '"', '\\' and control
// characters escaped. Other UTF-8 passes through unchanged, as CloudTrail
// writes it.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends the inside of a JSON string (no quotes).
func appendEscaped(dst []byte, s string) []byte {
	return appendEscapedFrom(dst, s)
}

// appendEscapedBytes is appendEscaped for a byte slice, without converting
// it to a string (which would allocate).
func appendEscapedBytes(dst, s []byte) []byte {
	return appendEscapedFrom(dst, s)
}

func appendEscapedFrom[S string | []byte](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendKV appends "key":"value", with value escaped. key must need no escaping.
func appendKV(dst []byte, key, value string) []byte {
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendString(dst, value)
}

// appendUint appends the decimal form of v.
func appendUint(dst []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for v >= 10 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	buf[i] = byte('0' + v)
	return append(dst, buf[i:]...)
}

// appendUUID appends a version-4 UUID made from hi and lo, lower-case, as
// CloudTrail writes eventID and requestID.
func appendUUID(dst []byte, hi, lo uint64) []byte {
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	var b [36]byte
	n := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[n] = '-'
			n++
		}
		w := hi
		if i >= 16 {
			w = lo
		}
		b[n] = hexDigits[(w>>uint(60-4*(i%16)))&0xf]
		n++
	}
	return append(dst, b[:]...)
}

// appendHex appends the low n nibbles of v as lower-case hex (n ≤ 16).
func appendHex(dst []byte, v uint64, n int) []byte {
	for i := (n - 1) * 4; i >= 0; i -= 4 {
		dst = append(dst, hexDigits[(v>>uint(i))&0xf])
	}
	return dst
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// appendUpperAlnum appends n (≤ 12) characters from [A-Z0-9] drawn from v, the
// shape of S3 request ids.
func appendUpperAlnum(dst []byte, v uint64, n int) []byte {
	for range n {
		dst = append(dst, upperAlnum[v%uint64(len(upperAlnum))])
		v /= uint64(len(upperAlnum))
	}
	return dst
}

// appendTime appends a Unix time in seconds as CloudTrail's eventTime format,
// 2006-01-02T15:04:05Z. It avoids package time on the hot path.
func appendTime(dst []byte, unix int64) []byte {
	days := unix / 86400
	secs := unix % 86400
	if secs < 0 {
		secs += 86400
		days--
	}
	y, m, d := civil(days)
	var b [20]byte
	put4(b[0:], y)
	b[4] = '-'
	put2(b[5:], m)
	b[7] = '-'
	put2(b[8:], d)
	b[10] = 'T'
	put2(b[11:], int(secs/3600))
	b[13] = ':'
	put2(b[14:], int(secs/60%60))
	b[16] = ':'
	put2(b[17:], int(secs%60))
	b[19] = 'Z'
	return append(dst, b[:]...)
}

func put2(b []byte, v int) { b[0], b[1] = byte('0'+v/10), byte('0'+v%10) }

func put4(b []byte, v int) {
	put2(b, v/100)
	put2(b[2:], v%100)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's civil_from_days).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}
