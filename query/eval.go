package query

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/valyala/fastjson"
)

// ctx is what an expression is evaluated against: a record (before
// aggregation) or a group's keys and aggregate results (after it), and the
// output row for ORDER BY keys that name output columns. A ctx belongs to one
// Partial or Merger and is not safe for concurrent use.
type ctx struct {
	root   *fastjson.Value // the record; nil after aggregation
	raw    []byte          // the record's bytes
	fields *Fields         // the event's fields, instead of root and raw
	weight int64           // how many equal events fields stands for; 0 is 1
	row    []Value         // after aggregation: group keys, then aggregate results
	out    []Value         // output columns, once computed

	// scratch parses JSON text held in values (json_extract on a map
	// value, say). What it returns is valid only until its next use.
	scratch fastjson.Parser

	err error // the first evaluation error
}

// fail records err (the first one wins) and returns NULL.
func (c *ctx) fail(format string, args ...any) Value {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s", ErrEval, fmt.Sprintf(format, args...))
	}
	return nullValue
}

// failErr records err as it is (the first one wins).
func (c *ctx) failErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// parseJSON parses JSON text with the scratch parser; nil if it is not JSON.
func (c *ctx) parseJSON(s string) *fastjson.Value {
	v, err := c.scratch.Parse(s)
	if err != nil {
		return nil
	}
	return v
}

// expr is a compiled expression.
type expr interface {
	eval(c *ctx) Value
	typ() typ
}

type constExpr struct {
	v Value
	t typ
}

func (e *constExpr) eval(*ctx) Value { return e.v }
func (e *constExpr) typ() typ        { return e.t }

// columnExpr reads a column of the record, then follows steps into it.
type columnExpr struct {
	col   *column
	steps []step
	t     typ
}

func (e *columnExpr) eval(c *ctx) Value {
	if c.fields != nil && e.col.field != noField && len(e.steps) == 0 {
		return c.fields.value(e.col.field)
	}
	if c.root == nil {
		return c.fail("column %s read outside a record", e.col.name)
	}
	switch e.col.special {
	case eventJSONCol:
		return StringValue(string(c.raw))
	case eventJSONChecksumCol:
		sum := sha256.Sum256(c.raw)
		return StringValue(hex.EncodeToString(sum[:]))
	}
	v := getFold(c.root, e.col.name)
	if len(e.steps) == 0 {
		return columnValue(v, e.col.typ)
	}
	v = walk(v, e.steps)
	if e.steps[len(e.steps)-1].kind == stepKey {
		return mapValue(v)
	}
	return fromJSON(v)
}

func (e *columnExpr) typ() typ { return e.t }

// slotExpr reads a group key or aggregate result after aggregation.
type slotExpr struct {
	i int
	t typ
}

func (e *slotExpr) eval(c *ctx) Value { return c.row[e.i] }
func (e *slotExpr) typ() typ          { return e.t }

// outExpr reads an output column (ORDER BY by alias or position).
type outExpr struct {
	i int
	t typ
}

func (e *outExpr) eval(c *ctx) Value { return c.out[e.i] }
func (e *outExpr) typ() typ          { return e.t }

// navExpr follows steps into a JSON value computed at run time (a field of
// element_at(resources, 1), say).
type navExpr struct {
	x     expr
	steps []step
}

func (e *navExpr) eval(c *ctx) Value {
	v := e.x.eval(c)
	if v.kind != KindJSON && v.kind != KindString {
		return nullValue
	}
	j := walk(c.parseJSON(v.s), e.steps)
	if e.steps[len(e.steps)-1].kind == stepKey {
		return mapValue(j)
	}
	return fromJSON(j)
}

func (e *navExpr) typ() typ { return tAny }

type notExpr struct{ x expr }

func (e *notExpr) eval(c *ctx) Value {
	b, ok := truth(e.x.eval(c))
	if !ok {
		return nullValue
	}
	return BoolValue(!b)
}
func (e *notExpr) typ() typ { return tBool }

