package query

import (
	"container/heap"
	"fmt"
	"slices"

	"github.com/valyala/fastjson"
)

// Stats count a Partial's input (the caller adds the bytes it read).
type Stats struct {
	Seen    int64 // records given to Add
	Matched int64 // records that passed WHERE
}

// Partial runs a plan over one part of the records (one shard's). Use it
// from one goroutine; call Add for each record, then Encode once.
type Partial struct {
	plan   *Plan
	parser fastjson.Parser
	c      ctx
	stats  Stats
	done   bool
	err    error // sticky: an evaluation error or a limit

	acc accumulator
}

// NewPartial returns an empty Partial of the plan.
func (p *Plan) NewPartial() *Partial {
	pa := &Partial{plan: p}
	pa.acc.init(p)
	pa.done = p.limit == 0
	return pa
}

// Add consumes one raw CloudTrail record (one JSON object). It returns an
// error wrapping ErrBadEvent for bytes that are not a JSON object (the
// Partial stays usable), and one wrapping ErrEval or ErrLimit when the query
// fails (every later call returns it again). After Done, records are
// counted and ignored. raw is not retained.
func (pa *Partial) Add(raw []byte) error {
	if pa.err != nil {
		return pa.err
	}
	pa.stats.Seen++
	if pa.done {
		return nil
	}
	v, err := pa.parser.ParseBytes(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("%w: a JSON %s, not an object", ErrBadEvent, v.Type())
	}
	c := &pa.c
	c.root, c.raw = v, raw
	defer func() { c.root, c.raw = nil, nil }()
	return pa.addCurrent()
}

// addCurrent runs the plan on the event the context holds.
func (pa *Partial) addCurrent() error {
	c := &pa.c
	p := pa.plan
	if p.agg {
		if !pa.match(p.where) {
			return pa.err
		}
		pa.stats.Matched += max(c.weight, 1)
		if err := pa.acc.addGroup(c); err != nil {
			pa.err = err
			return err
		}
		pa.done = pa.acc.full()
		return nil
	}
	matched := false
	for _, br := range p.branches {
		if !pa.match(br.where) {
			if pa.err != nil {
				return pa.err
			}
			continue
		}
		matched = true
		if err := pa.acc.addProjected(c, br.outputs); err != nil {
			pa.err = err
			return err
		}
		if pa.done = pa.acc.full(); pa.done {
			break
		}
	}
	if matched {
		pa.stats.Matched += max(c.weight, 1)
	}
	return nil
}

// match evaluates a WHERE on the current record; an error is kept in pa.err.
func (pa *Partial) match(where expr) bool {
	if where == nil {
		return true
	}
	c := &pa.c
	b, ok := truth(where.eval(c))
	if c.err != nil {
		pa.err = c.err
		return false
	}
	return ok && b
}

// Done reports that the Partial needs no more records: it has LIMIT rows of
// a query without ORDER BY or aggregates (or LIMIT distinct rows of a
// SELECT DISTINCT without ORDER BY), or the LIMIT is 0.
func (pa *Partial) Done() bool { return pa.done }

// Stats returns the counts so far.
func (pa *Partial) Stats() Stats { return pa.stats }

// Encode serialises the partial result (see accumulator.appendTo for the
// format, and the package documentation).
func (pa *Partial) Encode() ([]byte, error) {
	if pa.err != nil {
		return nil, pa.err
	}
	return pa.acc.appendTo(nil, pa.plan, pa.stats), nil
}

// accumulator holds what a Partial or a Merger has gathered: rows (with
// their ORDER BY keys after the output columns) for a query without
// aggregation, else groups.
type accumulator struct {
	plan *Plan

	rows []Row
	top  *rowHeap // ORDER BY with LIMIT: the best LIMIT rows, worst on top

	groups  []*group
	index   map[string]int // encoded key → index in groups
	keyBuf  []byte
	keyVals []Value
	args    []Value

	groupBudget, rowBudget budget
}

// group is one group's key values and aggregate states.
type group struct {
	key    []Value
	states []aggState
}

func (a *accumulator) init(p *Plan) {
	a.plan = p
	a.groupBudget, a.rowBudget = newBudgets(p.opts)
	if p.agg {
		a.index = map[string]int{}
	} else if p.limit >= 0 && len(p.order) > 0 && !p.distinct {
		a.top = &rowHeap{plan: p, max: p.limit}
	}
}

