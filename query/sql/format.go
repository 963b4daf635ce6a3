package sql

import (
	"strconv"
	"strings"
)

// reserved holds the words that cannot be a bare identifier or a bare alias:
// Trino's reserved words plus the clause words after which a bare alias would
// be ambiguous (LIMIT, OFFSET, FETCH, WINDOW).
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`ALTER AND AS BETWEEN BY CASE CAST CONSTRAINT CREATE CROSS
		CUBE CURRENT_CATALOG CURRENT_DATE CURRENT_PATH CURRENT_ROLE CURRENT_SCHEMA CURRENT_TIME
		CURRENT_TIMESTAMP CURRENT_USER DEALLOCATE DELETE DESCRIBE DISTINCT DROP ELSE END ESCAPE
		EXCEPT EXECUTE EXISTS EXTRACT FALSE FOR FROM FULL GROUP GROUPING HAVING IN INNER INSERT
		INTERSECT INTO IS JOIN JSON_ARRAY JSON_EXISTS JSON_OBJECT JSON_QUERY JSON_TABLE JSON_VALUE
		LEFT LIKE LISTAGG LOCALTIME LOCALTIMESTAMP NATURAL NORMALIZE NOT NULL ON OR ORDER OUTER
		PREPARE RECURSIVE RIGHT ROLLUP SELECT SKIP TABLE THEN TRIM TRUE UESCAPE UNION UNNEST
		USING VALUES WHEN WHERE WITH LIMIT OFFSET FETCH WINDOW`) {
		m[w] = true
	}
	return m
}()

// IsReserved reports whether word (any case) must be double-quoted to be used
// as an identifier.
func IsReserved(word string) bool { return reserved[strings.ToUpper(word)] }

// Canonical prints e like String, with identifiers and function names in
// lower case: equal for two spellings of the same expression.
func Canonical(e Expr) string {
	p := printer{lower: true}
	p.expr(e)
	return p.b.String()
}

func (s *Select) String() string {
	var p printer
	p.sel(s)
	return p.b.String()
}

func (e *Ident) String() string       { return str(e) }
func (e *Deref) String() string       { return str(e) }
func (e *Subscript) String() string   { return str(e) }
func (e *NullLit) String() string     { return str(e) }
func (e *BoolLit) String() string     { return str(e) }
func (e *NumberLit) String() string   { return str(e) }
func (e *StringLit) String() string   { return str(e) }
func (e *TypedLit) String() string    { return str(e) }
func (e *IntervalLit) String() string { return str(e) }
func (e *ArrayLit) String() string    { return str(e) }
func (e *Unary) String() string       { return str(e) }
func (e *Binary) String() string      { return str(e) }
func (e *Like) String() string        { return str(e) }
func (e *In) String() string          { return str(e) }
func (e *Between) String() string     { return str(e) }
func (e *IsNull) String() string      { return str(e) }
func (e *Case) String() string        { return str(e) }
func (e *Cast) String() string        { return str(e) }
func (e *Extract) String() string     { return str(e) }
func (e *Call) String() string        { return str(e) }

func str(e Expr) string {
	var p printer
	p.expr(e)
	return p.b.String()
}

// Precedence levels, loosest first.
const (
	precOr = 1 + iota
	precAnd
	precNot
	precPredicate // comparisons, LIKE, IN, BETWEEN, IS
	precConcat
	precAdd
	precMul
	precUnary
	precPrimary
)

func prec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		switch e.Op {
		case "OR":
			return precOr
		case "AND":
			return precAnd
		case "||":
			return precConcat
		case "+", "-":
			return precAdd
		case "*", "/", "%":
			return precMul
		}
		return precPredicate
	case *Unary:
		if e.Op == "NOT" {
			return precNot
		}
		return precUnary
	case *Like, *In, *Between, *IsNull:
		return precPredicate
	}
	return precPrimary
}

type printer struct {
	b     strings.Builder
	lower bool
}

