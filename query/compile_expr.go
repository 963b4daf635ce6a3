package query

import (
	"strconv"
	"strings"

	"github.com/cairn-lake/cairn/query/sql"
)

// scope says where an expression is compiled.
type scope struct {
	clause string // for messages: "WHERE", "SELECT", …
	// post: after aggregation, where a column is reachable only through a
	// GROUP BY expression, and aggregate calls become their results.
	post bool
	// aliases: a bare name may be an output column (ORDER BY).
	aliases bool
	// distinct: SELECT DISTINCT without aggregates (for messages).
	distinct bool
	// inAgg: inside an aggregate's arguments.
	inAgg bool
	// outputsOnly: only output columns may be named (ORDER BY of a UNION).
	outputsOnly bool
}

func isLiteral(e sql.Expr) bool {
	switch e.(type) {
	case *sql.NullLit, *sql.BoolLit, *sql.NumberLit, *sql.StringLit, *sql.TypedLit, *sql.IntervalLit:
		return true
	}
	return false
}

func isConst(e expr) bool {
	_, ok := e.(*constExpr)
	return ok
}

// fold evaluates e now when all its operands are constants.
func (c *compiler) fold(pos int, e expr, operands ...expr) expr {
	for _, o := range operands {
		if !isConst(o) {
			return e
		}
	}
	var cx ctx
	v := e.eval(&cx)
	if cx.err != nil {
		c.fail(pos, "%s", strings.TrimPrefix(cx.err.Error(), ErrEval.Error()+": "))
	}
	t := e.typ()
	if v.IsNull() && t == tAny {
		t = tNull
	}
	return &constExpr{v: v, t: t}
}

// expr compiles e in scope sc.
func (c *compiler) expr(e sql.Expr, sc *scope) expr {
	if sc.post && !isLiteral(e) {
		if i, ok := c.groupCanon[sql.Canonical(e)]; ok {
			return &slotExpr{i: i, t: c.plan.keys[i].typ()}
		}
	}
	switch e := e.(type) {
	case *sql.NullLit:
		return &constExpr{t: tNull}
	case *sql.BoolLit:
		return &constExpr{v: BoolValue(e.Val), t: tBool}
	case *sql.NumberLit:
		return c.number(e)
	case *sql.StringLit:
		return &constExpr{v: StringValue(e.Val), t: tString}
	case *sql.TypedLit:
		return c.typedLit(e)
	case *sql.IntervalLit:
		return c.interval(e)
	case *sql.ArrayLit:
		elems := c.exprs(e.Elems, sc)
		return c.fold(e.Pos, &arrayExpr{elems: elems}, elems...)
	case *sql.Ident:
		return c.ident(e, sc)
	case *sql.Deref:
		return c.field(c.expr(e.X, sc), e.Field, e.Pos)
	case *sql.Subscript:
		return c.elementAt(c.expr(e.X, sc), c.expr(e.Index, sc), e.Pos)
	case *sql.Unary:
		x := c.expr(e.X, sc)
		switch e.Op {
		case "NOT":
			return c.fold(e.Pos, &notExpr{x: x}, x)
		case "-":
			c.checkArith(e.Pos, "-", x, &constExpr{v: IntValue(0), t: tInt})
			return c.fold(e.Pos, &negExpr{x: x}, x)
		}
		c.checkArith(e.Pos, "+", x, &constExpr{v: IntValue(0), t: tInt})
		return x
	case *sql.Binary:
		return c.binary(e, sc)
	case *sql.Like:
		return c.like(e, sc)
	case *sql.In:
		x := c.expr(e.X, sc)
		list := c.exprs(e.List, sc)
		for i := range list {
			list[i] = c.coerce(x, list[i], e.List[i])
			c.checkComparable(e.Pos, x, list[i])
		}
		return c.fold(e.Pos, &inExpr{not: e.Not, x: x, list: list}, append(list, x)...)
	case *sql.Between:
		x := c.expr(e.X, sc)
		lo := c.coerce(x, c.expr(e.Lo, sc), e.Lo)
		hi := c.coerce(x, c.expr(e.Hi, sc), e.Hi)
		c.checkComparable(e.Pos, x, lo)
		c.checkComparable(e.Pos, x, hi)
		return c.fold(e.Pos, &betweenExpr{not: e.Not, x: x, lo: lo, hi: hi}, x, lo, hi)
	case *sql.IsNull:
		x := c.expr(e.X, sc)
		return c.fold(e.Pos, &isNullExpr{not: e.Not, x: x}, x)
	case *sql.Case:
		return c.caseExpr(e, sc)
	case *sql.Cast:
		return c.cast(e, sc)
	case *sql.Extract:
		name, ok := extractFields[e.Field]
		if !ok {
			c.fail(e.Pos, "unknown EXTRACT field %s; use YEAR, QUARTER, MONTH, WEEK, DAY, DAY_OF_WEEK, DAY_OF_YEAR, HOUR, MINUTE or SECOND", e.Field)
		}
		x := c.expr(e.X, sc)
		return c.fold(e.Pos, &callExpr{name: name, fn: funcs[name], args: []expr{x}, t: tInt}, x)
	case *sql.Call:
		if isAggregate(e.Name) && !e.NoParens {
			return c.aggregate(e, sc)
		}
		return c.call(e, sc)
	}
	c.fail(e.Position(), "unsupported: %s", e)
	return nil
}

