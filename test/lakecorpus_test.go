package test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/query"
	"github.com/cairn-lake/cairn/test/lakecorpus"
)

// clockDependent matches queries whose result depends on when they run.
var clockDependent = regexp.MustCompile(`(?i)\bnow\s*\(|\bcurrent_(date|timestamp)\b`)

// TestLakeCorpusOnCluster runs the CloudTrail Lake queries of a collected
// corpus (see query/TestLakeCorpus) on a 3-node cluster loaded with
// generated events, through the Query RPC, and reports how many run. It is
// skipped unless CAIRN_SQL_CORPUS names the directory holding
// cloudtrail_queries_collected.sql. Every single-store SELECT must run, or
// fail as "unsupported: …", or be a known defect of the corpus (refused as
// invalid); a query that runs must give as many rows as the engine gives
// over the same records in one process (unless it reads the clock).
func TestLakeCorpusOnCluster(t *testing.T) {
	entries := lakecorpus.Load(t)
	c := NewCluster(t, 3)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -6)
	raws, _ := genRecords(t, 5000, 12, 31, start, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if res, err := Ingest(ctx, c.Addrs()["n1"], raws, 500, 8); err != nil || len(res.Acked) != len(raws) {
		t.Fatalf("ingest: %v", err)
	}
	qc := cairnv1.NewQueryServiceClient(c.Conn(1))
	var results []lakecorpus.Result
	for _, e := range entries {
		q := e.Query()
		rows, _, err := RunQuery(ctx, qc, q)
		res := lakecorpus.Result{Entry: e, Rows: len(rows)}
		st, _ := status.FromError(err)
		invalid := st.Code() == codes.InvalidArgument
		if bad := res.Judge(err, invalid && strings.Contains(st.Message(), "unsupported: "), invalid); bad != "" {
			t.Error(bad)
		}
		if err == nil && !clockDependent.MatchString(q) {
			// As many rows as the engine gives in one process.
			plan, err := query.Compile(q, query.Options{Now: time.Now()})
			if err != nil {
				t.Errorf("query %d (%s) runs on the cluster but does not compile here: %v", e.N, e.Title, err)
				continue
			}
			want, err := query.Execute(plan, raws)
			if err != nil || len(want) != len(rows) {
				t.Errorf("query %d (%s): %d rows on the cluster, %d (%v) in one process\n%s", e.N, e.Title, len(rows), len(want), err, q)
			}
		}
		results = append(results, res)
	}
	for _, line := range lakecorpus.Report(results) {
		t.Log(line)
	}
}
