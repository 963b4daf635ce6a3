package query

import (
	"encoding/binary"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-lake/cairn/query/sql"
)

// Options configure Compile.
type Options struct {
	// Now is the time now(), current_timestamp and current_date see, so that
	// a compiled plan is deterministic. Zero means the clock at Compile. All
	// the nodes running one query must compile it with the same Now: Merge
	// refuses a partial of a plan compiled with another (ErrPlanMismatch).
	Now time.Time

	// Tables are the names FROM may give (compared ignoring case); nil means
	// []string{"events"}.
	Tables []string

	// MaxGroups bounds the groups plus the distinct values (of DISTINCT
	// aggregates) one Partial or Merger holds; 0 means DefaultMaxGroups.
	MaxGroups int

	// MaxRows bounds the rows one Partial or Merger holds for a query
	// without aggregation; 0 means DefaultMaxRows.
	MaxRows int
}

func (o Options) withDefaults() Options {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	if o.Tables == nil {
		o.Tables = []string{"events"}
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	return o
}

// Plan is a compiled query.
type Plan struct {
	src   string
	opts  Options
	names []string
	where expr // nil: every record matches

	agg    bool       // aggregation: groups of keys with aggregate states
	global bool       // aggregation without GROUP BY: exactly one row
	keys   []expr     // group keys, evaluated on records
	aggs   []*aggCall // aggregates, their arguments evaluated on records
	having expr       // after aggregation; nil when absent

	outputs  []expr   // on records, or after aggregation
	branches []branch // without aggregation: where and outputs of each SELECT (several for a UNION)
	order    []orderKey
	distinct bool  // drop duplicate output rows in the Merger
	limit    int64 // -1: none
	// earlyDone: a grouping without aggregates, HAVING or ORDER BY (SELECT
	// DISTINCT …, say) may stop a Partial at LIMIT groups.
	earlyDone bool

	prune Prune
	fp    uint64
	// needsRecord: a column outside Fields is read (see NeedsRecord).
	needsRecord bool
	// fieldsRead: bit 1<<f for each Fields column f read.
	fieldsRead uint32
}

type orderKey struct {
	e          expr
	desc       bool
	nullsFirst bool
}

// Columns returns the names of the output columns: the alias when there is
// one; for a column or a field path the last name (a top-level column
// spelled as in the schema, e.g. eventID for eventid, a field as written);
// for a field of an expression its name; otherwise _colN, N being the
// column's position from 0 (Trino's naming). SELECT * gives every column
// of the schema but eventJson and eventJsonChecksum.
func (p *Plan) Columns() []string { return append([]string(nil), p.names...) }

// Compile parses and compiles src. Errors are *sql.Error values with the
// line and column of the problem.
func Compile(src string, opts Options) (plan *Plan, err error) {
	sel, err := sql.Parse(src)
	if err != nil {
		return nil, err
	}
	c := &compiler{src: src, sel: sel, opts: opts.withDefaults()}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*sql.Error)
			if !ok {
				panic(r)
			}
			plan, err = nil, e
		}
	}()
	return c.compile(), nil
}

// compiler holds the state of one Compile. Errors are raised by panicking
// with an *sql.Error, recovered in Compile.
type compiler struct {
	src  string
	sel  *sql.Select
	opts Options
	plan *Plan

	qual  map[string]bool // lower-case names that may qualify a column: the table's and its alias
	items []item          // the select list, * expanded

	groupCanon map[string]int // canonical text of a GROUP BY expression → key index
	aggCanon   map[string]int // canonical text of an aggregate call → index in plan.aggs
	inAlias    bool           // compiling the expression of an alias HAVING names
}

// item is one output column.
type item struct {
	ast   sql.Expr
	alias string
	pos   int
}

func (c *compiler) fail(pos int, format string, args ...any) {
	panic(sql.Errorf(c.src, pos, format, args...))
}