func (c *compiler) exprs(es []sql.Expr, sc *scope) []expr {
	out := make([]expr, len(es))
	for i, e := range es {
		out[i] = c.expr(e, sc)
	}
	return out
}

func (c *compiler) number(e *sql.NumberLit) expr {
	if !strings.ContainsAny(e.Text, ".eE") {
		i, err := strconv.ParseInt(e.Text, 10, 64)
		if err != nil {
			c.fail(e.Pos, "number %s is too large for a bigint", e.Text)
		}
		return &constExpr{v: IntValue(i), t: tInt}
	}
	f, err := strconv.ParseFloat(e.Text, 64)
	if err != nil {
		c.fail(e.Pos, "number %s is out of range", e.Text)
	}
	return &constExpr{v: FloatValue(f), t: tFloat}
}

func (c *compiler) typedLit(e *sql.TypedLit) expr {
	switch e.Type {
	case "TIMESTAMP":
		ns, ok := parseTimestamp(strings.TrimSpace(e.Val))
		if !ok {
			c.fail(e.Pos, "invalid TIMESTAMP literal %s; write e.g. TIMESTAMP '2026-01-02 03:04:05'", quoteSQL(e.Val))
		}
		return &constExpr{v: tsValue(ns), t: tTimestamp}
	case "DATE":
		d, ok := parseDate(strings.TrimSpace(e.Val))
		if !ok || len(strings.TrimSpace(e.Val)) != 10 {
			c.fail(e.Pos, "invalid DATE literal %s; write e.g. DATE '2026-01-02'", quoteSQL(e.Val))
		}
		return &constExpr{v: dateValue(d), t: tDate}
	}
	ct, ok := lookupCastType(strings.ToLower(e.Type))
	if !ok {
		c.fail(e.Pos, "unknown type %s in %s %s", e.Type, e.Type, quoteSQL(e.Val))
	}
	if ct == castJSON {
		var cx ctx
		v := fnJSONParse(&cx, nil, []Value{StringValue(e.Val)})
		if cx.err != nil {
			c.fail(e.Pos, "invalid JSON literal %s", quoteSQL(e.Val))
		}
		return &constExpr{v: v, t: tJSON}
	}
	v, ok := castValue(StringValue(e.Val), ct)
	if !ok {
		c.fail(e.Pos, "invalid %s literal %s", e.Type, quoteSQL(e.Val))
	}
	return &constExpr{v: v, t: castResult[ct]}
}

var intervalNanos = map[string]int64{"WEEK": 7 * 86400e9, "DAY": 86400e9, "HOUR": 3600e9, "MINUTE": 60e9, "SECOND": 1e9}

