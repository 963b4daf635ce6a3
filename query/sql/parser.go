// Package sql parses the CloudTrail Lake dialect of SQL: one Trino-style
// SELECT over one table. Parse returns the AST; the query package resolves
// names and types and plans it.
//
// Parse never panics and always ends: errors (an *Error with a line and
// column) are raised inside the parser by panicking with the *Error and are
// recovered in Parse; any other panic is a bug and is not recovered.
// Expression nesting is capped at maxDepth, so the recursion is bounded.
//
// Constructs that are valid Trino but that Cairn does not run (JOIN, UNNEST,
// WITH, subqueries, window functions, INTERSECT, EXCEPT, lambdas, …) are
// reported as "unsupported: <construct>" at their position; errors.Is(err,
// ErrUnsupported) tells them apart from syntax errors. (The query package
// rejects more, such as a UNION of aggregating SELECTs.)
package sql

import (
	"strconv"
	"strings"
)

// maxDepth bounds expression nesting (parentheses, operators, calls).
const maxDepth = 200

// Parse parses src, one SELECT statement optionally followed by ";".
func Parse(src string) (sel *Select, err error) {
	p := &parser{lx: lexer{src: src}}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			sel, err = nil, e
		}
	}()
	p.next()
	return p.statement(), nil
}

type parser struct {
	lx    lexer
	tok   token
	depth int
}

func (p *parser) next() { p.tok = p.lx.next() }

// peek returns the token after the current one without consuming it.
func (p *parser) peek() token {
	save := p.lx
	t := p.lx.next()
	p.lx = save
	return t
}

func (p *parser) fail(off int, format string, args ...any) {
	panic(Errorf(p.lx.src, off, format, args...))
}

func (p *parser) expected(what string) {
	p.fail(p.tok.pos, "expected %s, found %s", what, p.tok.describe())
}

func (p *parser) unsupported(off int, what string) {
	p.fail(off, "unsupported: %s", what)
}

// accept consumes the keyword kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.tok.is(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) acceptOp(op string) bool {
	if p.tok.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(kw string) {
	if !p.accept(kw) {
		p.expected(strconv.Quote(kw))
	}
}

func (p *parser) expectOp(op string) {
	if !p.acceptOp(op) {
		p.expected(strconv.Quote(op))
	}
}

// otherStatements are statement keywords named in "unsupported: …".
var otherStatements = map[string]bool{
	"CREATE": true, "INSERT": true, "UPDATE": true, "DELETE": true, "DROP": true, "ALTER": true,
	"SHOW": true, "DESCRIBE": true, "EXPLAIN": true, "VALUES": true, "TABLE": true, "CALL": true,
	"GRANT": true, "REVOKE": true, "MERGE": true, "USE": true, "SET": true, "PREPARE": true,
	"EXECUTE": true, "ANALYZE": true, "COMMENT": true, "TRUNCATE": true, "START": true,
	"COMMIT": true, "ROLLBACK": true, "DEALLOCATE": true, "RESET": true, "REFRESH": true,
}

func (p *parser) statement() *Select {
	switch {
	case p.tok.is("WITH"):
		p.unsupported(p.tok.pos, "WITH")
	case p.tok.isOp("("):
		if t := p.peek(); t.is("SELECT") || t.is("WITH") {
			p.unsupported(p.tok.pos, "subquery")
		}
	case p.tok.kind == tokIdent && otherStatements[strings.ToUpper(p.tok.text)]:
		p.unsupported(p.tok.pos, strings.ToUpper(p.tok.text)+" statement")
	}
	if !p.tok.is("SELECT") {
		p.expected(`"SELECT"`)
	}
	s := p.selectStmt()
	p.acceptOp(";")
	if p.tok.kind != tokEOF {
		p.expected("end of input")
	}
	return s
}

func (p *parser) selectStmt() *Select {
	s := p.selectCore()
	for p.tok.is("UNION") || p.tok.is("INTERSECT") || p.tok.is("EXCEPT") {
		if !p.tok.is("UNION") {
			p.unsupported(p.tok.pos, strings.ToUpper(p.tok.text))
		}
		u := &UnionPart{Pos: p.tok.pos}
		p.next()
		if p.accept("ALL") {
			u.All = true
		} else {
			p.accept("DISTINCT")
		}
		if p.tok.isOp("(") {
			p.unsupported(p.tok.pos, "parenthesized query")
		}
		if !p.tok.is("SELECT") {
			p.expected(`"SELECT"`)
		}
		u.Select = p.selectCore()
		s.Union = append(s.Union, u)
	}
	if p.tok.is("ORDER") {
		p.next()
		p.expect("BY")
		for {
			s.OrderBy = append(s.OrderBy, p.orderItem())
			if !p.acceptOp(",") {
				break
			}
		}
	}
	switch {
	case p.tok.is("OFFSET"):
		p.unsupported(p.tok.pos, "OFFSET")
	case p.tok.is("FETCH"):
		p.unsupported(p.tok.pos, "FETCH FIRST (use LIMIT)")
	}
	if p.tok.is("LIMIT") {
		pos := p.tok.pos
		p.next()
		switch {
		case p.accept("ALL"):
		case p.tok.kind == tokNumber:
			n, err := strconv.ParseInt(p.tok.text, 10, 64)
			if err != nil {
				p.fail(p.tok.pos, "LIMIT must be a whole number from 0 to %d, not %s", int64(1<<63-1), p.tok.text)
			}
			s.Limit = &Limit{Pos: pos, N: n}
			p.next()
		default:
			p.expected("a number after LIMIT")
		}
	}
	if p.tok.is("OFFSET") {
		p.unsupported(p.tok.pos, "OFFSET")
	}
	for _, op := range [...]string{"UNION", "INTERSECT", "EXCEPT"} {
		if p.tok.is(op) {
			p.unsupported(p.tok.pos, op+" after ORDER BY or LIMIT (they go at the end of the whole query)")
		}
	}
	return s
}