func (p *printer) ws(s ...string) {
	for _, x := range s {
		p.b.WriteString(x)
	}
}

// sub prints e, in parentheses when it binds looser than min.
func (p *printer) sub(e Expr, min int) {
	if prec(e) < min {
		p.ws("(")
		p.expr(e)
		p.ws(")")
		return
	}
	p.expr(e)
}

// base prints the operand of a postfix operator (.field or [i]).
func (p *printer) base(e Expr) {
	switch e.(type) {
	case *Ident, *Call, *Deref, *Subscript, *Cast, *Case, *Extract:
		p.expr(e)
	default:
		p.ws("(")
		p.expr(e)
		p.ws(")")
	}
}

func (p *printer) ident(s string, quoted bool) {
	if p.lower {
		s = strings.ToLower(s)
	}
	if (quoted && !p.lower) || !plainIdent(s) {
		p.ws(`"`, strings.ReplaceAll(s, `"`, `""`), `"`)
		return
	}
	p.ws(s)
}

// contextual holds the non-reserved words that the parser treats as
// keywords in some position (SELECT ALL x, ORDER BY x DESC, …). The printer
// quotes them as identifiers, so that printed text always parses back the
// same way.
var contextual = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`ALL ASC DESC NULLS FIRST LAST OVER FILTER AT WITHIN IGNORE
		RESPECT INTERVAL ARRAY ROW TRY_CAST ANY SOME TABLESAMPLE LATERAL PRECISION WITHOUT LOCAL
		TIME ZONE`) {
		m[w] = true
	}
	return m
}()

