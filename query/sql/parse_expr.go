package sql

import "strings"

// Expression grammar, loosest first (Trino's precedence):
//
//	expr      = and { OR and }
//	and       = not { AND not }
//	not       = NOT not | predicate
//	predicate = concat [ cmp concat | [NOT] LIKE concat [ESCAPE concat]
//	                   | [NOT] IN "(" expr {"," expr} ")" | [NOT] BETWEEN concat AND concat
//	                   | IS [NOT] NULL | IS [NOT] DISTINCT FROM concat ]
//	concat    = add { "||" add }
//	add       = mul { ("+" | "-") mul }
//	mul       = unary { ("*" | "/" | "%") unary }
//	unary     = ("-" | "+") unary | postfix
//	postfix   = primary { "." name | "[" expr "]" }

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.tok.pos, "expression nested too deeply (more than %d levels)", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) expr() Expr {
	p.enter()
	defer p.leave()
	x := p.and()
	for p.tok.is("OR") {
		pos := p.tok.pos
		p.next()
		x = &Binary{Pos: pos, Op: "OR", L: x, R: p.and()}
	}
	return x
}

func (p *parser) and() Expr {
	x := p.not()
	for p.tok.is("AND") {
		pos := p.tok.pos
		p.next()
		x = &Binary{Pos: pos, Op: "AND", L: x, R: p.not()}
	}
	return x
}

func (p *parser) not() Expr {
	if p.tok.is("NOT") {
		p.enter()
		defer p.leave()
		pos := p.tok.pos
		p.next()
		return &Unary{Pos: pos, Op: "NOT", X: p.not()}
	}
	return p.predicate()
}

var comparisons = map[string]string{"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func (p *parser) predicate() Expr {
	x := p.concat()
	pos := p.tok.pos
	if op, ok := comparisons[p.tok.text]; ok && p.tok.kind == tokOp {
		p.next()
		if p.tok.is("ANY") || p.tok.is("ALL") || p.tok.is("SOME") {
			if p.peek().isOp("(") {
				p.unsupported(p.tok.pos, "quantified comparison ("+strings.ToUpper(p.tok.text)+")")
			}
		}
		return &Binary{Pos: pos, Op: op, L: x, R: p.concat()}
	}
	if p.accept("IS") {
		not := p.accept("NOT")
		switch {
		case p.accept("NULL"):
			return &IsNull{Pos: pos, Not: not, X: x}
		case p.accept("DISTINCT"):
			p.expect("FROM")
			op := "IS DISTINCT FROM"
			if not {
				op = "IS NOT DISTINCT FROM"
			}
			return &Binary{Pos: pos, Op: op, L: x, R: p.concat()}
		}
		p.expected(`"NULL" or "DISTINCT FROM"`)
	}
	not := false
	if p.tok.is("NOT") {
		if t := p.peek(); t.is("LIKE") || t.is("IN") || t.is("BETWEEN") {
			not = true
			p.next()
		}
	}
	switch {
	case p.accept("LIKE"):
		l := &Like{Pos: pos, Not: not, X: x, Pattern: p.concat()}
		if p.accept("ESCAPE") {
			l.Escape = p.concat()
		}
		return l
	case p.tok.is("IN"):
		p.next()
		if p.tok.is("UNNEST") {
			p.unsupported(p.tok.pos, "UNNEST")
		}
		open := p.tok.pos
		p.expectOp("(")
		if p.tok.is("SELECT") || p.tok.is("WITH") {
			p.unsupported(open, "subquery")
		}
		in := &In{Pos: pos, Not: not, X: x}
		for {
			in.List = append(in.List, p.expr())
			if !p.acceptOp(",") {
				break
			}
		}
		p.expectOp(")")
		return in
	case p.accept("BETWEEN"):
		b := &Between{Pos: pos, Not: not, X: x, Lo: p.concat()}
		p.expect("AND")
		b.Hi = p.concat()
		return b
	}
	return x
}