func (c *compiler) interval(e *sql.IntervalLit) expr {
	s := strings.TrimSpace(e.Val)
	neg := e.Neg
	if strings.HasPrefix(s, "-") {
		neg, s = !neg, s[1:]
	}
	var n int64
	switch e.Unit {
	case "YEAR", "MONTH":
		i, err := strconv.ParseInt(s, 10, 32)
		if err != nil || i < 0 {
			c.fail(e.Pos, "invalid INTERVAL %s %s; write a whole number such as INTERVAL '3' %s", quoteSQL(e.Val), e.Unit, e.Unit)
		}
		if e.Unit == "YEAR" {
			i *= 12
		}
		if neg {
			i = -i
		}
		return &constExpr{v: monthsValue(i), t: tMonths}
	case "SECOND":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 9e9 {
			c.fail(e.Pos, "invalid INTERVAL %s SECOND", quoteSQL(e.Val))
		}
		n = int64(f * 1e9)
	default:
		i, err := strconv.ParseInt(s, 10, 64)
		unit := intervalNanos[e.Unit]
		if err != nil || i < 0 || i > (1<<62)/unit {
			c.fail(e.Pos, "invalid INTERVAL %s %s; write a whole number such as INTERVAL '7' %s", quoteSQL(e.Val), e.Unit, e.Unit)
		}
		n = i * unit
	}
	if neg {
		n = -n
	}
	return &constExpr{v: intervalValue(n), t: tInterval}
}

// ident compiles a column reference: a column, then struct fields.
func (c *compiler) ident(e *sql.Ident, sc *scope) expr {
	if sc.aliases && len(e.Parts) == 1 {
		if i := c.outputIndex(e.Parts[0]); i >= 0 {
			return &outExpr{i: i, t: c.plan.outputs[i].typ()}
		}
	}
	if sc.outputsOnly {
		c.fail(e.Pos, "ORDER BY of a UNION can use only its output columns, by name or position")
	}
	if sc.post {
		// A field of a grouped struct: GROUP BY userIdentity, SELECT userIdentity.arn.
		for k := len(e.Parts) - 1; k >= 1; k-- {
			prefix := &sql.Ident{Parts: e.Parts[:k], Quoted: e.Quoted[:k]}
			if i, ok := c.groupCanon[sql.Canonical(prefix)]; ok {
				var x expr = &slotExpr{i: i, t: c.plan.keys[i].typ()}
				for j := k; j < len(e.Parts); j++ {
					x = c.field(x, e.Parts[j], e.Pos)
				}
				return x
			}
		}
		if lookupColumn(e.Parts[0]) != nil {
			if sc.distinct {
				c.fail(e.Pos, "for SELECT DISTINCT, ORDER BY expressions must appear in the select list")
			}
			c.fail(e.Pos, "column %s must appear in GROUP BY or be used in an aggregate function", quoteIdent(e))
		}
	}
	col := lookupColumn(e.Parts[0])
	if col == nil && len(e.Parts) == 1 && sc.clause == "HAVING" {
		// An extension of Trino's rules: HAVING may name an output alias.
		if i := c.aliasIndex(e.Parts[0]); i >= 0 && !c.inAlias {
			c.inAlias = true
			defer func() { c.inAlias = false }()
			return c.expr(c.items[i].ast, sc)
		}
	}
	if col == nil {
		if len(e.Parts) == 1 && c.aliasIndex(e.Parts[0]) >= 0 && sc.clause != "ORDER BY" {
			c.fail(e.Pos, "unknown column %q: %s cannot use the output alias %q", e.Parts[0], sc.clause, e.Parts[0])
		}
		msg := "unknown column " + strconv.Quote(e.Parts[0])
		if s := suggest(e.Parts[0], columnNames()); s != "" {
			msg += "; did you mean " + strconv.Quote(s) + "?"
		}
		c.fail(e.Pos, "%s", msg)
	}
	if col.field == noField || len(e.Parts) > 1 {
		c.plan.needsRecord = true
	} else {
		c.plan.fieldsRead |= 1 << col.field
	}
	var x expr = &columnExpr{col: col, t: col.typ}
	for _, f := range e.Parts[1:] {
		x = c.field(x, f, e.Pos)
	}
	return x
}

func quoteIdent(e *sql.Ident) string { return strconv.Quote(strings.Join(e.Parts, ".")) }

// field compiles x.name: a step into the record when x reads the record,
// else a lookup in the JSON x computes.
func (c *compiler) field(x expr, name string, pos int) expr {
	switch t := x.typ(); t {
	case tAny, tStruct, tMap, tJSON:
	case tArray:
		c.fail(pos, "cannot read field %q of an array; use element_at(…, 1).%s or [1].%s for an element", name, name, name)
	default:
		c.fail(pos, "cannot read field %q of a %s", name, t)
	}
	s := step{kind: stepField, name: name}
	switch x := x.(type) {
	case *columnExpr:
		if x.col.special == plainCol {
			return &columnExpr{col: x.col, steps: appendStep(x.steps, s), t: tAny}
		}
	case *navExpr:
		return &navExpr{x: x.x, steps: appendStep(x.steps, s)}
	}
	return &navExpr{x: x, steps: []step{s}}
}

