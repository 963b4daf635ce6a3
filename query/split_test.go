package query

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// genQuery is a random query: text without LIMIT, the LIMIT (-1 for none),
// and whether its ORDER BY orders the rows completely.
type genQuery struct {
	text    string
	limit   int
	ordered bool
}

func (g genQuery) String() string {
	if g.limit < 0 {
		return g.text
	}
	return fmt.Sprintf("%s LIMIT %d", g.text, g.limit)
}

type queryGen struct {
	r     *rand.Rand
	names []string
}

func (g *queryGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *queryGen) predicate() string {
	t := fxDay0.Add(time.Duration(g.r.Int64N(7 * 24 * 3600e9))).Format("2006-01-02 15:04:05")
	switch g.r.IntN(11) {
	case 0:
		return fmt.Sprintf("eventName = '%s'", g.pick(g.names...))
	case 1:
		return fmt.Sprintf("eventName IN ('%s', '%s', '%s')", g.pick(g.names...), g.pick(g.names...), g.pick(g.names...))
	case 2:
		return g.pick("errorCode IS NULL", "errorCode IS NOT NULL", "errorCode = 'AccessDenied'", "errorCode <> 'AccessDenied'")
	case 3:
		return fmt.Sprintf("awsRegion %s '%s'", g.pick("=", "<>"), g.pick(fxRegions...))
	case 4:
		return g.pick("readOnly", "NOT readOnly", "readOnly = false", "readOnly IS NULL")
	case 5:
		return fmt.Sprintf("eventTime %s '%s'", g.pick(">=", "<", ">", "<="), t)
	case 6:
		t2 := fxDay0.Add(time.Duration(g.r.Int64N(7 * 24 * 3600e9))).Format("2006-01-02T15:04:05Z")
		return fmt.Sprintf("eventTime BETWEEN '%s' AND '%s'", min(t, t2), max(t, t2))
	case 7:
		return fmt.Sprintf("eventSource LIKE '%s%%'", g.pick("s3", "iam", "sts", "ec2", "signin", "cloud"))
	case 8:
		return fmt.Sprintf("recipientAccountId = '%s'", g.pick(acctProd, acctDev, acctSec))
	case 9:
		return fmt.Sprintf("userIdentity.type = '%s'", g.pick("IAMUser", "AssumedRole", "Root"))
	}
	return fmt.Sprintf("element_at(requestParameters, 'bucketName') = '%s'", g.pick(fxBuckets...))
}

