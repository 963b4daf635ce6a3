package test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Retention accounts: A gets 30 days, B's Data events 7, C is on hold, D
// and E follow the default.
const (
	retA = "100000000001"
	retB = "100000000002"
	retC = "100000000003"
	retD = "100000000004"
	retE = "100000000005"
)

// retEvent is one generated event and what the reference model needs of it.
type retEvent struct {
	id, account, category string
	age                   int // whole days before now, plus 12 hours
	raw                   []byte
}

// retentionEvents are n events of accounts A–E, aged 0–799 days (plus 12
// hours, so that no event lies within hours of a cutoff, which are whole
// days back from now), of every category and none.
func retentionEvents(n int, now time.Time) []retEvent {
	r := rand.New(rand.NewPCG(11, 11))
	accounts := []string{retA, retB, retC, retD, retE}
	categories := []string{"Management", "Data", "Insight", ""}
	out := make([]retEvent, n)
	for i := range out {
		e := retEvent{id: fmt.Sprintf("ret-%06d", i), account: accounts[r.IntN(5)], category: categories[r.IntN(4)], age: r.IntN(800)}
		at := now.Add(-time.Duration(e.age)*24*time.Hour - 12*time.Hour).UTC().Format(time.RFC3339)
		cat := ""
		if e.category != "" {
			cat = fmt.Sprintf(`,"eventCategory":%q`, e.category)
		}
		e.raw = fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","accountId":%q},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":%q,"recipientAccountId":%q%s}`,
			e.account, at, e.id, e.account, cat)
		out[i] = e
	}
	return out
}

// retentionModel is the reference: the days an event is kept, from the
// policies as the issue states them, evaluated event by event.
type retentionModel struct {
	defaultDays int
	account     map[string]int            // account → days
	category    map[string]map[string]int // account → category → days
	held        map[string]bool
}

func (m retentionModel) kept(e retEvent) bool {
	if m.held[e.account] {
		return true
	}
	cat := e.category
	if cat == "" {
		cat = "Management"
	}
	days := m.defaultDays
	if d, ok := m.account[e.account]; ok {
		days = d
	}
	if d, ok := m.category[e.account][cat]; ok {
		days = d
	}
	return e.age < days
}

func (m retentionModel) keptIDs(events []retEvent) map[string]bool {
	out := map[string]bool{}
	for _, e := range events {
		if m.kept(e) {
			out[e.id] = true
		}
	}
	return out
}

// TestRetention: policies, a legal hold and forced shortening on a 3-node
// cluster. Every replica ends with exactly the events inside their windows;
// a shortening change without force is refused with its count; an expired
// event is rejected at ingest; policies and holds survive a restart of the
// whole cluster; a replica that was down during a cut catches up to the
// same digest as the others.
func TestRetention(t *testing.T) {
	c := NewCluster(t, 3, WithConfig(func(cfg *node.Config) {
		cfg.RetentionInterval = 2 * time.Second
		// Logs compacted early, so that a node that joins at the end gets
		// its replicas as snapshots taken after the cuts. The log is
		// reclaimed a segment at a time, so segments are smaller than one
		// compressed entry.
		cfg.SnapshotThreshold = 4
		cfg.TrailingLogs = 2
		cfg.SnapshotInterval = 200 * time.Millisecond
		cfg.RaftSegmentBytes = 16 << 10
	}))
	now := time.Now()
	events := retentionEvents(4000, now)
	raws := make([][]byte, len(events))
	for i, e := range events {
		raws[i] = e.raw
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Ingest(ctx, c.Node(0).GRPCAddr(), raws, 500, 4)
	if err != nil || len(res.Acked) != len(raws) {
		t.Fatalf("ingest: %d of %d acknowledged, %v (%v)", len(res.Acked), len(raws), err, res.Rejected)
	}
	// The admin calls present a token, which the audit events name.
	tok, err := cairnv1.NewClusterServiceClient(c.Conn(0)).CreateToken(ctx, &cairnv1.CreateTokenRequest{AllAccounts: true, Description: "retention admin"})
	if err != nil {
		t.Fatal(err)
	}
	actx := WithToken(ctx, tok.Token)
	rc := cairnv1.NewRetentionServiceClient(c.Conn(1))

	// The hold first, so that C keeps everything from the start.
	if _, err := rc.SetHold(actx, &cairnv1.SetHoldRequest{Account: retC, Reason: "case 7"}); err != nil {
		t.Fatal(err)
	}
	model := retentionModel{defaultDays: 2557, account: map[string]int{}, category: map[string]map[string]int{}, held: map[string]bool{retC: true}}
	steps := []struct {
		req   *cairnv1.SetRetentionRequest
		apply func()
	}{
		{&cairnv1.SetRetentionRequest{Default: true, Days: 365}, func() { model.defaultDays = 365 }},
		{&cairnv1.SetRetentionRequest{Account: retA, Days: 30}, func() { model.account[retA] = 30 }},
		{&cairnv1.SetRetentionRequest{Account: retB, Category: "Data", Days: 7}, func() { model.category[retB] = map[string]int{"Data": 7} }},
	}
	for _, s := range steps {
		before := model.keptIDs(events)
		s.apply()
		after := model.keptIDs(events)
		lost := len(before) - len(after)
		if lost <= 0 {
			t.Fatalf("%v: the step deletes nothing; a poor test", s.req)
		}
		// Without --force: refused, naming the count.
		_, err := rc.SetRetention(actx, s.req)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), fmt.Sprintf("would delete %d stored events", lost)) {
			t.Fatalf("%v without force: %v; want a refusal naming %d events", s.req, err, lost)
		}
		s.req.Force = true
		resp, err := rc.SetRetention(actx, s.req)
		if err != nil || resp.Expired != uint64(lost) {
			t.Fatalf("%v with force: %v, %v; want %d expired", s.req, resp, err, lost)
		}
	}
	want := model.keptIDs(events)

	// Reads stop returning expired events at once.
	if n := queryCount(t, c, 2); n != len(want) {
		t.Errorf("count(*) right after the changes: %d, want %d", n, len(want))
	}
	// Ingest rejects an event its policy has expired.
	expired := fmt.Appendf(nil, `{"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"too-old","recipientAccountId":%q}`,
		now.AddDate(0, 0, -40).UTC().Format(time.RFC3339), retA)
	r2, err := Ingest(ctx, c.Node(2).GRPCAddr(), [][]byte{expired}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if reason := r2.Rejected["too-old"]; reason != "expired by retention policy (account "+retA+", 30 days)" {
		t.Errorf("an expired event: rejected %v, acked %v; want the retention reason", r2.Rejected, r2.Acked)
	}

	waitForKept(t, c, want, "after the policies")

	// Restart the whole cluster: policies and holds survive.
	for i := range 3 {
		c.Stop(i)
	}
	for i := range 3 {
		c.Restart(i)
	}
	c.WaitReady(60 * time.Second)
	rc = cairnv1.NewRetentionServiceClient(c.Conn(0))
	list, err := rc.ListRetention(ctx, &cairnv1.ListRetentionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Policies) != 3 || len(list.Holds) != 1 || list.Holds[0].Account != retC || list.Holds[0].Reason != "case 7" {
		t.Fatalf("after a restart: policies %v, holds %v", list.Policies, list.Holds)
	}
	get, err := rc.GetRetention(ctx, &cairnv1.GetRetentionRequest{Account: retB})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range get.Effective.Rules {
		wantDays := map[string]uint32{"Management": 365, "Data": 7, "Insight": 365}[r.Category]
		if r.Days != wantDays || r.Matched == nil {
			t.Errorf("effective retention of B, %s: %d days by %v; want %d", r.Category, r.Days, r.Matched, wantDays)
		}
	}

	// Clear C's hold while one node is down: the others cut C, and the node
	// that missed the cut catches up to the same content.
	c.Stop(2)
	if _, err := rc.ClearHold(ctx, &cairnv1.ClearHoldRequest{Account: retC}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("clearing the hold without force: %v; want a refusal", err)
	}
	if _, err := rc.ClearHold(WithToken(ctx, tok.Token), &cairnv1.ClearHoldRequest{Account: retC, Force: true}); err != nil {
		t.Fatal(err)
	}
	delete(model.held, retC)
	want = model.keptIDs(events)
	waitForKept(t, c, want, "after the hold was cleared, two nodes")
	c.Restart(2)
	c.WaitReady(60 * time.Second)
	waitForKept(t, c, want, "after the hold was cleared, all nodes")
	c.Converged(60 * time.Second) // same digest at the same applied index on every replica

	// A node that joins now is given replicas rebuilt from snapshots of the
	// cut shards: they end with the same digests as the others.
	j := c.Join(0)
	waitFor(t, 90*time.Second, "the joined node hosts caught-up replicas", func() bool {
		hosted := 0
		for _, ls := range c.Node(j).LocalStatus().Shards {
			if ls.SnapshotsInstalled > 0 && ls.AppliedIndex > 0 {
				hosted++
			}
		}
		return hosted >= 2
	})
	c.Converged(60 * time.Second)

	// Every admin action is in Cairn's own audit trail, with its caller.
	if _, err := cairnv1.NewClusterServiceClient(c.Conn(2)).RevokeToken(ctx, &cairnv1.RevokeTokenRequest{Id: tok.Info.Id}); err != nil {
		t.Fatal(err)
	}
	// Refused attempts are in it too, with their errorCode.
	rows, _, err := RunQuery(ctx, cairnv1.NewQueryServiceClient(c.Conn(1)),
		"SELECT eventName, userIdentity.principalId, errorCode FROM events WHERE eventSource = 'cairn'")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		e := strings.Trim(r[0], `"`) + " by " + strings.Trim(r[1], `"`)
		if r[2] != "null" {
			e += " " + strings.Trim(r[2], `"`)
		}
		got = append(got, e)
	}
	by := " by token:" + tok.Info.Id
	refused := by + " DestructiveChangeRefused"
	wantTrail := []string{"CreateToken by anonymous", "SetHold" + by,
		"SetRetention" + refused, "SetRetention" + by, "SetRetention" + refused, "SetRetention" + by, "SetRetention" + refused, "SetRetention" + by,
		"ClearHold by anonymous DestructiveChangeRefused", "ClearHold" + by, "JoinNode by anonymous", "RevokeToken by anonymous"}
	// eventTime has whole seconds, so actions within a second come in any
	// order: compare the trails as sets.
	slices.Sort(got)
	slices.Sort(wantTrail)
	if !slices.Equal(got, wantTrail) {
		t.Errorf("audit trail:\n got %q\nwant %q", got, wantTrail)
	}
}

