package test

import (
	"bytes"
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage/event"
)

// genEvents returns n records of the agent's generator, with what the
// cluster extracts from each.
func genRecords(t testing.TB, n, accounts int, seed int64, start time.Time, days int) ([][]byte, []*cairnv1.Event) {
	t.Helper()
	g := gen.New(gen.Config{Seed: seed, Accounts: accounts, Start: start, Days: days})
	raws := make([][]byte, n)
	evs := make([]*cairnv1.Event, n)
	for i := range raws {
		raws[i] = g.Next(nil)
		e, err := event.Parse(raws[i], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = e
	}
	return raws, evs
}

// attrValues are an event's values of a lookup attribute.
func attrValues(e *cairnv1.Event, a cairnv1.LookupAttribute) []string {
	switch a {
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID:
		return []string{e.EventId}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME:
		return []string{e.EventName}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_SOURCE:
		return []string{e.EventSource}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_USERNAME:
		return []string{e.Username}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ACCESS_KEY_ID:
		return []string{e.AccessKeyId}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_NAME:
		var v []string
		for _, r := range e.Resources {
			v = append(v, r.Name)
		}
		return v
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_TYPE:
		var v []string
		for _, r := range e.Resources {
			v = append(v, r.Type)
		}
		return v
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY:
		return []string{e.ReadOnly}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE:
		return []string{e.ErrorCode}
	case cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_SOURCE_IP_ADDRESS:
		return []string{e.SourceIp}
	}
	return nil
}

// TestLookupPagesMatchFiltering: on a 3-node cluster, random lookups, read
// page by page, return exactly the events that filtering every ingested
// record returns, newest first, byte for byte, without gaps or repeats.
func TestLookupPagesMatchFiltering(t *testing.T) {
	c := NewCluster(t, 3)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5)
	raws, evs := genRecords(t, 6000, 12, 3, start, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Ingest(ctx, c.Addrs()["n1"], raws, 500, 8)
	if err != nil || len(res.Acked) != len(raws) {
		t.Fatalf("ingest: %v (%d acknowledged of %d)", err, len(res.Acked), len(raws))
	}
	qc := cairnv1.NewQueryServiceClient(c.Conn(1))
	r := rand.New(rand.NewPCG(5, 6))
	lookups := 40
	if testing.Short() {
		lookups = 8 // the race detector's pass
	}
	for n := range lookups {
		req := &cairnv1.LookupRequest{MaxResults: uint32(1 + r.IntN(300))}
		if r.IntN(2) == 0 {
			req.Accounts = []string{evs[r.IntN(len(evs))].Account}
		}
		if r.IntN(3) == 0 {
			req.Regions = []string{evs[r.IntN(len(evs))].Region}
		}
		if r.IntN(3) == 0 {
			req.StartTimeUnixNano = start.Add(time.Duration(r.IntN(48)) * time.Hour).UnixNano()
			req.EndTimeUnixNano = req.StartTimeUnixNano + int64(time.Duration(1+r.IntN(72))*time.Hour)
		}
		for range r.IntN(3) {
			a := cairnv1.LookupAttribute(1 + r.IntN(10))
			if slices.ContainsFunc(req.Filters, func(f *cairnv1.LookupFilter) bool { return f.Attribute == a }) {
				continue
			}
			vals := attrValues(evs[r.IntN(len(evs))], a)
			if len(vals) == 0 || vals[0] == "" {
				continue
			}
			req.Filters = append(req.Filters, &cairnv1.LookupFilter{Attribute: a, Value: vals[0]})
		}
		var want [][]byte
		for i, e := range evs {
			if naiveMatch(e, req) {
				want = append(want, raws[i])
			}
		}
		slices.SortFunc(want, func(a, b []byte) int { return compareNewestFirst(t, a, b) })
		var got [][]byte
		for page := 0; ; page++ {
			resp, err := qc.Lookup(ctx, req)
			if err != nil {
				t.Fatalf("lookup %d (%v): %v", n, req, err)
			}
			for _, e := range resp.Events {
				got = append(got, e.Raw)
			}
			if resp.Stats.GetShardsAsked() == 0 || (len(req.Accounts) == 1 && resp.Stats.GetShardsAsked() != 1) {
				t.Fatalf("lookup %d asked %d shards", n, resp.Stats.GetShardsAsked())
			}
			if resp.NextPageToken == "" {
				break
			}
			req.PageToken = resp.NextPageToken
		}
		if len(got) != len(want) {
			t.Fatalf("lookup %d (%v): %d events, want %d", n, req, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("lookup %d: event %d differs:\n got %.120s\nwant %.120s", n, i, got[i], want[i])
			}
		}
	}

	// A page token with other filters is refused.
	resp, err := qc.Lookup(ctx, &cairnv1.LookupRequest{MaxResults: 2})
	if err != nil || resp.NextPageToken == "" {
		t.Fatalf("lookup: %v, token %q", err, resp.GetNextPageToken())
	}
	_, err = qc.Lookup(ctx, &cairnv1.LookupRequest{MaxResults: 2, PageToken: resp.NextPageToken,
		Filters: []*cairnv1.LookupFilter{{Attribute: cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME, Value: "X"}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "page token belongs to another lookup") {
		t.Fatalf("token reused with other filters: %v", err)
	}
	if _, err := qc.Lookup(ctx, &cairnv1.LookupRequest{MaxResults: 1001}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("max_results 1001: %v", err)
	}
}

func naiveMatch(e *cairnv1.Event, req *cairnv1.LookupRequest) bool {
	end := req.EndTimeUnixNano
	if end == 0 {
		end = time.Now().UnixNano()
	}
	begin := req.StartTimeUnixNano
	if begin == 0 {
		begin = end - int64(90*24*time.Hour)
	}
	if e.EventTimeUnixNano < begin || e.EventTimeUnixNano >= end ||
		(len(req.Accounts) > 0 && !slices.Contains(req.Accounts, e.Account)) ||
		(len(req.Regions) > 0 && !slices.Contains(req.Regions, e.Region)) {
		return false
	}
	for _, f := range req.Filters {
		if !slices.Contains(attrValues(e, f.Attribute), f.Value) {
			return false
		}
	}
	return true
}

// compareNewestFirst orders records as a lookup does: eventTime, then
// account, then eventID, all descending.
func compareNewestFirst(t testing.TB, a, b []byte) int {
	ea, err1 := event.Parse(a, time.Now())
	eb, err2 := event.Parse(b, time.Now())
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	switch {
	case ea.EventTimeUnixNano != eb.EventTimeUnixNano:
		return -cmp.Compare(ea.EventTimeUnixNano, eb.EventTimeUnixNano)
	case ea.Account != eb.Account:
		return -strings.Compare(ea.Account, eb.Account)
	}
	return -strings.Compare(ea.EventId, eb.EventId)
}

// clusterWithLostShards starts 2 nodes with one replica per shard, loads
// 2,000 events and kills the second node: it returns the cluster and the
// shards that died with it.
func clusterWithLostShards(t *testing.T) (*Cluster, []uint32) {
	t.Helper()
	c := NewCluster(t, 2, WithReplicas(1), WithShards(4))
	raws, _ := genRecords(t, 2000, 20, 9, time.Now().UTC().Add(-48*time.Hour), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if res, err := Ingest(ctx, c.Addrs()["n1"], raws, 500, 8); err != nil || len(res.Acked) != len(raws) {
		t.Fatalf("ingest: %v", err)
	}
	var lost []uint32
	for _, s := range c.Status(0).Shards {
		if s.Leader == "n2" {
			lost = append(lost, s.Id)
		}
	}
	if len(lost) == 0 {
		t.Fatal("n2 leads no shard")
	}
	c.Kill(1)
	return c, lost
}

// TestLookupWithAShardDown: with one shard's only replica stopped, a lookup
// fails naming that shard; with allow_partial it answers with the other
// shards' events and lists the missing one.
func TestLookupWithAShardDown(t *testing.T) {
	c, lost := clusterWithLostShards(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	qc := cairnv1.NewQueryServiceClient(c.Conn(0))
	qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := qc.Lookup(qctx, &cairnv1.LookupRequest{MaxResults: 1000})
	qcancel()
	if err == nil || !strings.Contains(err.Error(), "shard ") || !strings.Contains(err.Error(), "cannot answer") {
		t.Fatalf("lookup with a shard down: %v; want a failure naming the shard", err)
	}
	qctx, qcancel = context.WithTimeout(ctx, 3*time.Second)
	resp, err := qc.Lookup(qctx, &cairnv1.LookupRequest{MaxResults: 1000, AllowPartial: true})
	qcancel()
	if err != nil {
		t.Fatalf("partial lookup: %v", err)
	}
	var missing []uint32
	for _, m := range resp.Stats.MissingShards {
		missing = append(missing, m.Shard)
	}
	slices.Sort(missing)
	if !resp.Stats.Partial || !slices.Equal(missing, lost) || len(resp.Events) == 0 {
		t.Fatalf("partial lookup: partial %v, missing %v (want %v), %d events", resp.Stats.Partial, missing, lost, len(resp.Events))
	}
	for _, e := range resp.Events {
		if shard := node.ShardFor(e.Account, 4); slices.Contains(lost, shard) {
			t.Fatalf("event of account %s from lost shard %d", e.Account, shard)
		}
	}
}