func (g *queryGen) where() string {
	var parts []string
	for range g.r.IntN(4) {
		p := g.predicate()
		if len(parts) > 0 && g.r.IntN(3) == 0 {
			parts[len(parts)-1] = "(" + parts[len(parts)-1] + " OR " + p + ")"
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(parts, " AND ")
}

// subset returns n distinct elements of xs in random order.
func (g *queryGen) subset(n int, xs ...string) []string {
	xs = slices.Clone(xs)
	g.r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs[:n]
}

var (
	genColumns = []string{"eventID", "eventName", "awsRegion", "eventTime", "userIdentity.arn", "errorCode",
		"element_at(requestParameters, 'bucketName')", "recipientAccountId", "readOnly"}
	genKeys = []string{"eventName", "awsRegion", "errorCode", "userIdentity.type", "recipientAccountId",
		"date_trunc('day', eventTime)", "readOnly", "element_at(requestParameters, 'bucketName')"}
	genAggs = []string{"count(*)", "count(errorCode)", "count(DISTINCT userIdentity.arn)", "min(eventTime)",
		"max(eventName)", "sum(length(eventName))", "avg(length(userAgent))", "count_if(readOnly)",
		"approx_distinct(sourceIPAddress)", "sum(DISTINCT length(eventName))", "max(eventTime)", "min(userIdentity.arn)"}
)

func (g *queryGen) limit() int {
	if g.r.IntN(2) == 0 {
		return -1
	}
	return g.r.IntN(12)
}

func (g *queryGen) query() genQuery {
	dir := func() string { return g.pick("", " DESC", " ASC NULLS FIRST", " DESC NULLS LAST") }
	switch g.r.IntN(3) {
	case 0: // projection
		cols := g.subset(1+g.r.IntN(4), genColumns...)
		q := genQuery{text: "SELECT " + strings.Join(cols, ", ") + " FROM events" + g.where(), limit: g.limit()}
		if g.r.IntN(3) > 0 {
			keys := g.subset(g.r.IntN(3), "eventTime", "eventName", "errorCode", "awsRegion", "userIdentity.arn")
			for i := range keys {
				keys[i] += dir()
			}
			q.text += " ORDER BY " + strings.Join(append(keys, "eventID"+dir()), ", ")
			q.ordered = true
		}
		return q
	case 1: // aggregation
		keys := g.subset(g.r.IntN(3), genKeys...)
		aggs := g.subset(1+g.r.IntN(4), genAggs...)
		q := genQuery{text: "SELECT " + strings.Join(append(slices.Clone(keys), aggs...), ", ") + " FROM events" + g.where(), limit: g.limit()}
		if len(keys) > 0 {
			q.text += " GROUP BY " + strings.Join(keys, ", ")
			if g.r.IntN(3) == 0 {
				q.text += fmt.Sprintf(" HAVING count(*) > %d", g.r.IntN(5))
			}
		} else {
			q.ordered = true // one row
		}
		if len(keys) > 0 && g.r.IntN(3) > 0 {
			var order []string
			for i := range keys {
				order = append(order, fmt.Sprint(i+1)+dir())
			}
			g.r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			q.text += " ORDER BY " + strings.Join(order, ", ")
			q.ordered = true
		}
		return q
	}
	if g.r.IntN(4) == 0 { // UNION [ALL]
		cols := g.subset(1+g.r.IntN(3), genColumns...)
		kw := g.pick(" UNION ALL ", " UNION ")
		q := genQuery{text: "SELECT " + strings.Join(cols, ", ") + " FROM events" + g.where() + kw +
			"SELECT " + strings.Join(g.subset(len(cols), genColumns...), ", ") + " FROM events" + g.where(), limit: g.limit()}
		if g.r.IntN(2) == 0 {
			var order []string
			for i := range cols {
				order = append(order, fmt.Sprint(i+1)+dir())
			}
			q.text += " ORDER BY " + strings.Join(order, ", ")
			q.ordered = true // rows equal in every column are interchangeable
		}
		return q
	}
	cols := g.subset(1+g.r.IntN(3), genKeys...) // DISTINCT
	q := genQuery{text: "SELECT DISTINCT " + strings.Join(cols, ", ") + " FROM events" + g.where(), limit: g.limit()}
	if g.r.IntN(2) == 0 {
		var order []string
		for i := range cols {
			order = append(order, fmt.Sprint(i+1)+dir())
		}
		q.text += " ORDER BY " + strings.Join(order, ", ")
		q.ordered = true
	}
	return q
}

// runSplit runs p over raws split at random into 1 to 8 parts: a Partial
// per part (stopping at Done), merged in random order. When p does not need
// the record, the events with fields (fields[i] != nil; fields may be nil)
// are given by their fields, as a shard gives them.
func runSplit(t *testing.T, r *rand.Rand, p *Plan, raws [][]byte, fields []*Fields) ([]Row, int) {
	t.Helper()
	k := 1 + r.IntN(8)
	parts := make([][]int, k)
	for j := range raws {
		i := r.IntN(k)
		parts[i] = append(parts[i], j)
	}
	var encs [][]byte
	for _, part := range parts {
		pa := p.NewPartial()
		for _, j := range part {
			if pa.Done() {
				break
			}
			if fields != nil && fields[j] != nil && !p.NeedsRecord() {
				if err := pa.AddFields(fields[j]); err != nil {
					t.Fatalf("AddFields: %v", err)
				}
			} else if err := pa.Add(raws[j]); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
		if pa.acc.top != nil && int64(len(pa.acc.top.rows)) > p.limit {
			t.Fatalf("a top-N partial holds %d rows for LIMIT %d", len(pa.acc.top.rows), p.limit)
		}
		enc, err := pa.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		encs = append(encs, enc)
	}
	r.Shuffle(len(encs), func(i, j int) { encs[i], encs[j] = encs[j], encs[i] })
	m := p.NewMerger()
	for _, enc := range encs {
		if m.Done() {
			break
		}
		if err := m.Merge(enc); err != nil {
			t.Fatalf("Merge: %v", err)
		}
	}
	rows, err := m.Rows()
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	return rows, k
}

// TestSplitInvariance checks the contract the distributed layer relies on:
// merging the partials of any split of the records gives the rows one
// Partial over all of them gives.
func TestSplitInvariance(t *testing.T) {
	evs, raws := fixture()
	seen := map[string]bool{}
	var names []string
	for _, e := range evs {
		if !seen[e.name] {
			seen[e.name] = true
			names = append(names, e.name)
		}
	}
	n := 600
	if testing.Short() {
		n = 150
	}
	fields := make([]*Fields, len(raws))
	for i, raw := range raws {
		fields[i] = fieldsOf(t, raw)
	}
	r := rand.New(rand.NewPCG(7, 7))
	g := &queryGen{r: r, names: names}
	nonEmpty, onFields := 0, 0
	for i := 0; i < n; i++ {
		q := g.query()
		p := mustCompile(t, q.String())
		if !p.NeedsRecord() {
			onFields++
		}
		want, err := Execute(p, raws)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if len(want) > 0 {
			nonEmpty++
		}
		got, k := runSplit(t, r, p, raws, fields)
		w, gs := rowsJSON(want), rowsJSON(got)
		switch {
		case q.ordered:
			if !slices.Equal(w, gs) {
				t.Fatalf("%s\nsplit into %d parts:\n got %v\nwant %v", q, k, gs, w)
			}
		case q.limit < 0:
			slices.Sort(w)
			slices.Sort(gs)
			if !slices.Equal(w, gs) {
				t.Fatalf("%s\nsplit into %d parts (as multisets):\n got %v\nwant %v", q, k, gs, w)
			}
		default:
			// Any LIMIT rows of the whole result are right.
			all := rowsJSON(run(t, q.text))
			if len(gs) != min(q.limit, len(all)) {
				t.Fatalf("%s\nsplit into %d parts: %d rows, want %d", q, k, len(gs), min(q.limit, len(all)))
			}
			for _, row := range gs {
				i := slices.Index(all, row)
				if i < 0 {
					t.Fatalf("%s\nsplit into %d parts: row %s is not in the full result %v", q, k, row, all)
				}
				all = slices.Delete(all, i, i+1)
			}
		}
	}
	if nonEmpty < n/2 {
		t.Errorf("only %d of %d random queries returned rows; the generator is too selective", nonEmpty, n)
	}
	if onFields < n/10 {
		t.Errorf("only %d of %d random queries ran on event fields", onFields, n)
	}
}

func newRand(seed int) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 99)) }