// queryCount runs SELECT count(*) on node i.
func queryCount(t *testing.T, c *Cluster, i int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, _, err := RunQuery(ctx, cairnv1.NewQueryServiceClient(c.Conn(i)), "SELECT count(*) FROM events WHERE eventSource <> 'cairn'")
	if err != nil || len(rows) != 1 {
		t.Fatalf("count(*): %v, %v", rows, err)
	}
	var n int
	if _, err := fmt.Sscan(rows[0][0], &n); err != nil {
		t.Fatalf("count(*): %v", err)
	}
	return n
}

// waitForKept waits until every running node's replicas hold exactly the
// events of want, each once.
func waitForKept(t *testing.T, c *Cluster, want map[string]bool, when string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		problem := ""
		for id, addr := range c.Addrs() {
			got, err := nodeEventIDs(c, addr)
			if err != nil {
				problem = err.Error()
				break
			}
			if d := diffIDs(got, want); d != "" {
				problem = id + ": " + d
				break
			}
		}
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", when, problem)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// nodeEventIDs counts the eventIDs over every shard replica of the node at
// addr.
func nodeEventIDs(c *Cluster, addr string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := map[string]int{}
	for shard := range uint32(len(c.Status(0).Shards)) {
		ids, err := EventIDs(ctx, addr, shard)
		if err != nil {
			return nil, err
		}
		for id, n := range ids {
			if strings.HasPrefix(id, "ret-") { // not Cairn's own audit events
				out[id] += n
			}
		}
	}
	return out, nil
}

func diffIDs(got map[string]int, want map[string]bool) string {
	var missing, extra, twice []string
	for id := range want {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range got {
		if !want[id] {
			extra = append(extra, id)
		} else if n > 1 {
			twice = append(twice, id)
		}
	}
	if len(missing)+len(extra)+len(twice) == 0 {
		return ""
	}
	show := func(ids []string) []string { slices.Sort(ids); return ids[:min(5, len(ids))] }
	return fmt.Sprintf("%d missing %v, %d not expected %v, %d stored twice %v (of %d)",
		len(missing), show(missing), len(extra), show(extra), len(twice), show(twice), len(slices.Collect(maps.Keys(want))))
}