// plainIdent reports whether s can be written unquoted.
func plainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) || IsReserved(s) || contextual[strings.ToUpper(s)] {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (p *printer) list(es []Expr) {
	for i, e := range es {
		if i > 0 {
			p.ws(", ")
		}
		p.expr(e)
	}
}

func (p *printer) expr(e Expr) {
	switch e := e.(type) {
	case *Ident:
		for i, part := range e.Parts {
			if i > 0 {
				p.ws(".")
			}
			p.ident(part, i < len(e.Quoted) && e.Quoted[i])
		}
	case *Deref:
		p.base(e.X)
		p.ws(".")
		p.ident(e.Field, false)
	case *Subscript:
		p.base(e.X)
		p.ws("[")
		p.expr(e.Index)
		p.ws("]")
	case *NullLit:
		p.ws("NULL")
	case *BoolLit:
		p.ws(strings.ToUpper(strconv.FormatBool(e.Val)))
	case *NumberLit:
		p.ws(e.Text)
	case *StringLit:
		p.ws(quoteString(e.Val))
	case *TypedLit:
		p.ws(e.Type, " ", quoteString(e.Val))
	case *IntervalLit:
		p.ws("INTERVAL ")
		if e.Neg {
			p.ws("-")
		}
		p.ws(quoteString(e.Val), " ", e.Unit)
	case *ArrayLit:
		p.ws("ARRAY[")
		p.list(e.Elems)
		p.ws("]")
	case *Unary:
		if e.Op == "NOT" {
			p.ws("NOT ")
			p.sub(e.X, precNot)
			return
		}
		p.ws(e.Op)
		if u, ok := e.X.(*Unary); ok && u.Op != "NOT" {
			p.ws(" ") // not "--", which starts a comment
		}
		p.sub(e.X, precUnary)
	case *Binary:
		pr := prec(e)
		if pr == precPredicate {
			p.sub(e.L, precPredicate+1)
			p.ws(" ", e.Op, " ")
			p.sub(e.R, precPredicate+1)
			return
		}
		p.sub(e.L, pr)
		p.ws(" ", e.Op, " ")
		p.sub(e.R, pr+1)
	case *Like:
		p.sub(e.X, precPredicate+1)
		p.ws(not(e.Not), " LIKE ")
		p.sub(e.Pattern, precPredicate+1)
		if e.Escape != nil {
			p.ws(" ESCAPE ")
			p.sub(e.Escape, precPredicate+1)
		}
	case *In:
		p.sub(e.X, precPredicate+1)
		p.ws(not(e.Not), " IN (")
		p.list(e.List)
		p.ws(")")
	case *Between:
		p.sub(e.X, precPredicate+1)
		p.ws(not(e.Not), " BETWEEN ")
		p.sub(e.Lo, precPredicate+1)
		p.ws(" AND ")
		p.sub(e.Hi, precPredicate+1)
	case *IsNull:
		p.sub(e.X, precPredicate+1)
		p.ws(" IS", not(e.Not), " NULL")
	case *Case:
		p.ws("CASE")
		if e.Operand != nil {
			p.ws(" ")
			p.expr(e.Operand)
		}
		for _, w := range e.Whens {
			p.ws(" WHEN ")
			p.expr(w.Cond)
			p.ws(" THEN ")
			p.expr(w.Result)
		}
		if e.Else != nil {
			p.ws(" ELSE ")
			p.expr(e.Else)
		}
		p.ws(" END")
	case *Cast:
		if e.Try {
			p.ws("TRY_CAST(")
		} else {
			p.ws("CAST(")
		}
		p.expr(e.X)
		p.ws(" AS ", e.Type, ")")
	case *Extract:
		p.ws("EXTRACT(", e.Field, " FROM ")
		p.expr(e.X)
		p.ws(")")
	case *Call:
		name := e.Name
		if p.lower {
			name = strings.ToLower(name)
		}
		if e.NoParens {
			p.ws(strings.ToUpper(name))
			return
		}
		if !plainIdent(name) && !strings.EqualFold(name, "trim") {
			p.ident(name, true)
		} else {
			p.ws(name)
		}
		p.ws("(")
		if e.Distinct {
			p.ws("DISTINCT ")
		}
		if e.Star {
			p.ws("*")
		}
		p.list(e.Args)
		p.ws(")")
	}
}

func not(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

func (p *printer) sel(s *Select) {
	p.core(s)
	for _, u := range s.Union {
		p.ws(" UNION ")
		if u.All {
			p.ws("ALL ")
		}
		p.core(u.Select)
	}
	for i, o := range s.OrderBy {
		if i == 0 {
			p.ws(" ORDER BY ")
		} else {
			p.ws(", ")
		}
		p.expr(o.Expr)
		if o.Desc {
			p.ws(" DESC")
		}
		switch o.Nulls {
		case NullsFirst:
			p.ws(" NULLS FIRST")
		case NullsLast:
			p.ws(" NULLS LAST")
		}
	}
	if s.Limit != nil {
		p.ws(" LIMIT ", strconv.FormatInt(s.Limit.N, 10))
	}
}

// core prints SELECT … HAVING ….
func (p *printer) core(s *Select) {
	p.ws("SELECT ")
	if s.Distinct {
		p.ws("DISTINCT ")
	}
	for i, it := range s.Items {
		if i > 0 {
			p.ws(", ")
		}
		switch {
		case it.Star:
			for _, q := range it.Qual {
				p.ident(q, false)
				p.ws(".")
			}
			p.ws("*")
		default:
			p.expr(it.Expr)
			if it.Alias != "" {
				p.ws(" AS ")
				p.ident(it.Alias, false)
			}
		}
	}
	if s.From != nil {
		p.ws(" FROM ")
		for i, n := range s.From.Name {
			if i > 0 {
				p.ws(".")
			}
			p.ident(n, false)
		}
		if s.From.Alias != "" {
			p.ws(" AS ")
			p.ident(s.From.Alias, false)
		}
	}
	if s.Where != nil {
		p.ws(" WHERE ")
		p.expr(s.Where)
	}
	if len(s.GroupBy) > 0 {
		p.ws(" GROUP BY ")
		p.list(s.GroupBy)
	}
	if s.Having != nil {
		p.ws(" HAVING ")
		p.expr(s.Having)
	}
}
