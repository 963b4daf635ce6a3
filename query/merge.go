package query

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// codecVersion is the first byte of an encoded partial result.
const codecVersion = 1

// appendTo appends the encoded partial result:
//
//	version      1 byte (codecVersion)
//	fingerprint  8 bytes little-endian (the plan's; see fingerprint)
//	kind         'r' (rows) or 'g' (groups)
//	seen         uvarint   \ Stats
//	matched      uvarint   /
//	rows:   width uvarint (output columns + ORDER BY keys), count uvarint,
//	        then count × width values
//	groups: keys uvarint, aggregates uvarint, count uvarint, then per group
//	        its key values and each aggregate's state
//
// Values are encoded by appendValue, states by their appendTo.
func (a *accumulator) appendTo(dst []byte, p *Plan, st Stats) []byte {
	dst = append(dst, codecVersion)
	dst = binary.LittleEndian.AppendUint64(dst, p.fp)
	if !p.agg {
		rows := a.rows
		if a.top != nil {
			rows = a.top.rows
		}
		dst = append(dst, 'r')
		dst = binary.AppendUvarint(dst, uint64(st.Seen))
		dst = binary.AppendUvarint(dst, uint64(st.Matched))
		dst = binary.AppendUvarint(dst, uint64(len(p.outputs)+len(p.order)))
		dst = binary.AppendUvarint(dst, uint64(len(rows)))
		for _, r := range rows {
			for _, v := range r {
				dst = appendValue(dst, v)
			}
		}
		return dst
	}
	dst = append(dst, 'g')
	dst = binary.AppendUvarint(dst, uint64(st.Seen))
	dst = binary.AppendUvarint(dst, uint64(st.Matched))
	dst = binary.AppendUvarint(dst, uint64(len(p.keys)))
	dst = binary.AppendUvarint(dst, uint64(len(p.aggs)))
	dst = binary.AppendUvarint(dst, uint64(len(a.groups)))
	for _, g := range a.groups {
		for _, v := range g.key {
			dst = appendValue(dst, v)
		}
		for _, s := range g.states {
			dst = s.appendTo(dst)
		}
	}
	return dst
}

// Merger combines the encoded partial results of a plan and finishes the
// query. Use it from one goroutine: Merge each partial, then call Rows once.
type Merger struct {
	plan  *Plan
	c     ctx
	stats Stats
	acc   accumulator
	done  bool
	err   error // sticky
}

// NewMerger returns an empty Merger of the plan.
func (p *Plan) NewMerger() *Merger {
	m := &Merger{plan: p}
	m.acc.init(p)
	m.done = p.limit == 0
	return m
}

// Merge adds one encoded partial result (from Partial.Encode of this plan,
// compiled with the same query text and Options.Now on any node). Errors
// wrap ErrCorrupt, ErrPlanMismatch, ErrLimit or ErrEval; after one, every
// call fails the same way.
func (m *Merger) Merge(enc []byte) error {
	if m.err != nil {
		return m.err
	}
	if err := m.merge(enc); err != nil {
		m.err = fmt.Errorf("cannot merge partial result: %w", err)
		return m.err
	}
	return nil
}

func (m *Merger) merge(src []byte) error {
	p := m.plan
	if len(src) < 10 {
		return corrupt("too short")
	}
	if src[0] != codecVersion {
		return fmt.Errorf("%w: codec version %d, want %d", ErrPlanMismatch, src[0], codecVersion)
	}
	if fp := binary.LittleEndian.Uint64(src[1:9]); fp != p.fp {
		return fmt.Errorf("%w: compile the same query with the same Options.Now on every node", ErrPlanMismatch)
	}
	kind := src[9]
	if (kind == 'g') != p.agg || (kind != 'g' && kind != 'r') {
		return corrupt(fmt.Sprintf("result kind %q does not fit the plan", kind))
	}
	src = src[10:]
	var seen, matched uint64
	var err error
	if src, err = parseUvarint(src, &seen, 1<<62); err != nil {
		return err
	}
	if src, err = parseUvarint(src, &matched, 1<<62); err != nil {
		return err
	}
	m.stats.Seen += int64(seen)
	m.stats.Matched += int64(matched)
	if kind == 'r' {
		return m.mergeRows(src)
	}
	return m.mergeGroups(src)
}

func (m *Merger) mergeRows(src []byte) error {
	p := m.plan
	var width, n uint64
	src, err := parseUvarint(src, &width, 1<<16)
	if err != nil {
		return err
	}
	if width != uint64(len(p.outputs)+len(p.order)) {
		return corrupt("row width does not fit the plan")
	}
	if src, err = parseUvarint(src, &n, uint64(len(src))); err != nil {
		return err
	}
	for range n {
		if m.done {
			return nil
		}
		row := make(Row, width)
		for i := range row {
			if src, err = parseValue(src, &row[i]); err != nil {
				return err
			}
		}
		if err := m.acc.addRow(row); err != nil {
			return err
		}
		m.done = m.acc.full()
	}
	if len(src) != 0 {
		return corrupt("trailing bytes")
	}
	return nil
}