func (c *compiler) compile() *Plan {
	p := &Plan{src: c.src, opts: c.opts, limit: -1}
	c.plan = p
	sel := c.sel
	if len(sel.Union) > 0 {
		return c.union()
	}
	c.table()
	c.stripQualifiers()
	c.expandItems()

	hasAgg := false
	check := func(e sql.Expr) {
		if e != nil && containsAggregate(e) {
			hasAgg = true
		}
	}
	for _, it := range c.items {
		check(it.ast)
	}
	check(sel.Having)
	for _, o := range sel.OrderBy {
		check(o.Expr)
	}
	if sel.Having != nil && !hasAgg && len(sel.GroupBy) == 0 {
		c.fail(sql.Start(sel.Having), "HAVING needs GROUP BY or an aggregate function; use WHERE to filter records")
	}

	if sel.Where != nil {
		p.where = c.expr(sel.Where, &scope{clause: "WHERE"})
		c.checkBool(p.where, sel.Where, "WHERE")
	}

	pureDistinct := sel.Distinct && !hasAgg && len(sel.GroupBy) == 0
	p.agg = hasAgg || len(sel.GroupBy) > 0 || pureDistinct
	if p.agg {
		var groupASTs []sql.Expr
		if pureDistinct {
			for _, it := range c.items {
				groupASTs = append(groupASTs, it.ast)
			}
		} else {
			groupASTs = c.groupBy()
		}
		c.groupCanon = map[string]int{}
		c.aggCanon = map[string]int{}
		for _, g := range groupASTs {
			canon := sql.Canonical(g)
			if _, dup := c.groupCanon[canon]; dup {
				continue
			}
			k := c.expr(g, &scope{clause: "GROUP BY"})
			c.groupCanon[canon] = len(p.keys)
			p.keys = append(p.keys, k)
		}
		p.global = len(p.keys) == 0
		post := &scope{clause: "SELECT", post: true, distinct: pureDistinct}
		for _, it := range c.items {
			p.outputs = append(p.outputs, c.expr(it.ast, post))
		}
		if sel.Having != nil {
			p.having = c.expr(sel.Having, &scope{clause: "HAVING", post: true})
			c.checkBool(p.having, sel.Having, "HAVING")
		}
		p.distinct = sel.Distinct && !pureDistinct
	} else {
		for _, it := range c.items {
			p.outputs = append(p.outputs, c.expr(it.ast, &scope{clause: "SELECT"}))
		}
	}
	c.names()
	c.orderBy(pureDistinct)
	if sel.Limit != nil {
		p.limit = sel.Limit.N
	}
	p.earlyDone = p.agg && len(p.aggs) == 0 && p.having == nil && len(p.order) == 0 && !p.distinct
	if !p.agg {
		p.branches = []branch{{where: p.where, outputs: p.outputs}}
	}
	p.prune = prune(p.where)
	p.fp = fingerprint(sel, c.opts)
	return p
}

// table checks the FROM table against Options.Tables.
func (c *compiler) table() {
	from := c.sel.From
	if from == nil {
		c.fail(len(c.src), "a query must name its table: add FROM %s", c.opts.Tables[0])
	}
	name := strings.Join(from.Name, ".")
	for _, t := range c.opts.Tables {
		if strings.EqualFold(t, name) {
			c.qual = map[string]bool{strings.ToLower(from.Name[len(from.Name)-1]): true}
			if from.Alias != "" {
				c.qual[strings.ToLower(from.Alias)] = true
			}
			return
		}
	}
	c.fail(from.Pos, "unknown table %q; the tables are: %s", name, strings.Join(c.opts.Tables, ", "))
}

// stripQualifiers removes a leading table name or alias from column
// references (events.eventName, e.eventName) throughout the query, so that
// every later step sees plain columns.
func (c *compiler) stripQualifiers() {
	strip := func(e sql.Expr) bool {
		if id, ok := e.(*sql.Ident); ok && len(id.Parts) > 1 && c.qual[strings.ToLower(id.Parts[0])] && lookupColumn(id.Parts[0]) == nil {
			id.Parts, id.Quoted = id.Parts[1:], id.Quoted[1:]
		}
		return true
	}
	sel := c.sel
	for _, it := range sel.Items {
		sql.Walk(it.Expr, strip)
	}
	sql.Walk(sel.Where, strip)
	for _, g := range sel.GroupBy {
		sql.Walk(g, strip)
	}
	sql.Walk(sel.Having, strip)
	for _, o := range sel.OrderBy {
		sql.Walk(o.Expr, strip)
	}
}

// expandItems expands * into the schema's columns.
func (c *compiler) expandItems() {
	for _, it := range c.sel.Items {
		if !it.Star {
			c.items = append(c.items, item{ast: it.Expr, alias: it.Alias, pos: it.Pos})
			continue
		}
		if len(it.Qual) > 0 && !c.qual[strings.ToLower(it.Qual[len(it.Qual)-1])] {
			c.fail(it.Pos, "unknown table %q in %s.*", strings.Join(it.Qual, "."), strings.Join(it.Qual, "."))
		}
		for _, col := range columns {
			if !col.hidden {
				c.items = append(c.items, item{ast: &sql.Ident{Pos: it.Pos, Parts: []string{col.name}, Quoted: []bool{false}}, pos: it.Pos})
			}
		}
	}
}

// containsAggregate reports whether e calls an aggregate function.
func containsAggregate(e sql.Expr) bool {
	found := false
	sql.Walk(e, func(x sql.Expr) bool {
		if call, ok := x.(*sql.Call); ok && isAggregate(call.Name) && !call.NoParens {
			found = true
		}
		return !found
	})
	return found
}

