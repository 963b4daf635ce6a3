package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/query"
)

// randomSQL builds a query over the generator's events: random filters,
// groupings, orders and limits. Every query orders its rows completely, so
// results compare row by row.
func randomSQL(r *rand.Rand, accounts []string, start time.Time) string {
	var where []string
	for range r.IntN(4) {
		switch r.IntN(7) {
		case 0:
			where = append(where, fmt.Sprintf("recipientAccountId = '%s'", accounts[r.IntN(len(accounts))]))
		case 1:
			where = append(where, fmt.Sprintf("eventName IN ('Decrypt', 'GetObject', 'AssumeRole', '%s')", []string{"PutObject", "ConsoleLogin", "CreateUser"}[r.IntN(3)]))
		case 2:
			where = append(where, "errorCode IS NOT NULL")
		case 3:
			where = append(where, fmt.Sprintf("eventTime > '%s'", start.Add(time.Duration(r.IntN(72))*time.Hour).Format("2006-01-02 15:04:05")))
		case 4:
			where = append(where, []string{"readOnly = true", "readOnly = false", "NOT readOnly"}[r.IntN(3)])
		case 5:
			where = append(where, fmt.Sprintf("awsRegion %s 'us-east-1'", []string{"=", "<>"}[r.IntN(2)]))
		case 6:
			where = append(where, "(eventSource LIKE 's3%' OR userIdentity.type = 'AssumedRole')")
		}
	}
	w := ""
	if len(where) > 0 {
		w = " WHERE " + strings.Join(where, " AND ")
	}
	limit := ""
	if r.IntN(2) == 0 {
		limit = fmt.Sprintf(" LIMIT %d", 1+r.IntN(30))
	}
	switch r.IntN(5) {
	case 0:
		keys := []string{"eventName", "awsRegion", "recipientAccountId", "userIdentity.type", "date_trunc('day', eventTime)", "errorCode", "sourceIPAddress", "readOnly"}
		key := keys[r.IntN(len(keys))]
		agg := []string{"count(*)", "count(DISTINCT sourceIPAddress)", "min(eventTime)", "max(eventTime)", "count(errorCode)"}[r.IntN(5)]
		return fmt.Sprintf("SELECT %s AS k, %s AS v FROM events%s GROUP BY 1 ORDER BY 2 DESC, 1 ASC%s", key, agg, w, limit)
	case 1:
		return fmt.Sprintf("SELECT count(*), count(DISTINCT eventName), min(eventTime), max(eventTime) FROM events%s", w)
	case 2:
		return fmt.Sprintf("SELECT eventID, eventTime, eventName FROM events%s ORDER BY eventTime DESC, eventID ASC%s", w, limit)
	case 3:
		return fmt.Sprintf("SELECT DISTINCT eventName, awsRegion FROM events%s ORDER BY 1, 2%s", w, limit)
	default:
		// Without eventTime, awsRegion or errorCode, shards answer from
		// their counts.
		return fmt.Sprintf("SELECT eventSource, eventName, count(*) AS n, count_if(readOnly) FROM events%s GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2%s", w, limit)
	}
}

// TestQueryMatchesSingleProcess: on a 3-node cluster, the scattered,
// pushed-down, merged result of hundreds of random queries equals the
// single-process evaluation over the raw records.
func TestQueryMatchesSingleProcess(t *testing.T) {
	c := NewCluster(t, 3)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	raws, evs := genRecords(t, 4000, 9, 21, start, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if res, err := Ingest(ctx, c.Addrs()["n1"], raws, 500, 8); err != nil || len(res.Acked) != len(raws) {
		t.Fatalf("ingest: %v", err)
	}
	var accounts []string
	for _, e := range evs {
		if !slices.Contains(accounts, e.Account) {
			accounts = append(accounts, e.Account)
		}
	}
	qc := cairnv1.NewQueryServiceClient(c.Conn(2))
	r := rand.New(rand.NewPCG(8, 9))
	queries := 200
	if testing.Short() {
		queries = 20 // the race detector's pass
	}
	for n := range queries {
		sql := randomSQL(r, accounts, start)
		now := time.Now()
		plan, err := query.Compile(sql, query.Options{Now: now})
		if err != nil {
			t.Fatalf("query %d %q: %v", n, sql, err)
		}
		wantRows, err := query.Execute(plan, raws)
		if err != nil {
			t.Fatalf("query %d %q: %v", n, sql, err)
		}
		got, stats, err := RunQuery(ctx, qc, sql)
		if err != nil {
			t.Fatalf("query %d %q: %v", n, sql, err)
		}
		want := make([][]string, len(wantRows))
		for i, row := range wantRows {
			want[i] = make([]string, len(row))
			for j, v := range row {
				want[i][j] = string(v.JSON())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("query %d %q:\n got %d rows %.400v\nwant %d rows %.400v", n, sql, len(got), got, len(want), want)
		}
		if stats == nil || stats.Partial {
			t.Fatalf("query %d %q: stats %v", n, sql, stats)
		}
	}
}

// TestQueryWithAShardDown: with one shard's only replica stopped, a query
// fails naming the shard; with allow_partial it answers from the other
// shards and lists the missing one.
func TestQueryWithAShardDown(t *testing.T) {
	c, lost := clusterWithLostShards(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	qc := cairnv1.NewQueryServiceClient(c.Conn(0))
	const sql = "SELECT count(*) FROM events"
	stream, err := qc.Query(ctx, &cairnv1.QueryRequest{Sql: sql, TimeoutMs: 2000})
	if err == nil {
		_, err = stream.Recv()
	}
	if err == nil || !strings.Contains(err.Error(), "cannot answer") {
		t.Fatalf("query with a shard down: %v; want a failure naming the shard", err)
	}
	stream, err = qc.Query(ctx, &cairnv1.QueryRequest{Sql: sql, TimeoutMs: 2000, AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	var count string
	var stats *cairnv1.QueryStats
	for {
		resp, err := stream.Recv()
		if err != nil {
			break
		}
		if rows := resp.GetRows(); rows != nil {
			count = string(rows.Rows[0].Values[0])
		}
		if s := resp.GetStats(); s != nil {
			stats = s
		}
	}
	var missing []uint32
	for _, m := range stats.GetMissingShards() {
		missing = append(missing, m.Shard)
	}
	slices.Sort(missing)
	if !stats.GetPartial() || !slices.Equal(missing, lost) || count == "" || count == "2000" || count == "0" {
		t.Fatalf("partial query: partial %v, missing %v (want %v), count %s", stats.GetPartial(), missing, lost, count)
	}
}