func appendStep(steps []step, s step) []step {
	return append(append([]step(nil), steps...), s)
}

// elementAt compiles element_at(base, key) and base[key]: an array element
// (1-based, negative from the end) or a map value (NULL when absent).
func (c *compiler) elementAt(base, key expr, pos int) expr {
	k, constKey := key.(*constExpr)
	bt := base.typ()
	switch bt {
	case tAny, tMap, tArray, tStruct, tJSON, tNull:
	default:
		c.fail(pos, "element_at needs a map or an array, not a %s", bt)
	}
	if constKey {
		if k.v.IsNull() {
			return &constExpr{t: tNull}
		}
		var s step
		switch {
		case bt == tArray || (bt == tAny && k.v.kind == KindInt):
			if k.v.kind != KindInt {
				c.fail(pos, "an array index must be a whole number, not %s", k.v.kind)
			}
			if k.v.n == 0 {
				c.fail(pos, "SQL array indices start at 1")
			}
			s = step{kind: stepIndex, index: k.v.n}
		default:
			s = step{kind: stepKey, name: asString(k.v)}
		}
		t := tAny
		if s.kind == stepKey {
			t = tString
		}
		switch x := base.(type) {
		case *columnExpr:
			if x.col.special == plainCol {
				return &columnExpr{col: x.col, steps: appendStep(x.steps, s), t: t}
			}
		case *navExpr:
			return &navExpr{x: x.x, steps: appendStep(x.steps, s)}
		}
		if bt != tNull {
			return &navExpr{x: base, steps: []step{s}}
		}
	}
	e := &callExpr{name: "element_at", fn: funcs["element_at"], args: []expr{base, key}, t: tAny, mapValue: bt == tMap}
	return c.fold(pos, e, base, key)
}

func (c *compiler) binary(e *sql.Binary, sc *scope) expr {
	l, r := c.expr(e.L, sc), c.expr(e.R, sc)
	switch e.Op {
	case "AND":
		return c.fold(e.Pos, &andExpr{l: l, r: r}, l, r)
	case "OR":
		return c.fold(e.Pos, &orExpr{l: l, r: r}, l, r)
	case "=", "<>", "<", "<=", ">", ">=":
		l, r = c.coerce(r, l, e.L), c.coerce(l, r, e.R)
		c.checkComparable(e.Pos, l, r)
		return c.fold(e.Pos, &cmpExpr{op: e.Op, l: l, r: r}, l, r)
	case "IS DISTINCT FROM", "IS NOT DISTINCT FROM":
		l, r = c.coerce(r, l, e.L), c.coerce(l, r, e.R)
		c.checkComparable(e.Pos, l, r)
		return c.fold(e.Pos, &distinctExpr{not: e.Op != "IS DISTINCT FROM", l: l, r: r}, l, r)
	case "||":
		return c.fold(e.Pos, &concatExpr{l: l, r: r}, l, r)
	}
	t := c.checkArith(e.Pos, e.Op, l, r)
	return c.fold(e.Pos, &arithExpr{op: e.Op[0], l: l, r: r, t: t}, l, r)
}

// class groups types that compare with each other.
func class(t typ) int {
	switch t {
	case tAny, tNull:
		return 0
	case tInt, tFloat:
		return 1
	case tString:
		return 2
	case tTimestamp, tDate:
		return 3
	case tBool:
		return 4
	case tInterval:
		return 5
	case tMonths:
		return 6
	}
	return 7 // JSON, maps, arrays, structs
}

// checkComparable fails when l and r have known types that do not compare
// (Trino does not compare a varchar with a bigint, say).
func (c *compiler) checkComparable(pos int, l, r expr) {
	a, b := class(l.typ()), class(r.typ())
	if a == 0 || b == 0 || a == b || (a == 2 && b == 7) || (a == 7 && b == 2) {
		return
	}
	c.fail(pos, "cannot compare %s with %s; use CAST to convert one of them", l.typ(), r.typ())
}