func (p *parser) concat() Expr {
	x := p.add()
	for p.tok.isOp("||") {
		pos := p.tok.pos
		p.next()
		x = &Binary{Pos: pos, Op: "||", L: x, R: p.add()}
	}
	return x
}

func (p *parser) add() Expr {
	x := p.mul()
	for p.tok.isOp("+") || p.tok.isOp("-") {
		t := p.tok
		p.next()
		x = &Binary{Pos: t.pos, Op: t.text, L: x, R: p.mul()}
	}
	return x
}

func (p *parser) mul() Expr {
	x := p.unary()
	for p.tok.isOp("*") || p.tok.isOp("/") || p.tok.isOp("%") {
		t := p.tok
		p.next()
		x = &Binary{Pos: t.pos, Op: t.text, L: x, R: p.unary()}
	}
	return x
}

func (p *parser) unary() Expr {
	if p.tok.isOp("-") || p.tok.isOp("+") {
		p.enter()
		defer p.leave()
		t := p.tok
		p.next()
		return &Unary{Pos: t.pos, Op: t.text, X: p.unary()}
	}
	x := p.postfix(p.primary())
	if p.tok.is("AT") {
		p.unsupported(p.tok.pos, "AT TIME ZONE")
	}
	return x
}

func (p *parser) postfix(x Expr) Expr {
	for {
		switch {
		case p.tok.isOp("."):
			p.next()
			if p.tok.kind != tokIdent && p.tok.kind != tokQIdent {
				p.expected("a field name")
			}
			if id, ok := x.(*Ident); ok {
				id.Parts = append(id.Parts, p.tok.text)
				id.Quoted = append(id.Quoted, p.tok.kind == tokQIdent)
			} else {
				x = &Deref{Pos: p.tok.pos, X: x, Field: p.tok.text}
			}
			p.next()
		case p.tok.isOp("["):
			pos := p.tok.pos
			p.next()
			idx := p.expr()
			p.expectOp("]")
			x = &Subscript{Pos: pos, X: x, Index: idx}
		default:
			return x
		}
	}
}

// niladic are the SQL functions written without parentheses.
var niladic = map[string]bool{
	"CURRENT_TIMESTAMP": true, "CURRENT_DATE": true, "CURRENT_TIME": true,
	"LOCALTIMESTAMP": true, "LOCALTIME": true,
}

func (p *parser) primary() Expr {
	t := p.tok
	switch t.kind {
	case tokNumber:
		p.next()
		return &NumberLit{Pos: t.pos, Text: t.text}
	case tokString:
		p.next()
		return &StringLit{Pos: t.pos, Val: t.text}
	case tokQIdent:
		if p.peek().isOp("(") {
			return p.call()
		}
		p.next()
		return &Ident{Pos: t.pos, Parts: []string{t.text}, Quoted: []bool{true}}
	case tokOp:
		switch t.text {
		case "(":
			if n := p.peek(); n.is("SELECT") || n.is("WITH") {
				p.unsupported(t.pos, "subquery")
			}
			p.next()
			x := p.expr()
			if p.tok.isOp(",") {
				p.unsupported(t.pos, "row constructor")
			}
			p.expectOp(")")
			if p.tok.isOp("->") {
				p.unsupported(t.pos, "lambda expression")
			}
			return x
		case "?":
			p.unsupported(t.pos, "query parameter")
		}
		p.expected("expression")
	case tokEOF:
		p.expected("expression")
	}
	up := strings.ToUpper(t.text)
	next := p.peek()
	switch {
	case up == "NULL":
		p.next()
		return &NullLit{Pos: t.pos}
	case up == "TRUE" || up == "FALSE":
		p.next()
		return &BoolLit{Pos: t.pos, Val: up == "TRUE"}
	case up == "CASE":
		return p.caseExpr()
	case (up == "CAST" || up == "TRY_CAST") && next.isOp("("):
		return p.cast(up == "TRY_CAST")
	case up == "EXTRACT" && next.isOp("("):
		return p.extract()
	case up == "EXISTS" && next.isOp("("):
		p.unsupported(t.pos, "subquery")
	case up == "ROW" && next.isOp("("):
		p.unsupported(t.pos, "row constructor")
	case up == "ARRAY" && next.isOp("["):
		return p.array()
	case up == "INTERVAL" && (next.kind == tokString || next.isOp("-") || next.isOp("+")):
		return p.interval()
	case niladic[up]:
		p.next()
		return &Call{Pos: t.pos, Name: strings.ToLower(up), NoParens: true}
	case up == "TRIM" && next.isOp("("):
		return p.call()
	case IsReserved(up):
		p.expected("expression")
	case next.kind == tokString:
		p.next()
		p.next()
		return &TypedLit{Pos: t.pos, Type: up, Val: next.text}
	case next.isOp("("):
		return p.call()
	}
	p.next()
	if p.tok.isOp("->") {
		p.unsupported(t.pos, "lambda expression")
	}
	return &Ident{Pos: t.pos, Parts: []string{t.text}, Quoted: []bool{false}}
}

