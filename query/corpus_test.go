package query

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-lake/cairn/query/sql"
	"github.com/cairn-lake/cairn/test/lakecorpus"
)

// runCorpusQuery compiles and runs q; a panic is recovered and reported.
func runCorpusQuery(q string, raws [][]byte) (rows int, panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	p, err := Compile(q, testOptions())
	if err != nil {
		return 0, nil, err
	}
	out, err := Execute(p, raws)
	return len(out), nil, err
}

// TestLakeCorpus runs the CloudTrail Lake (Trino) queries of a collected
// corpus over the fixture. It is skipped unless CAIRN_SQL_CORPUS names the
// directory holding cloudtrail_queries_collected.sql. Every query must run,
// or fail with "unsupported: …", or be a known defect of the corpus; a
// panic or any other error fails the test. test/TestLakeCorpusOnCluster
// runs the same queries on a cluster.
func TestLakeCorpus(t *testing.T) {
	entries := lakecorpus.Load(t)
	_, raws := fixture()
	var results []lakecorpus.Result
	for _, e := range entries {
		q := e.Query()
		rows, panicked, err := runCorpusQuery(q, raws)
		res := lakecorpus.Result{Entry: e, Rows: rows}
		var se *sql.Error
		if panicked != nil {
			res.Class, res.Detail = "panic", fmt.Sprint(panicked)
			t.Errorf("query %d (%s) panicked: %v\n%s", e.N, e.Title, panicked, q)
		} else if bad := res.Judge(err, errors.Is(err, sql.ErrUnsupported), errors.As(err, &se)); bad != "" {
			t.Error(bad)
		}
		results = append(results, res)
	}
	for _, line := range lakecorpus.Report(results) {
		t.Log(line)
	}
}
