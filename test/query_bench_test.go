package test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage/event"
)

// queryBenchEvents is how many events BenchmarkQueries loads: 1,000,000 from
// 200 accounts over 30 days. CAIRN_BENCH_QUERY_EVENTS overrides it.
func queryBenchEvents() int {
	if s := os.Getenv("CAIRN_BENCH_QUERY_EVENTS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		return n
	}
	return 1000000
}

// RunQuery runs one SQL query through the Query RPC and returns its rows
// (each value as JSON) and statistics, reading the whole stream.
func RunQuery(ctx context.Context, qc cairnv1.QueryServiceClient, sql string) ([][]string, *cairnv1.QueryStats, error) {
	stream, err := qc.Query(ctx, &cairnv1.QueryRequest{Sql: sql})
	if err != nil {
		return nil, nil, err
	}
	var rows [][]string
	var stats *cairnv1.QueryStats
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return rows, stats, nil
		}
		if err != nil {
			return nil, nil, err
		}
		for _, r := range resp.GetRows().GetRows() {
			row := make([]string, len(r.Values))
			for i, v := range r.Values {
				row[i] = string(v)
			}
			rows = append(rows, row)
		}
		if s := resp.GetStats(); s != nil {
			stats = s
		}
	}
}

// BenchmarkQueries loads a 3-node cluster and reports the median latency
// (15 runs after one warm-up), from a gRPC client with the whole result
// read, of six typical questions. The compactions the load left behind
// still run meanwhile and move the first questions' figures most:
//
//	Q1 one account, one region, one day, newest 50 (Lookup)
//	Q2 count by eventName for one account over 30 days (SQL)
//	Q3 count by eventName over all accounts (SQL)
//	Q4 AccessDenied events of one user across all accounts in 7 days, 100 (Lookup)
//	Q5 top 10 source IPs of failed ConsoleLogin (SQL)
//	Q6 one event by EventId (Lookup)
//
//	make bench BENCH_PKGS=./test/ BENCH=Queries
func BenchmarkQueries(b *testing.B) {
	n := queryBenchEvents()
	end := time.Now().UTC().Truncate(24 * time.Hour)
	start := end.AddDate(0, 0, -30)
	g := gen.New(gen.Config{Seed: 42, Accounts: 200, Start: start, Days: 30})
	events := make([][]byte, n)
	for i := range events {
		events[i] = g.Next(nil)
	}
	// Pick the subjects of Q1, Q4 and Q6 from the data.
	sample, err := event.Parse(events[n/2], time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var user string
	for _, raw := range events {
		if e, err := event.Parse(raw, time.Now()); err == nil && e.ErrorCode == "AccessDenied" && e.Username != "" {
			user = e.Username
			break
		}
	}
	day := time.Unix(0, sample.EventTimeUnixNano).UTC().Truncate(24 * time.Hour)

	c := NewCluster(b, 3, WithConfig(productionCache))
	b.Logf("loading %d events", n)
	benchIngest(b, c, events, 6).report(b, "load-")
	events = nil

	qc := cairnv1.NewQueryServiceClient(c.Conn(0))
	ctx := context.Background()
	lookup := func(req *cairnv1.LookupRequest) func() (int, error) {
		return func() (int, error) {
			resp, err := qc.Lookup(ctx, req)
			return len(resp.GetEvents()), err
		}
	}
	sql := func(q string) func() (int, error) {
		return func() (int, error) {
			rows, _, err := RunQuery(ctx, qc, q)
			return len(rows), err
		}
	}
	queries := []struct {
		name string
		run  func() (int, error)
	}{
		{"Q1", lookup(&cairnv1.LookupRequest{Accounts: []string{sample.Account}, Regions: []string{sample.Region},
			StartTimeUnixNano: day.UnixNano(), EndTimeUnixNano: day.Add(24 * time.Hour).UnixNano(), MaxResults: 50})},
		{"Q2", sql(fmt.Sprintf(`SELECT eventName, count(*) AS n FROM events WHERE recipientAccountId = '%s' AND eventTime >= '%s' GROUP BY eventName ORDER BY n DESC`,
			sample.Account, start.Format("2006-01-02 15:04:05")))},
		{"Q3", sql(`SELECT eventName, count(*) AS n FROM events GROUP BY eventName ORDER BY n DESC`)},
		{"Q4", lookup(&cairnv1.LookupRequest{StartTimeUnixNano: end.AddDate(0, 0, -7).UnixNano(), EndTimeUnixNano: end.UnixNano(), MaxResults: 100,
			Filters: []*cairnv1.LookupFilter{
				{Attribute: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE, Value: "AccessDenied"},
				{Attribute: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_USERNAME, Value: user}}})},
		{"Q5", sql(`SELECT sourceIPAddress, count(*) AS attempts FROM events WHERE eventName = 'ConsoleLogin' AND element_at(responseElements, 'ConsoleLogin') = 'Failure' GROUP BY sourceIPAddress ORDER BY attempts DESC LIMIT 10`)},
		{"Q6", lookup(&cairnv1.LookupRequest{Filters: []*cairnv1.LookupFilter{
			{Attribute: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID, Value: sample.EventId}}})},
	}
	b.ResetTimer()
	// A CPU profile of the queries, not of the load.
	defer profileCPU(b, "CAIRN_BENCH_QUERY_PROFILE")()
	only := os.Getenv("CAIRN_BENCH_QUERIES") // e.g. "Q3,Q5": run only those
	for _, q := range queries {
		if only != "" && !slices.Contains(strings.Split(only, ","), q.name) {
			continue
		}
		if _, err := q.run(); err != nil { // warm-up
			b.Fatalf("%s: %v", q.name, err)
		}
		var times []time.Duration
		var rows int
		for range 15 {
			t0 := time.Now()
			n, err := q.run()
			if err != nil {
				b.Fatalf("%s: %v", q.name, err)
			}
			times = append(times, time.Since(t0))
			rows = n
		}
		slices.Sort(times)
		median := times[len(times)/2]
		b.ReportMetric(float64(median.Microseconds())/1000, q.name+"-ms")
		b.Logf("%s: median %s over %d runs, %d rows", q.name, median.Round(100*time.Microsecond), len(times), rows)
	}
}