// TestConcurrentPartials runs the Partials of one Plan in parallel, as the
// shards of a node do (run it with -race).
func TestConcurrentPartials(t *testing.T) {
	_, raws := fixture()
	p := mustCompile(t, `SELECT eventName, count(*), count(DISTINCT userIdentity.arn), max(eventTime) FROM events
		WHERE eventName LIKE concat(substr(eventName, 1, 1), '%') AND regexp_like(eventSource, '^[a-z]')
		GROUP BY 1 ORDER BY 1`)
	want, err := Execute(p, raws)
	if err != nil {
		t.Fatal(err)
	}
	const parts = 4
	encs := make([][]byte, parts)
	errs := make([]error, parts)
	done := make(chan int)
	for i := range parts {
		go func() {
			defer func() { done <- i }()
			pa := p.NewPartial()
			for j := i; j < len(raws); j += parts {
				if errs[i] = pa.Add(raws[j]); errs[i] != nil {
					return
				}
			}
			encs[i], errs[i] = pa.Encode()
		}()
	}
	for range parts {
		<-done
	}
	m := p.NewMerger()
	for i := range parts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if err := m.Merge(encs[i]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Rows()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rowsJSON(got), rowsJSON(want)) {
		t.Errorf("got %v\nwant %v", rowsJSON(got), rowsJSON(want))
	}
}
