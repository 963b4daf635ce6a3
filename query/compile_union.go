package query

import (
	"slices"

	"github.com/cairn-lake/cairn/query/sql"
)

// branch is one SELECT of a query without aggregation: its filter and
// output columns. A UNION has several; every other query one.
type branch struct {
	where   expr // nil: every record
	outputs []expr
}

// union compiles SELECT … UNION [ALL] SELECT …: every SELECT reads the same
// table, none aggregates, and all have as many columns as the first, which
// names them. Each record is offered to every SELECT and gives one row per
// SELECT whose WHERE it passes. UNION (without ALL) drops duplicate rows in
// the Merger. ORDER BY and LIMIT apply to the union and may use only its
// output columns.
func (c *compiler) union() *Plan {
	p, sel := c.plan, c.sel
	all, distinct := false, false
	for _, u := range sel.Union {
		if u.All {
			all = true
		} else {
			distinct = true
		}
	}
	if all && distinct {
		c.fail(sel.Union[0].Pos, "unsupported: UNION mixed with UNION ALL")
	}
	selects := []*sql.Select{sel}
	for _, u := range sel.Union {
		selects = append(selects, u.Select)
	}
	for i, s := range selects {
		bc := &compiler{src: c.src, sel: s, opts: c.opts, plan: &Plan{}}
		bc.table()
		bc.stripQualifiers()
		bc.expandItems()
		agg := s.Distinct || len(s.GroupBy) > 0 || s.Having != nil
		for _, it := range bc.items {
			agg = agg || containsAggregate(it.ast)
		}
		if agg {
			c.fail(s.Pos, "unsupported: aggregation or DISTINCT in a SELECT of a UNION")
		}
		var br branch
		if s.Where != nil {
			br.where = bc.expr(s.Where, &scope{clause: "WHERE"})
			bc.checkBool(br.where, s.Where, "WHERE")
		}
		for _, it := range bc.items {
			br.outputs = append(br.outputs, bc.expr(it.ast, &scope{clause: "SELECT"}))
		}
		if i == 0 {
			c.items, c.qual = bc.items, bc.qual
			p.where, p.outputs = br.where, br.outputs
		} else if len(br.outputs) != len(p.outputs) {
			c.fail(s.Pos, "each SELECT of a UNION must have %d columns, like the first; this one has %d", len(p.outputs), len(br.outputs))
		}
		p.branches = append(p.branches, br)
		p.needsRecord = p.needsRecord || bc.plan.needsRecord
		p.fieldsRead |= bc.plan.fieldsRead
	}
	p.distinct = distinct
	c.names()
	c.orderBy(false)
	if sel.Limit != nil {
		p.limit = sel.Limit.N
	}
	prunes := make([]Prune, len(p.branches))
	for i, br := range p.branches {
		prunes[i] = prune(br.where)
	}
	p.prune = eitherPrune(prunes)
	p.fp = fingerprint(sel, c.opts)
	return p
}

// eitherPrune is what is known of an event that one of several branches
// matches: the weakest of their Prunes.
func eitherPrune(ps []Prune) Prune {
	r := ps[0]
	for _, b := range ps[1:] {
		switch {
		case r.None:
			r = b
			continue
		case b.None:
			continue
		}
		var e Prune
		if !r.From.IsZero() && !b.From.IsZero() {
			e.From = minTime(r.From, b.From)
		}
		if !r.To.IsZero() && !b.To.IsZero() {
			e.To = maxTime(r.To, b.To)
		}
		if r.Accounts != nil && b.Accounts != nil {
			e.Accounts = union(r.Accounts, b.Accounts)
		}
		for k, v := range r.Eq {
			if w, ok := b.Eq[k]; ok {
				if e.Eq == nil {
					e.Eq = map[string][]string{}
				}
				e.Eq[k] = union(v, w)
			}
		}
		r = e
	}
	return r
}

func union(a, b []string) []string {
	u := append(slices.Clone(a), b...)
	slices.Sort(u)
	return slices.Compact(u)
}