func (p *parser) call() Expr {
	c := &Call{Pos: p.tok.pos, Name: p.tok.text}
	p.enter()
	defer p.leave()
	p.next()
	p.expectOp("(")
	switch {
	case p.tok.isOp("*"):
		c.Star = true
		p.next()
	case !p.tok.isOp(")"):
		if p.accept("DISTINCT") {
			c.Distinct = true
		} else {
			p.accept("ALL")
		}
		if strings.EqualFold(c.Name, "trim") && (p.tok.is("BOTH") || p.tok.is("LEADING") || p.tok.is("TRAILING")) {
			p.unsupported(p.tok.pos, "TRIM("+strings.ToUpper(p.tok.text)+" … FROM …); use trim, ltrim or rtrim")
		}
		for {
			if p.tok.is("SELECT") || p.tok.is("WITH") {
				p.unsupported(p.tok.pos, "subquery")
			}
			a := p.expr()
			if p.tok.isOp("->") {
				p.unsupported(Start(a), "lambda expression")
			}
			c.Args = append(c.Args, a)
			if !p.acceptOp(",") {
				break
			}
		}
		if p.tok.is("ORDER") {
			p.unsupported(p.tok.pos, "ORDER BY in a function call")
		}
	}
	p.expectOp(")")
	switch {
	case p.tok.is("OVER"):
		p.unsupported(p.tok.pos, "window function")
	case p.tok.is("FILTER") && p.peek().isOp("("):
		p.unsupported(p.tok.pos, "FILTER clause (use count_if or CASE)")
	case p.tok.is("WITHIN") && p.peek().is("GROUP"):
		p.unsupported(p.tok.pos, "WITHIN GROUP")
	case (p.tok.is("IGNORE") || p.tok.is("RESPECT")) && p.peek().is("NULLS"):
		p.unsupported(p.tok.pos, "window function")
	}
	return c
}

func (p *parser) caseExpr() Expr {
	p.enter()
	defer p.leave()
	c := &Case{Pos: p.tok.pos}
	p.next()
	if p.tok.is("END") {
		p.expected(`"WHEN"`)
	}
	if !p.tok.is("WHEN") {
		c.Operand = p.expr()
	}
	for p.accept("WHEN") {
		w := &When{Cond: p.expr()}
		p.expect("THEN")
		w.Result = p.expr()
		c.Whens = append(c.Whens, w)
	}
	if len(c.Whens) == 0 {
		p.expected(`"WHEN"`)
	}
	if p.accept("ELSE") {
		c.Else = p.expr()
	}
	p.expect("END")
	return c
}

func (p *parser) cast(try bool) Expr {
	p.enter()
	defer p.leave()
	c := &Cast{Pos: p.tok.pos, Try: try}
	p.next()
	p.expectOp("(")
	c.X = p.expr()
	p.expect("AS")
	c.Type = p.typeName()
	p.expectOp(")")
	return c
}

