package query

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/cairn-lake/cairn/query/sql"
)

// FuzzCompile compiles arbitrary text and runs what compiles over a few
// records, split in two: errors are fine, panics are not, and every error
// is of a documented kind.
func FuzzCompile(f *testing.F) {
	if data, err := os.ReadFile("testdata/lake_queries.sql"); err == nil {
		for _, chunk := range strings.Split(string(data), "-- name: ")[1:] {
			_, body, _ := strings.Cut(chunk, "\n")
			f.Add(strings.ReplaceAll(body, "$EDS_ID", "events"))
		}
	}
	g := &queryGen{r: rand.New(rand.NewPCG(1, 2)), names: []string{"ConsoleLogin", "GetObject"}}
	for range 30 {
		f.Add(g.query().String())
	}
	f.Add(`SELECT eventName, count(*) FROM events WHERE eventTime > now() - interval '7' day GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 5`)
	f.Add(`SELECT DISTINCT element_at(resources, 1).arn, resources[2].type FROM events ORDER BY 1 NULLS FIRST`)
	_, raws := fixture()
	raws = raws[:30]
	opts := testOptions()
	opts.MaxGroups, opts.MaxRows = 1000, 1000
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src, opts)
		if err != nil {
			var e *sql.Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) returned %T, not *sql.Error: %v", src, err, err)
			}
			return
		}
		p.Columns()
		p.Prune()
		if p.CountsOnly(countColumns...) {
			checkWeighed(t, p, raws[:15])
		}
		if _, err := Execute(p, raws); err != nil && !errors.Is(err, ErrEval) && !errors.Is(err, ErrLimit) {
			t.Fatalf("Execute(%q): %v", src, err)
		}
		for i := 0; i < 2; i++ {
			pa := p.NewPartial()
			for _, raw := range raws[i*15 : i*15+15] {
				if pa.Add(raw) != nil || pa.Done() {
					break
				}
			}
			enc, err := pa.Encode()
			if err != nil {
				return
			}
			m := p.NewMerger()
			if err := m.Merge(enc); err != nil {
				t.Fatalf("Merge of a fresh partial of %q: %v", src, err)
			}
			if _, err := m.Rows(); err != nil && !errors.Is(err, ErrEval) && !errors.Is(err, ErrLimit) {
				t.Fatalf("Rows(%q): %v", src, err)
			}
		}
	})
}

// checkWeighed checks that a CountsOnly plan gives the same result for
// events added three times each as for each added once with weight 3.
func checkWeighed(t *testing.T, p *Plan, raws [][]byte) {
	weighed, repeated := p.NewPartial(), p.NewPartial()
	for _, raw := range raws {
		f := fieldsOf(t, raw)
		if f == nil {
			continue
		}
		errW := weighed.AddFieldsN(f, 3)
		var errR error
		for range 3 {
			if err := repeated.AddFields(f); err != nil {
				errR = err
			}
		}
		if (errW == nil) != (errR == nil) {
			t.Fatalf("weighed add: %v, repeated: %v", errW, errR)
		}
	}
	a, errA := rowsText(p, weighed)
	b, errB := rowsText(p, repeated)
	if (errA == nil) != (errB == nil) || a != b {
		t.Fatalf("weighed: %q, %v; repeated: %q, %v", a, errA, b, errB)
	}
}
