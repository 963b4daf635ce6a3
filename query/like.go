package query

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// likeMatcher matches a LIKE pattern: % is any run of characters, _ any one
// character, everything else itself (case-sensitive).
type likeMatcher struct {
	kind  likeKind
	lit   string     // exact, prefix, suffix, contains
	elems []likeElem // general
}

type likeKind uint8

const (
	likeExact likeKind = iota
	likePrefix
	likeSuffix
	likeContains
	likeGeneral
)

type likeElem struct {
	star, one bool   // % or _
	lit       string // otherwise
}

// compileLike compiles pattern; escape (when hasEscape) must be one
// character, and makes the %, _ or escape after it literal.
func compileLike(pattern, escape string, hasEscape bool) (*likeMatcher, error) {
	var esc rune = -1
	if hasEscape {
		if utf8.RuneCountInString(escape) != 1 {
			return nil, errors.New("the LIKE escape must be a single character")
		}
		esc, _ = utf8.DecodeRuneInString(escape)
	}
	var elems []likeElem
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			elems = append(elems, likeElem{lit: lit.String()})
			lit.Reset()
		}
	}
	wild := false
	for i := 0; i < len(pattern); {
		r, w := utf8.DecodeRuneInString(pattern[i:])
		i += w
		switch {
		case r == esc:
			if i >= len(pattern) {
				return nil, errors.New("the LIKE pattern ends with the escape character")
			}
			n, w := utf8.DecodeRuneInString(pattern[i:])
			if n != '%' && n != '_' && n != esc {
				return nil, errors.New("the LIKE escape character must be followed by %, _ or itself")
			}
			i += w
			lit.WriteRune(n)
		case r == '%':
			flush()
			if len(elems) == 0 || !elems[len(elems)-1].star {
				elems = append(elems, likeElem{star: true})
			}
			wild = true
		case r == '_':
			flush()
			elems = append(elems, likeElem{one: true})
			wild = true
		default:
			lit.WriteRune(r)
		}
	}
	flush()
	m := &likeMatcher{kind: likeGeneral, elems: elems}
	if !wild {
		m.kind = likeExact
		if len(elems) == 1 {
			m.lit = elems[0].lit
		}
		return m, nil
	}
	// Fast paths: abc%, %abc, %abc%, %.
	n := len(elems)
	for _, e := range elems {
		if e.one {
			return m, nil
		}
	}
	switch {
	case n == 1:
		m.kind, m.lit = likeContains, ""
	case n == 2 && elems[1].star:
		m.kind, m.lit = likePrefix, elems[0].lit
	case n == 2 && elems[0].star:
		m.kind, m.lit = likeSuffix, elems[1].lit
	case n == 3 && elems[0].star && elems[2].star:
		m.kind, m.lit = likeContains, elems[1].lit
	}
	return m, nil
}

func (m *likeMatcher) match(s string) bool {
	switch m.kind {
	case likeExact:
		return s == m.lit
	case likePrefix:
		return strings.HasPrefix(s, m.lit)
	case likeSuffix:
		return strings.HasSuffix(s, m.lit)
	case likeContains:
		return strings.Contains(s, m.lit)
	}
	// Greedy matching that backtracks to the last %: linear in practice,
	// O(len(s) * len(pattern)) at worst.
	elems := m.elems
	star, starPos := -1, 0
	i, p := 0, 0
	for {
		if i < len(elems) {
			e := elems[i]
			switch {
			case e.star:
				star, starPos = i, p
				i++
				continue
			case e.one:
				if p < len(s) {
					_, w := utf8.DecodeRuneInString(s[p:])
					p += w
					i++
					continue
				}
			default:
				if strings.HasPrefix(s[p:], e.lit) {
					p += len(e.lit)
					i++
					continue
				}
			}
		} else if p == len(s) {
			return true
		}
		if star < 0 || starPos >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starPos:])
		starPos += w
		i, p = star+1, starPos
	}
}