// andExpr and orExpr are three-valued and skip the right side when the left
// decides.
type andExpr struct{ l, r expr }

func (e *andExpr) eval(c *ctx) Value {
	l, lok := truth(e.l.eval(c))
	if lok && !l {
		return BoolValue(false)
	}
	r, rok := truth(e.r.eval(c))
	switch {
	case rok && !r:
		return BoolValue(false)
	case lok && rok:
		return BoolValue(true)
	}
	return nullValue
}
func (e *andExpr) typ() typ { return tBool }

type orExpr struct{ l, r expr }

func (e *orExpr) eval(c *ctx) Value {
	l, lok := truth(e.l.eval(c))
	if lok && l {
		return BoolValue(true)
	}
	r, rok := truth(e.r.eval(c))
	switch {
	case rok && r:
		return BoolValue(true)
	case lok && rok:
		return BoolValue(false)
	}
	return nullValue
}
func (e *orExpr) typ() typ { return tBool }

type cmpExpr struct {
	op   string // = <> < <= > >=
	l, r expr
}

func (e *cmpExpr) eval(c *ctx) Value {
	n, ok := compare(e.l.eval(c), e.r.eval(c))
	if !ok {
		return nullValue
	}
	return BoolValue(cmpHolds(e.op, n))
}
func (e *cmpExpr) typ() typ { return tBool }

func cmpHolds(op string, n int) bool {
	switch op {
	case "=":
		return n == 0
	case "<>":
		return n != 0
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	}
	return n >= 0
}

// distinctExpr is IS [NOT] DISTINCT FROM: NULL-safe, never NULL.
type distinctExpr struct {
	not  bool
	l, r expr
}

func (e *distinctExpr) eval(c *ctx) Value {
	l, r := e.l.eval(c), e.r.eval(c)
	var distinct bool
	switch {
	case l.IsNull() || r.IsNull():
		distinct = l.IsNull() != r.IsNull()
	default:
		n, ok := compare(l, r)
		distinct = !ok || n != 0
	}
	return BoolValue(distinct != e.not)
}
func (e *distinctExpr) typ() typ { return tBool }

type isNullExpr struct {
	not bool
	x   expr
}

func (e *isNullExpr) eval(c *ctx) Value { return BoolValue(e.x.eval(c).IsNull() != e.not) }
func (e *isNullExpr) typ() typ          { return tBool }

type inExpr struct {
	not  bool
	x    expr
	list []expr
}

func (e *inExpr) eval(c *ctx) Value {
	x := e.x.eval(c)
	if x.IsNull() {
		return nullValue
	}
	unknown := false
	for _, le := range e.list {
		n, ok := compare(x, le.eval(c))
		if !ok {
			unknown = true
			continue
		}
		if n == 0 {
			return BoolValue(!e.not)
		}
	}
	if unknown {
		return nullValue
	}
	return BoolValue(e.not)
}
func (e *inExpr) typ() typ { return tBool }

type betweenExpr struct {
	not       bool
	x, lo, hi expr
}

func (e *betweenExpr) eval(c *ctx) Value {
	x := e.x.eval(c)
	a, aok := compare(x, e.lo.eval(c))
	b, bok := compare(x, e.hi.eval(c))
	ge, le := a >= 0, b <= 0
	var v Value
	switch {
	case (aok && !ge) || (bok && !le):
		v = BoolValue(false)
	case aok && bok:
		v = BoolValue(true)
	default:
		return nullValue
	}
	if e.not {
		v = BoolValue(!v.Bool())
	}
	return v
}
func (e *betweenExpr) typ() typ { return tBool }

// likeExpr is LIKE. A constant pattern is compiled once (m); one computed
// per record is compiled per record, as the plan is shared by goroutines.
type likeExpr struct {
	not    bool
	x, pat expr
	esc    expr         // nil when absent
	m      *likeMatcher // when the pattern and escape are constant
}

