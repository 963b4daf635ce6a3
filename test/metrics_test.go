package test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// TestNodeMetrics: /metrics reports Raft state per group, log append
// latency, Pebble health, ingest counters and query latencies, with values
// that follow what the node did.
func TestNodeMetrics(t *testing.T) {
	c := NewCluster(t, 1, WithConfig(func(cfg *node.Config) { cfg.HTTPAddr = "127.0.0.1:0" }))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := makeEvents(t, 1500, 12, 5)
	if res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events, 250, 2); err != nil || res.Stored != len(events) {
		t.Fatalf("ingest: %v", err)
	}
	qc := cairnv1.NewQueryServiceClient(c.Conn(0))
	if _, _, err := RunQuery(ctx, qc, "SELECT count(*) FROM events"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RunQuery(ctx, qc, "SELECT nosuchcolumn FROM events"); err == nil {
		t.Fatal("a bad query succeeded")
	}
	if _, err := qc.Lookup(ctx, &cairnv1.LookupRequest{MaxResults: 5}); err != nil {
		t.Fatal(err)
	}

	text := metricsText(t, c.Node(0).HTTPAddr())
	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("/metrics has no %s", series)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sum := func(prefix string) float64 {
		var total float64
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, prefix) {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				total += v
			}
		}
		return total
	}
	if v := value(`cairn_raft_leader{group="meta"}`); v != 1 {
		t.Errorf("the only node does not lead meta: %v", v)
	}
	if v := value(`cairn_ingest_events_total{status="stored"}`); v != float64(len(events)) {
		t.Errorf("stored counter %v, want %d", v, len(events))
	}
	if v := sum("cairn_shard_events{"); v != float64(len(events)) {
		t.Errorf("shard event gauges sum to %v, want %d", v, len(events))
	}
	if v := sum("cairn_raft_log_append_seconds_count{"); v < 8 {
		t.Errorf("%v log appends timed, want one per shard at least", v)
	}
	for _, series := range []string{`cairn_query_seconds_count{kind="sql",outcome="ok"}`, `cairn_query_seconds_count{kind="sql",outcome="error"}`,
		`cairn_query_seconds_count{kind="lookup",outcome="ok"}`} {
		if v := value(series); v != 1 {
			t.Errorf("%s = %v, want 1", series, v)
		}
	}
	for _, name := range []string{"cairn_raft_term{", "cairn_raft_commit_index{", "cairn_raft_applied_index{", "cairn_pebble_l0_files{",
		"cairn_pebble_compaction_debt_bytes{", "cairn_pebble_write_stalls_total{", "cairn_shard_commit_seconds_bucket{", "cairn_retention_deleted_events_total"} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("/metrics has no %s…", name)
		}
	}
}

// TestEntriesCompressed: once every node of a 3-node cluster has registered
// that it applies compressed entries whose events carry record values,
// shard leaders write every ingest entry so, and every replica applies them:
// the replicas converge on the same digests with every event stored.
// (TestLookupPagesMatchFiltering reads the records back.)
func TestEntriesCompressed(t *testing.T) {
	c := NewCluster(t, 3, WithConfig(func(cfg *node.Config) { cfg.HTTPAddr = "127.0.0.1:0" }))
	waitFor(t, 15*time.Second, "every node registers its features", func() bool {
		st := c.Node(0).MetaState()
		for _, n := range st.Nodes {
			if !slices.Contains(n.Features, "entry-minlz") {
				return false
			}
		}
		return len(st.Nodes) == 3
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := makeEvents(t, 3000, 12, 7)
	if res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events, 250, 4); err != nil || res.Stored != len(events) {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	var stored uint64
	for _, replicas := range c.Converged(time.Minute) {
		stored += replicas[0].Events
	}
	if stored != uint64(len(events)) {
		t.Errorf("shards hold %d events, want %d", stored, len(events))
	}
	if got := entriesByCompression(t, c); got["minlz"] == 0 || got["none"] != 0 {
		t.Errorf("ingest entries by compression: %v; want all minlz", got)
	}
	if got := sumMetric(t, c, "cairn_shard_entry_events_total", "record"); got["value"] != float64(len(events)) || got["raw"] != 0 {
		t.Errorf("ingest entry events by record: %v; want all %d value", got, len(events))
	}
}

// TestEntriesUncompressedOnOneNode: a shard whose only replica is its leader
// sends its entries nowhere, so its leader does not compress them, though the
// node registered that it could apply compressed entries.
func TestEntriesUncompressedOnOneNode(t *testing.T) {
	c := NewCluster(t, 1, WithReplicas(1), WithConfig(func(cfg *node.Config) { cfg.HTTPAddr = "127.0.0.1:0" }))
	waitFor(t, 15*time.Second, "the node registers its features", func() bool {
		st := c.Node(0).MetaState()
		return len(st.Nodes) == 1 && slices.Contains(st.Nodes[0].Features, "entry-minlz")
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := makeEvents(t, 2000, 12, 8)
	if res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events, 250, 4); err != nil || res.Stored != len(events) {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	if got := entriesByCompression(t, c); got["none"] == 0 || got["minlz"] != 0 {
		t.Errorf("ingest entries by compression: %v; want all none", got)
	}
}

// entriesByCompression sums cairn_shard_entries_total over the nodes of c,
// by compression.
func entriesByCompression(t *testing.T, c *Cluster) map[string]float64 {
	t.Helper()
	return sumMetric(t, c, "cairn_shard_entries_total", "compression")
}

// sumMetric sums the counter name, which has the one label label, over the
// nodes of c, by label value.
func sumMetric(t *testing.T, c *Cluster, name, label string) map[string]float64 {
	t.Helper()
	sums := map[string]float64{}
	series := regexp.MustCompile(`^` + name + `\{` + label + `="(\w+)"\} (\S+)$`)
	for i := range c.Len() {
		text := metricsText(t, c.Node(i).HTTPAddr())
		for _, line := range strings.Split(text, "\n") {
			if m := series.FindStringSubmatch(line); m != nil {
				v, _ := strconv.ParseFloat(m[2], 64)
				sums[m[1]] += v
			}
		}
	}
	return sums
}

// metricsText returns what the node's /metrics serves.
func metricsText(t *testing.T, httpAddr string) string {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