// addProjected keeps the row that outputs give for the current record of c
// (which passed their SELECT's WHERE), with its ORDER BY keys.
func (a *accumulator) addProjected(c *ctx, outputs []expr) error {
	p := a.plan
	w := len(outputs)
	row := make(Row, w+len(p.order))
	for i, e := range outputs {
		row[i] = e.eval(c)
	}
	c.out = row[:w]
	for j, k := range p.order {
		row[w+j] = k.e.eval(c)
	}
	c.out = nil
	if c.err != nil {
		return c.err
	}
	return a.addRow(row)
}

// addGroup adds the current record of c (which passed WHERE) to its group.
func (a *accumulator) addGroup(c *ctx) error {
	p := a.plan
	a.keyBuf, a.keyVals = a.keyBuf[:0], a.keyVals[:0]
	for _, k := range p.keys {
		v := k.eval(c)
		a.keyVals = append(a.keyVals, v)
		a.keyBuf = appendValue(a.keyBuf, v)
	}
	if c.err != nil {
		return c.err
	}
	g, err := a.group(a.keyBuf, func() []Value { return slices.Clone(a.keyVals) })
	if err != nil {
		return err
	}
	for i, ag := range p.aggs {
		a.args = a.args[:0]
		for _, e := range ag.args {
			a.args = append(a.args, e.eval(c))
		}
		g.states[i].add(c, a.args)
	}
	return c.err
}

// group finds or creates the group with encoded key k; key decodes it.
func (a *accumulator) group(k []byte, key func() []Value) (*group, error) {
	if i, ok := a.index[string(k)]; ok {
		return a.groups[i], nil
	}
	if err := a.groupBudget.take(1); err != nil {
		return nil, err
	}
	g := &group{key: key(), states: make([]aggState, len(a.plan.aggs))}
	for i, ag := range a.plan.aggs {
		g.states[i] = ag.newState(&a.groupBudget)
	}
	a.index[string(k)] = len(a.groups)
	a.groups = append(a.groups, g)
	return g, nil
}

// addRow keeps a row of a query without aggregation.
func (a *accumulator) addRow(row Row) error {
	if a.top != nil {
		if int64(len(a.top.rows)) < a.top.max {
			if err := a.rowBudget.take(1); err != nil {
				return err
			}
		}
		a.top.offer(row)
		return nil
	}
	if err := a.rowBudget.take(1); err != nil {
		return err
	}
	a.rows = append(a.rows, row)
	return nil
}

// full reports that more input cannot change the result: LIMIT rows without
// ORDER BY, or LIMIT groups of a grouping without aggregates.
func (a *accumulator) full() bool {
	p := a.plan
	if p.limit < 0 {
		return false
	}
	switch {
	case !p.agg && a.top == nil && !p.distinct:
		return int64(len(a.rows)) >= p.limit
	case p.earlyDone:
		return int64(len(a.groups)) >= p.limit
	}
	return false
}

// rowHeap keeps the best max rows by the plan's ORDER BY. It is a max-heap:
// the row that sorts last is on top, to be replaced by a better one.
type rowHeap struct {
	plan *Plan
	max  int64
	rows []Row
}

func (h *rowHeap) Len() int           { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool { return h.plan.cmpRows(h.rows[i], h.rows[j]) > 0 }
func (h *rowHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)         { h.rows = append(h.rows, x.(Row)) }
func (h *rowHeap) Pop() any {
	r := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return r
}

// offer adds row if it is among the best max rows seen. Of rows tied with
// the worst kept one, the first offered stays.
func (h *rowHeap) offer(row Row) {
	if int64(len(h.rows)) < h.max {
		heap.Push(h, row)
		return
	}
	if h.max > 0 && h.plan.cmpRows(row, h.rows[0]) < 0 {
		h.rows[0] = row
		heap.Fix(h, 0)
	}
}

// cmpRows compares two rows by their ORDER BY keys (stored after the
// output columns). NULLs sort last unless NULLS FIRST, in either direction
// (as in Trino).
func (p *Plan) cmpRows(a, b Row) int {
	w := len(p.outputs)
	for j, k := range p.order {
		x, y := a[w+j], b[w+j]
		var c int
		switch {
		case x.IsNull() && y.IsNull():
		case x.IsNull() || y.IsNull():
			c = 1
			if x.IsNull() == k.nullsFirst {
				c = -1
			}
		default:
			c = order(x, y)
			if k.desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
