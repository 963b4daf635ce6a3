package query

import (
	"strconv"
	"strings"

	"github.com/cairn-lake/cairn/query/sql"
)

// castExpr is CAST and TRY_CAST.
type castExpr struct {
	x    expr
	to   castType
	name string
	try  bool
}

func (e *castExpr) eval(c *ctx) Value {
	v := e.x.eval(c)
	r, ok := castValue(v, e.to)
	if !ok {
		if e.try {
			return nullValue
		}
		return c.fail("cannot cast %s to %s; use TRY_CAST to get NULL instead", quoteSQL(shortText(asString(v))), e.name)
	}
	return r
}
func (e *castExpr) typ() typ { return castResult[e.to] }

func (c *compiler) cast(e *sql.Cast, sc *scope) expr {
	x := c.expr(e.X, sc)
	ct, ok := lookupCastType(e.Type)
	if !ok {
		for _, p := range []string{"map", "array", "row"} {
			if strings.HasPrefix(e.Type, p) {
				c.fail(e.Pos, "unsupported: CAST to %s", e.Type)
			}
		}
		c.fail(e.Pos, "unknown type %s; use varchar, bigint, double, boolean, timestamp, date or json", e.Type)
	}
	return c.fold(e.Pos, &castExpr{x: x, to: ct, name: e.Type, try: e.Try}, x)
}

// aggregate compiles an aggregate call after aggregation: a slot holding its
// result. Equal calls share one aggregate.
func (c *compiler) aggregate(e *sql.Call, sc *scope) expr {
	name := strings.ToLower(e.Name)
	switch {
	case sc.inAgg:
		c.fail(e.Pos, "cannot nest aggregate functions (%s inside another aggregate)", name)
	case !sc.post:
		c.fail(e.Pos, "aggregate functions are not allowed in %s (%s)", sc.clause, e)
	}
	canon := sql.Canonical(e)
	fn := aggregates[name]
	p := c.plan
	if i, ok := c.aggCanon[canon]; ok {
		return &slotExpr{i: len(p.keys) + i, t: fn.ret(p.aggs[i].args)}
	}
	if e.Star && !fn.star {
		c.fail(e.Pos, "%s(*) is not allowed; only count(*)", name)
	}
	n := len(e.Args)
	if !e.Star && (n < fn.min || n > fn.max || (n == 0 && !fn.star)) {
		c.fail(e.Pos, "%s takes %s, not %d", name, arity(max(fn.min, 1), fn.max), n)
	}
	a := &aggCall{name: name, fn: fn, distinct: e.Distinct}
	inner := &scope{clause: "aggregate", inAgg: true}
	a.args = c.exprs(e.Args, inner)
	c.aggCanon[canon] = len(p.aggs)
	p.aggs = append(p.aggs, a)
	return &slotExpr{i: len(p.keys) + len(p.aggs) - 1, t: fn.ret(a.args)}
}

func arity(min, max int) string {
	switch {
	case max < 0:
		return strconv.Itoa(min) + " or more arguments"
	case min == max && min == 1:
		return "1 argument"
	case min == max:
		return strconv.Itoa(min) + " arguments"
	}
	return strconv.Itoa(min) + " to " + strconv.Itoa(max) + " arguments"
}

// call compiles a scalar function call.
func (c *compiler) call(e *sql.Call, sc *scope) expr {
	name := strings.ToLower(e.Name)
	fn := funcs[name]
	if fn == nil {
		switch name {
		case "current_time", "localtime":
			c.fail(e.Pos, "unsupported: %s (time without a date); use current_timestamp", strings.ToUpper(name))
		case "rank", "dense_rank", "row_number", "lag", "lead", "ntile", "first_value", "last_value", "nth_value", "percent_rank", "cume_dist":
			c.fail(e.Pos, "unsupported: window function %s", name)
		case "transform", "filter", "reduce", "any_match", "all_match", "none_match", "zip_with", "transform_keys", "transform_values", "map_filter":
			c.fail(e.Pos, "unsupported: lambda function %s", name)
		}
		msg := "unknown function " + strconv.Quote(name)
		if s := suggest(name, funcNames()); s != "" {
			msg += "; did you mean " + strconv.Quote(s) + "?"
		}
		c.fail(e.Pos, "%s", msg)
	}
	if e.Distinct {
		c.fail(e.Pos, "DISTINCT is only allowed in aggregate functions such as count(DISTINCT x)")
	}
	if e.Star {
		c.fail(e.Pos, "%s(*) is not allowed; only count(*)", name)
	}
	if n := len(e.Args); n < fn.min || (fn.max >= 0 && n > fn.max) {
		c.fail(e.Pos, "%s takes %s, not %d", name, arity(fn.min, fn.max), n)
	}
	now := c.opts.Now
	switch name {
	case "now", "current_timestamp", "localtimestamp":
		return &constExpr{v: TimeValue(now), t: tTimestamp}
	case "current_date":
		return &constExpr{v: dateValue(floorDiv(now.Unix(), 86400)), t: tDate}
	}
	args := c.exprs(e.Args, sc)
	switch name {
	case "coalesce":
		ce := &coalesceExpr{args: args, t: firstType(args)}
		return c.fold(e.Pos, ce, args...)
	case "if":
		ce := &caseExpr{whens: []whenExpr{{cond: args[0], result: args[1]}}, t: firstType(args[1:])}
		if len(args) == 3 {
			ce.els = args[2]
		}
		return c.fold(e.Pos, ce, args...)
	case "element_at":
		return c.elementAt(args[0], args[1], e.Pos)
	case "json_extract_scalar", "json_extract":
		if col, ok := args[0].(*columnExpr); ok && col.col.special == eventJSONCol && isConst(args[1]) {
			p := args[1].(*constExpr).v
			if p.IsNull() {
				return &constExpr{t: tNull}
			}
			steps, err := parseJSONPath(asString(p))
			if err != nil {
				c.fail(e.Pos, "invalid JSON path %s: %v", quoteSQL(asString(p)), err)
			}
			return &jsonPathExpr{steps: steps, scalar: name == "json_extract_scalar"}
		}
	}
	ce := &callExpr{name: name, fn: fn, args: args}
	ce.t = fn.ret(args)
	if fn.prepare != nil {
		if msg := fn.prepare(ce); msg != "" {
			c.fail(e.Pos, "%s", msg)
		}
	}
	return c.fold(e.Pos, ce, args...)
}