// coerce converts the string constant k compared with x to x's type, as
// Trino does for literals: eventTime > '2026-01-01 00:00:00'. ast is k's
// source, for the error position.
func (c *compiler) coerce(x, k expr, ast sql.Expr) expr {
	kc, ok := k.(*constExpr)
	if !ok || kc.v.kind != KindString {
		return k
	}
	switch x.typ() {
	case tTimestamp:
		ns, ok := parseTimestamp(strings.TrimSpace(kc.v.s))
		if !ok {
			c.fail(sql.Start(ast), "cannot compare a timestamp with %s: it is not a time; write e.g. '2026-01-02 03:04:05' or '2026-01-02T03:04:05Z'", quoteSQL(kc.v.s))
		}
		return &constExpr{v: tsValue(ns), t: tTimestamp}
	case tDate:
		d, ok := parseDate(strings.TrimSpace(kc.v.s))
		if !ok {
			c.fail(sql.Start(ast), "cannot compare a date with %s: it is not a date; write e.g. '2026-01-02'", quoteSQL(kc.v.s))
		}
		return &constExpr{v: dateValue(d), t: tDate}
	case tBool:
		switch strings.ToLower(strings.TrimSpace(kc.v.s)) {
		case "true":
			return &constExpr{v: BoolValue(true), t: tBool}
		case "false":
			return &constExpr{v: BoolValue(false), t: tBool}
		}
		c.fail(sql.Start(ast), "cannot compare a boolean with %s; use TRUE or FALSE", quoteSQL(kc.v.s))
	}
	return k
}

// checkArith checks the operand types of an arithmetic operator and returns
// the result type.
func (c *compiler) checkArith(pos int, op string, l, r expr) typ {
	lt, rt := l.typ(), r.typ()
	num := func(t typ) bool { return t == tInt || t == tFloat }
	tm := func(t typ) bool { return t == tTimestamp || t == tDate }
	iv := func(t typ) bool { return t == tInterval || t == tMonths }
	switch {
	case lt == tInt && rt == tInt:
		return tInt
	case num(lt) && num(rt):
		return tFloat
	case tm(lt) && iv(rt) && (op == "+" || op == "-"):
		return lt
	case iv(lt) && tm(rt) && op == "+":
		return rt
	case lt == tTimestamp && rt == tTimestamp && op == "-":
		return tInterval
	case iv(lt) && (rt == lt || rt == tInt):
		return lt
	case lt == tAny || rt == tAny || lt == tNull || rt == tNull:
		return tAny
	}
	c.fail(pos, "cannot apply %s to %s and %s", op, lt, rt)
	return tAny
}

func (c *compiler) like(e *sql.Like, sc *scope) expr {
	x := c.expr(e.X, sc)
	pat := c.expr(e.Pattern, sc)
	var esc expr
	if e.Escape != nil {
		esc = c.expr(e.Escape, sc)
	}
	l := &likeExpr{not: e.Not, x: x, pat: pat, esc: esc}
	pc, ok := pat.(*constExpr)
	ec, eok := esc.(*constExpr)
	if ok && (esc == nil || eok) {
		if pc.v.IsNull() || (eok && ec.v.IsNull()) {
			return &constExpr{t: tNull}
		}
		escText := ""
		if eok {
			escText = asString(ec.v)
		}
		m, err := compileLike(asString(pc.v), escText, esc != nil)
		if err != nil {
			c.fail(sql.Start(e.Pattern), "%v", err)
		}
		l.m = m
		return c.fold(e.Pos, l, x)
	}
	return l
}

func (c *compiler) caseExpr(e *sql.Case, sc *scope) expr {
	ce := &caseExpr{t: tAny}
	if e.Operand != nil {
		ce.operand = c.expr(e.Operand, sc)
	}
	rt := tNull
	for _, w := range e.Whens {
		cond := c.expr(w.Cond, sc)
		if ce.operand != nil {
			cond = c.coerce(ce.operand, cond, w.Cond)
		}
		res := c.expr(w.Result, sc)
		if rt == tNull {
			rt = res.typ()
		}
		ce.whens = append(ce.whens, whenExpr{cond: cond, result: res})
	}
	if e.Else != nil {
		ce.els = c.expr(e.Else, sc)
		if rt == tNull {
			rt = ce.els.typ()
		}
	}
	if rt != tNull {
		ce.t = rt
	}
	return ce
}
