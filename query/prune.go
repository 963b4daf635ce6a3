package query

import (
	"slices"
	"strings"
	"time"
)

// Prune says which events can match a plan's WHERE, for the storage layer
// to skip shards, key ranges and records. It is derived only from
// conditions AND-ed at the top of WHERE (anything under OR or NOT is
// ignored), so it is always safe: every event the query can match lies
// within it. A caller may use any part of it, or none.
type Prune struct {
	// None: the conditions contradict each other (or WHERE is constant
	// false); no event matches, and the scan can be skipped.
	None bool

	// Accounts lists the accounts an event must belong to; nil means any.
	// It comes only from recipientAccountId = '…' and recipientAccountId IN
	// (…): an event whose recipientAccountId equals a value is stored under
	// that account. (userIdentity.accountId is not used: storage keys an
	// event by recipientAccountId when it has one.)
	Accounts []string

	// From and To bound eventTime to [From, To); a zero time is unbounded.
	// They come from eventTime compared (=, <, <=, >, >=, BETWEEN, IN) with
	// constants, including now() - INTERVAL … (Now is fixed at Compile).
	From, To time.Time

	// Eq maps an indexed attribute to the values one of which it must equal
	// (eventTime and the account are above). Keys are spelled as in
	// IndexedAttributes; readOnly's values are "true" or "false". Several
	// conditions on one attribute intersect; an empty list means nothing
	// matches (and None is set).
	Eq map[string][]string
}

// IndexedAttributes are the attributes Prune.Eq reports equality conditions
// on. userIdentity.userName is that field only (not the derived username
// that LookupEvents matches).
var IndexedAttributes = []string{"eventID", "eventName", "eventSource", "awsRegion", "errorCode",
	"sourceIPAddress", "eventCategory", "userIdentity.userName", "userIdentity.accessKeyId", "readOnly"}

// Prune returns what the plan's WHERE says about the events it can match.
func (p *Plan) Prune() Prune {
	r := p.prune
	r.Accounts = slices.Clone(r.Accounts)
	if r.Eq != nil {
		eq := make(map[string][]string, len(r.Eq))
		for k, v := range r.Eq {
			eq[k] = slices.Clone(v)
		}
		r.Eq = eq
	}
	return r
}

func prune(where expr) Prune {
	var r Prune
	if where == nil {
		return r
	}
	var from, to int64 // Unix nanoseconds; to is exclusive
	hasFrom, hasTo := false, false
	narrowFrom := func(ns int64) {
		if !hasFrom || ns > from {
			from, hasFrom = ns, true
		}
	}
	narrowTo := func(ns int64) {
		if !hasTo || ns < to {
			to, hasTo = ns, true
		}
	}
	sets := map[string][]string{}
	restrict := func(attr string, vals []string) {
		slices.Sort(vals)
		vals = slices.Compact(vals)
		if old, ok := sets[attr]; ok {
			var both []string
			for _, v := range vals {
				if slices.Contains(old, v) {
					both = append(both, v)
				}
			}
			vals = both
		}
		if vals == nil {
			vals = []string{}
		}
		sets[attr] = vals
	}

	for _, cond := range conjuncts(where) {
		if k, ok := cond.(*constExpr); ok {
			if b, known := truth(k.v); !known || !b {
				r.None = true
			}
			continue
		}
		attr, consts, op := pruneShape(cond)
		if attr == "" {
			continue
		}
		if attr == "eventTime" {
			var ns []int64
			for _, k := range consts {
				if k.kind != KindTimestamp && k.kind != KindDate {
					ns = nil
					break
				}
				ns = append(ns, toNanos(k))
			}
			if len(ns) == 0 {
				continue
			}
			switch op {
			case "=", "in":
				narrowFrom(slices.Min(ns))
				narrowTo(slices.Max(ns) + 1)
			case "<":
				narrowTo(ns[0])
			case "<=":
				narrowTo(ns[0] + 1)
			case ">":
				narrowFrom(ns[0] + 1)
			case ">=":
				narrowFrom(ns[0])
			case "between":
				narrowFrom(ns[0])
				narrowTo(ns[1] + 1)
			}
			continue
		}
		if op != "=" && op != "in" {
			continue
		}
		var vals []string
		usable := true
		for _, k := range consts {
			switch {
			case k.kind == KindString:
				vals = append(vals, k.s)
			case k.kind == KindBool && attr == "readOnly":
				vals = append(vals, k.String())
			default:
				usable = false
			}
		}
		if usable && len(vals) > 0 {
			restrict(attr, vals)
		}
	}
	if hasFrom {
		r.From = time.Unix(0, from).UTC()
	}
	if hasTo {
		r.To = time.Unix(0, to).UTC()
	}
	if hasFrom && hasTo && from >= to {
		r.None = true
	}
	for attr, vals := range sets {
		if len(vals) == 0 {
			r.None = true
		}
		if attr == "recipientAccountId" {
			r.Accounts = vals
			continue
		}
		if r.Eq == nil {
			r.Eq = map[string][]string{}
		}
		r.Eq[attr] = vals
	}
	return r
}

// conjuncts flattens the top-level ANDs of e.
func conjuncts(e expr) []expr {
	if a, ok := e.(*andExpr); ok {
		return append(conjuncts(a.l), conjuncts(a.r)...)
	}
	return []expr{e}
}

// pruneShape recognises attr op constant(s): attr = k, k = attr, attr < k,
// attr IN (k, …), attr BETWEEN k AND k. op is "=", "<", "<=", ">", ">=",
// "in" or "between"; attr is "" for anything else.
func pruneShape(e expr) (attr string, consts []Value, op string) {
	switch e := e.(type) {
	case *cmpExpr:
		if e.op == "<>" {
			return "", nil, ""
		}
		if a := prunable(e.l); a != "" {
			if k, ok := e.r.(*constExpr); ok {
				return a, []Value{k.v}, e.op
			}
		}
		if a := prunable(e.r); a != "" {
			if k, ok := e.l.(*constExpr); ok {
				flip := map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
				return a, []Value{k.v}, flip[e.op]
			}
		}
	case *inExpr:
		a := prunable(e.x)
		if a == "" || e.not {
			return "", nil, ""
		}
		for _, l := range e.list {
			k, ok := l.(*constExpr)
			if !ok {
				return "", nil, ""
			}
			consts = append(consts, k.v)
		}
		return a, consts, "in"
	case *betweenExpr:
		a := prunable(e.x)
		lo, ok1 := e.lo.(*constExpr)
		hi, ok2 := e.hi.(*constExpr)
		if a == "" || e.not || !ok1 || !ok2 {
			return "", nil, ""
		}
		return a, []Value{lo.v, hi.v}, "between"
	}
	return "", nil, ""
}

// prunable names the attribute e reads when it is eventTime,
// recipientAccountId or one of IndexedAttributes, else "".
func prunable(e expr) string {
	col, ok := e.(*columnExpr)
	if !ok || col.col.special != plainCol {
		return ""
	}
	path := col.col.name
	for _, s := range col.steps {
		if s.kind != stepField {
			return ""
		}
		path += "." + s.name
	}
	if path == "eventTime" || path == "recipientAccountId" {
		return path
	}
	for _, a := range IndexedAttributes {
		if strings.EqualFold(a, path) {
			return a
		}
	}
	return ""
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