// typeName parses a type such as varchar, varchar(10), double precision,
// decimal(10, 2), timestamp(3) with time zone, map(varchar, json) or
// array(row(a bigint)), and returns it as normalised lower-case text.
func (p *parser) typeName() string {
	if p.tok.kind != tokIdent && p.tok.kind != tokQIdent {
		p.expected("a type name")
	}
	var b strings.Builder
	word := func(t token) {
		if t.kind == tokQIdent {
			b.WriteString(`"` + strings.ReplaceAll(t.text, `"`, `""`) + `"`)
			return
		}
		b.WriteString(strings.ToLower(t.text))
	}
	word(p.tok)
	p.next()
	if b.String() == "double" && p.accept("PRECISION") {
		b.WriteString(" precision")
	}
	if p.tok.isOp("(") {
		depth := 0
		prevWord := false
		for {
			t := p.tok
			switch {
			case t.kind == tokEOF:
				p.expected(`")"`)
			case t.isOp("("):
				depth++
				b.WriteString("(")
				prevWord = false
			case t.isOp(")"):
				depth--
				b.WriteString(")")
				prevWord = true
			case t.isOp(","):
				b.WriteString(", ")
				prevWord = false
			case t.kind == tokIdent || t.kind == tokQIdent || t.kind == tokNumber:
				if prevWord {
					b.WriteString(" ")
				}
				word(t)
				prevWord = true
			default:
				p.expected("a type parameter")
			}
			p.next()
			if depth == 0 {
				break
			}
		}
	}
	switch {
	case p.accept("WITH"):
		p.accept("LOCAL")
		p.expect("TIME")
		p.expect("ZONE")
		b.WriteString(" with time zone")
	case p.accept("WITHOUT"):
		p.expect("TIME")
		p.expect("ZONE")
	}
	return b.String()
}

func (p *parser) extract() Expr {
	p.enter()
	defer p.leave()
	e := &Extract{Pos: p.tok.pos}
	p.next()
	p.expectOp("(")
	if p.tok.kind != tokIdent {
		p.expected("a field such as YEAR or DAY")
	}
	e.Field = strings.ToUpper(p.tok.text)
	p.next()
	p.expect("FROM")
	e.X = p.expr()
	p.expectOp(")")
	return e
}

func (p *parser) array() Expr {
	p.enter()
	defer p.leave()
	a := &ArrayLit{Pos: p.tok.pos}
	p.next()
	p.expectOp("[")
	if !p.tok.isOp("]") {
		for {
			a.Elems = append(a.Elems, p.expr())
			if !p.acceptOp(",") {
				break
			}
		}
	}
	p.expectOp("]")
	return a
}

// intervalUnits maps the unit words of INTERVAL (singular or plural) to the
// singular.
var intervalUnits = map[string]string{
	"YEAR": "YEAR", "MONTH": "MONTH", "WEEK": "WEEK", "DAY": "DAY",
	"HOUR": "HOUR", "MINUTE": "MINUTE", "SECOND": "SECOND",
	"YEARS": "YEAR", "MONTHS": "MONTH", "WEEKS": "WEEK", "DAYS": "DAY",
	"HOURS": "HOUR", "MINUTES": "MINUTE", "SECONDS": "SECOND",
}

func (p *parser) interval() Expr {
	iv := &IntervalLit{Pos: p.tok.pos}
	p.next()
	if p.tok.isOp("-") || p.tok.isOp("+") {
		iv.Neg = p.tok.text == "-"
		p.next()
	}
	if p.tok.kind != tokString {
		p.expected("a string such as '7' after INTERVAL")
	}
	iv.Val = p.tok.text
	p.next()
	unit, ok := intervalUnits[strings.ToUpper(p.tok.text)]
	if p.tok.kind != tokIdent || !ok {
		p.expected("an interval unit (YEAR, MONTH, WEEK, DAY, HOUR, MINUTE or SECOND)")
	}
	iv.Unit = unit
	p.next()
	if p.tok.is("TO") {
		p.unsupported(p.tok.pos, "INTERVAL … TO …")
	}
	return iv
}