// groupBy resolves the GROUP BY list: a position (1-based) or an output
// alias that is not a column name stands for that select item.
func (c *compiler) groupBy() []sql.Expr {
	var out []sql.Expr
	for _, g := range c.sel.GroupBy {
		if i, ok := c.position(g, "GROUP BY"); ok {
			if containsAggregate(c.items[i].ast) {
				c.fail(g.Position(), "GROUP BY position %d is an aggregate (%s)", i+1, c.items[i].ast)
			}
			out = append(out, c.items[i].ast)
			continue
		}
		if id, ok := g.(*sql.Ident); ok && len(id.Parts) == 1 && lookupColumn(id.Parts[0]) == nil {
			if i := c.aliasIndex(id.Parts[0]); i >= 0 {
				if containsAggregate(c.items[i].ast) {
					c.fail(g.Position(), "GROUP BY %s names an aggregate (%s)", id.Parts[0], c.items[i].ast)
				}
				out = append(out, c.items[i].ast)
				continue
			}
		}
		if containsAggregate(g) {
			c.fail(g.Position(), "aggregate functions are not allowed in GROUP BY")
		}
		out = append(out, g)
	}
	return out
}

// position returns the 0-based select item a numeric literal names, for
// GROUP BY and ORDER BY.
func (c *compiler) position(e sql.Expr, clause string) (int, bool) {
	n, ok := e.(*sql.NumberLit)
	if !ok || strings.ContainsAny(n.Text, ".eE") {
		return 0, false
	}
	i, err := strconv.ParseInt(n.Text, 10, 64)
	if err != nil || i < 1 || i > int64(len(c.items)) {
		c.fail(n.Pos, "%s position %s is not in the select list (1 to %d)", clause, n.Text, len(c.items))
	}
	return int(i - 1), true
}

// aliasIndex returns the select item with alias name (ignoring case), or -1.
func (c *compiler) aliasIndex(name string) int {
	for i, it := range c.items {
		if it.alias != "" && strings.EqualFold(it.alias, name) {
			return i
		}
	}
	return -1
}

// outputIndex returns the output column named name (ignoring case), or -1.
func (c *compiler) outputIndex(name string) int {
	for i, n := range c.plan.names {
		if strings.EqualFold(n, name) && !strings.HasPrefix(n, "_col") {
			return i
		}
	}
	return -1
}

func (c *compiler) names() {
	p := c.plan
	for i, it := range c.items {
		name := it.alias
		if name == "" {
			switch e := it.ast.(type) {
			case *sql.Ident:
				name = e.Parts[len(e.Parts)-1]
				if col := lookupColumn(name); len(e.Parts) == 1 && col != nil {
					name = col.name
				}
			case *sql.Deref:
				name = e.Field
			default:
				name = "_col" + strconv.Itoa(i)
			}
		}
		p.names = append(p.names, name)
	}
}

// orderBy compiles ORDER BY. A position or an output column's name stands
// for that output column; an expression equal to a select item reuses it;
// anything else is evaluated on the record (or the group), where a bare name
// may still be an output column.
func (c *compiler) orderBy(pureDistinct bool) {
	p := c.plan
	for _, o := range c.sel.OrderBy {
		k := orderKey{desc: o.Desc, nullsFirst: o.Nulls == sql.NullsFirst}
		i := -1
		if n, ok := c.position(o.Expr, "ORDER BY"); ok {
			i = n
		} else if id, ok := o.Expr.(*sql.Ident); ok && len(id.Parts) == 1 {
			i = c.outputIndex(id.Parts[0])
		}
		if i < 0 {
			canon := sql.Canonical(o.Expr)
			for j, it := range c.items {
				if sql.Canonical(it.ast) == canon {
					i = j
					break
				}
			}
		}
		if i >= 0 {
			k.e = &outExpr{i: i, t: p.outputs[i].typ()}
		} else {
			if c.sel.Distinct {
				c.fail(sql.Start(o.Expr), "for SELECT DISTINCT, ORDER BY expressions must appear in the select list")
			}
			k.e = c.expr(o.Expr, &scope{clause: "ORDER BY", post: p.agg, aliases: true, distinct: pureDistinct,
				outputsOnly: len(p.branches) > 1})
		}
		p.order = append(p.order, k)
	}
}

// checkBool fails unless e may be a boolean.
func (c *compiler) checkBool(e expr, ast sql.Expr, clause string) {
	switch e.typ() {
	case tBool, tAny, tNull:
		return
	}
	c.fail(sql.Start(ast), "%s must be a boolean condition, not %s (%s)", clause, e.typ(), ast)
}

// fingerprint identifies a plan: the query's canonical text and Now. Merge
// refuses partials whose fingerprint differs.
func fingerprint(sel *sql.Select, o Options) uint64 {
	h := fnv.New64a()
	h.Write([]byte(sel.String()))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(o.Now.UnixNano()))
	h.Write(b[:])
	return h.Sum64()
}