func (e *likeExpr) eval(c *ctx) Value {
	x := e.x.eval(c)
	if x.IsNull() {
		return nullValue
	}
	m := e.m
	if m == nil {
		p := e.pat.eval(c)
		esc := nullValue
		if e.esc != nil {
			if esc = e.esc.eval(c); esc.IsNull() {
				return nullValue
			}
		}
		if p.IsNull() {
			return nullValue
		}
		var err error
		if m, err = compileLike(asString(p), asString(esc), e.esc != nil); err != nil {
			return c.fail("%v", err)
		}
	}
	s := x.s
	if x.kind != KindString && x.kind != KindJSON {
		s = x.String()
	}
	return BoolValue(m.match(s) != e.not)
}
func (e *likeExpr) typ() typ { return tBool }

type negExpr struct{ x expr }

func (e *negExpr) eval(c *ctx) Value {
	v := e.x.eval(c)
	switch v.kind {
	case KindNull:
		return v
	case KindInt:
		if v.n == math.MinInt64 {
			return c.fail("bigint overflow: -(%d)", v.n)
		}
		return IntValue(-v.n)
	case KindFloat:
		return FloatValue(-v.Float())
	case KindInterval:
		return intervalValue(-v.n)
	case KindMonths:
		return monthsValue(-v.n)
	}
	return c.fail("cannot negate %s", v.kind)
}
func (e *negExpr) typ() typ { return e.x.typ() }

type concatExpr struct{ l, r expr }

func (e *concatExpr) eval(c *ctx) Value {
	l, r := e.l.eval(c), e.r.eval(c)
	if l.IsNull() || r.IsNull() {
		return nullValue
	}
	return StringValue(textOf(l) + textOf(r))
}
func (e *concatExpr) typ() typ { return tString }

// textOf is a value as varchar: a string's text, else what CAST to varchar
// gives.
func textOf(v Value) string {
	if v.kind == KindString {
		return v.s
	}
	s, _ := castToString(v)
	return s.s
}

type whenExpr struct{ cond, result expr }

// caseExpr is CASE in both forms; with an operand, a WHEN matches when it
// equals the operand.
type caseExpr struct {
	operand expr // nil for the searched form
	whens   []whenExpr
	els     expr // nil: NULL
	t       typ
}

func (e *caseExpr) eval(c *ctx) Value {
	var op Value
	if e.operand != nil {
		op = e.operand.eval(c)
	}
	for _, w := range e.whens {
		cv := w.cond.eval(c)
		var hit bool
		if e.operand != nil {
			n, ok := compare(op, cv)
			hit = ok && n == 0
		} else {
			b, ok := truth(cv)
			hit = ok && b
		}
		if hit {
			return w.result.eval(c)
		}
	}
	if e.els != nil {
		return e.els.eval(c)
	}
	return nullValue
}
func (e *caseExpr) typ() typ { return e.t }

type coalesceExpr struct {
	args []expr
	t    typ
}

func (e *coalesceExpr) eval(c *ctx) Value {
	for _, a := range e.args {
		if v := a.eval(c); !v.IsNull() {
			return v
		}
	}
	return nullValue
}
func (e *coalesceExpr) typ() typ { return e.t }

// arrayExpr is ARRAY[…]: a JSON array of its elements.
type arrayExpr struct{ elems []expr }

func (e *arrayExpr) eval(c *ctx) Value {
	b := []byte{'['}
	for i, x := range e.elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = x.eval(c).appendJSON(b)
	}
	return JSONValue(string(append(b, ']')))
}
func (e *arrayExpr) typ() typ { return tArray }

// asString is v's text for string functions: a varchar's text, JSON's text,
// or the varchar CAST of anything else.
func asString(v Value) string {
	switch v.kind {
	case KindString, KindJSON:
		return v.s
	}
	return textOf(v)
}