// selectCore parses SELECT … FROM … WHERE … GROUP BY … HAVING ….
func (p *parser) selectCore() *Select {
	s := &Select{Pos: p.tok.pos}
	p.expect("SELECT")
	if p.accept("DISTINCT") {
		s.Distinct = true
	} else {
		p.accept("ALL")
	}
	for {
		s.Items = append(s.Items, p.selectItem())
		if !p.acceptOp(",") {
			break
		}
	}
	if p.tok.is("FROM") {
		p.tok = p.lx.tableWord()
		s.From = p.table()
	}
	if p.accept("WHERE") {
		s.Where = p.expr()
	}
	if p.tok.is("GROUP") {
		p.next()
		p.expect("BY")
		if p.tok.is("DISTINCT") {
			p.unsupported(p.tok.pos, "GROUP BY DISTINCT")
		}
		p.accept("ALL")
		for {
			if p.tok.is("GROUPING") || p.tok.is("ROLLUP") || p.tok.is("CUBE") {
				p.unsupported(p.tok.pos, strings.ToUpper(p.tok.text))
			}
			s.GroupBy = append(s.GroupBy, p.expr())
			if !p.acceptOp(",") {
				break
			}
		}
	}
	if p.accept("HAVING") {
		s.Having = p.expr()
	}
	if p.tok.is("WINDOW") {
		p.unsupported(p.tok.pos, "window function")
	}
	return s
}

func (p *parser) selectItem() *SelectItem {
	it := &SelectItem{Pos: p.tok.pos}
	if p.acceptOp("*") {
		it.Star = true
		return it
	}
	// t.* and t.u.*
	if p.tok.kind == tokIdent || p.tok.kind == tokQIdent {
		save, saveTok := p.lx, p.tok
		var qual []string
		for (p.tok.kind == tokIdent && !IsReserved(p.tok.text)) || p.tok.kind == tokQIdent {
			qual = append(qual, p.tok.text)
			p.next()
			if !p.acceptOp(".") {
				break
			}
			if p.acceptOp("*") {
				it.Star, it.Qual = true, qual
				return it
			}
		}
		p.lx, p.tok = save, saveTok
	}
	it.Expr = p.expr()
	if p.accept("AS") {
		it.Alias = p.alias(true)
	} else if (p.tok.kind == tokIdent && !IsReserved(p.tok.text)) || p.tok.kind == tokQIdent {
		it.Alias = p.alias(false)
	}
	return it
}

// alias consumes an alias: an identifier that is not a reserved word, or a
// quoted one. A string literal is accepted after AS, as Trino does.
func (p *parser) alias(afterAS bool) string {
	switch {
	case p.tok.kind == tokQIdent, p.tok.kind == tokIdent && !IsReserved(p.tok.text), afterAS && p.tok.kind == tokString:
		s := p.tok.text
		p.next()
		return s
	}
	p.expected("an alias")
	return ""
}

func (p *parser) table() *Table {
	t := &Table{Pos: p.tok.pos}
	switch {
	case p.tok.isOp("("):
		p.unsupported(p.tok.pos, "subquery")
	case p.tok.is("UNNEST"):
		p.unsupported(p.tok.pos, "UNNEST")
	case p.tok.is("LATERAL"):
		p.unsupported(p.tok.pos, "LATERAL")
	}
	for {
		switch {
		case p.tok.kind == tokQIdent, p.tok.kind == tokIdent && !IsReserved(p.tok.text):
			t.Name = append(t.Name, p.tok.text)
			p.next()
		default:
			p.expected("a table name")
		}
		if !p.tok.isOp(".") {
			break
		}
		p.tok = p.lx.tableWord()
	}
	if p.tok.isOp("(") {
		p.unsupported(p.tok.pos, "table function")
	}
	if p.accept("AS") {
		t.Alias = p.alias(false)
	} else if (p.tok.kind == tokIdent && !IsReserved(p.tok.text) && !p.tok.is("TABLESAMPLE")) || p.tok.kind == tokQIdent {
		t.Alias = p.alias(false)
	}
	if p.tok.isOp("(") {
		p.unsupported(p.tok.pos, "column aliases on a table")
	}
	switch {
	case p.tok.isOp(","):
		p.unsupported(p.tok.pos, "JOIN (a comma-separated list of tables)")
	case p.tok.is("TABLESAMPLE"):
		p.unsupported(p.tok.pos, "TABLESAMPLE")
	case p.tok.is("JOIN"), p.tok.is("CROSS"), p.tok.is("INNER"), p.tok.is("LEFT"),
		p.tok.is("RIGHT"), p.tok.is("FULL"), p.tok.is("NATURAL"):
		pos := p.tok.pos
		for i := 0; i < 4 && !p.tok.is("JOIN") && p.tok.kind == tokIdent; i++ {
			p.next()
		}
		if p.tok.is("JOIN") {
			p.next()
			if p.tok.is("UNNEST") || p.tok.is("LATERAL") {
				p.unsupported(pos, strings.ToUpper(p.tok.text))
			}
		}
		p.unsupported(pos, "JOIN")
	}
	return t
}

func (p *parser) orderItem() *OrderItem {
	o := &OrderItem{Expr: p.expr()}
	if p.accept("DESC") {
		o.Desc = true
	} else {
		p.accept("ASC")
	}
	if p.accept("NULLS") {
		switch {
		case p.accept("FIRST"):
			o.Nulls = NullsFirst
		case p.accept("LAST"):
			o.Nulls = NullsLast
		default:
			p.expected(`"FIRST" or "LAST"`)
		}
	}
	return o
}