func (m *Merger) mergeGroups(src []byte) error {
	p := m.plan
	var nkeys, naggs, n uint64
	src, err := parseUvarint(src, &nkeys, 1<<16)
	if err == nil {
		src, err = parseUvarint(src, &naggs, 1<<16)
	}
	if err == nil {
		src, err = parseUvarint(src, &n, uint64(len(src)))
	}
	if err != nil {
		return err
	}
	if nkeys != uint64(len(p.keys)) || naggs != uint64(len(p.aggs)) {
		return corrupt("group shape does not fit the plan")
	}
	if m.done {
		return nil
	}
	for range n {
		start := src
		key := make([]Value, nkeys)
		for i := range key {
			if src, err = parseValue(src, &key[i]); err != nil {
				return err
			}
		}
		g, err := m.acc.group(start[:len(start)-len(src)], func() []Value { return key })
		if err != nil {
			return err
		}
		for i, ag := range p.aggs {
			st := ag.newState(&m.acc.groupBudget)
			if src, err = st.parse(src); err != nil {
				return err
			}
			g.states[i].merge(&m.c, st)
			if m.c.err != nil {
				return m.c.err
			}
		}
		if m.acc.full() {
			m.done = true
			return nil
		}
	}
	if len(src) != 0 {
		return corrupt("trailing bytes")
	}
	return nil
}

// Done reports that more partials cannot change the result: a query without
// ORDER BY or aggregates has its LIMIT rows (or LIMIT distinct rows for
// SELECT DISTINCT), or the LIMIT is 0. The caller may cancel the shards
// still running.
func (m *Merger) Done() bool { return m.done }

// Stats returns the sums of the merged partials' Stats.
func (m *Merger) Stats() Stats { return m.stats }

// Rows finishes the query: aggregate results, HAVING, the output columns,
// DISTINCT, ORDER BY and LIMIT. Rows tied by ORDER BY (or all rows, without
// ORDER BY) come in no particular order.
func (m *Merger) Rows() ([]Row, error) {
	if m.err != nil {
		return nil, m.err
	}
	p := m.plan
	w := len(p.outputs)
	var rows []Row
	if p.agg {
		if p.global && len(m.acc.groups) == 0 {
			if _, err := m.acc.group(nil, func() []Value { return nil }); err != nil {
				return nil, err
			}
		}
		c := &m.c
		for _, g := range m.acc.groups {
			c.row = append(append(c.row[:0], g.key...), make([]Value, len(g.states))...)
			for i, s := range g.states {
				c.row[len(g.key)+i] = s.result()
			}
			if p.having != nil {
				if b, ok := truth(p.having.eval(c)); !ok || !b {
					continue
				}
			}
			row := make(Row, w+len(p.order))
			for i, e := range p.outputs {
				row[i] = e.eval(c)
			}
			c.out = row[:w]
			for j, k := range p.order {
				row[w+j] = k.e.eval(c)
			}
			c.out = nil
			rows = append(rows, row)
		}
		if c.err != nil {
			return nil, c.err
		}
	} else if m.acc.top != nil {
		rows = m.acc.top.rows
	} else {
		rows = m.acc.rows
	}
	if p.distinct {
		seen := map[string]bool{}
		kept := rows[:0]
		var buf []byte
		for _, r := range rows {
			buf = buf[:0]
			for _, v := range r[:w] {
				buf = appendValue(buf, v)
			}
			if !seen[string(buf)] {
				seen[string(buf)] = true
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if len(p.order) > 0 {
		slices.SortStableFunc(rows, p.cmpRows)
	}
	if p.limit >= 0 && int64(len(rows)) > p.limit {
		rows = rows[:p.limit]
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = r[:w:w]
	}
	return out, nil
}

// Execute runs the plan over raws in this process: one Partial over all of
// them, encoded and merged by one Merger. Records that are not JSON objects
// fail the query.
func Execute(p *Plan, raws [][]byte) ([]Row, error) {
	pa := p.NewPartial()
	for _, raw := range raws {
		if pa.Done() {
			break
		}
		if err := pa.Add(raw); err != nil {
			return nil, err
		}
	}
	enc, err := pa.Encode()
	if err != nil {
		return nil, err
	}
	m := p.NewMerger()
	if err := m.Merge(enc); err != nil {
		return nil, err
	}
	return m.Rows()
}
