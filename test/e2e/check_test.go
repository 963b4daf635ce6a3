//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/test"
)

// check checks what the scenario left (see runScenario) and logs and
// reports its summary.
func (s *scenario) check(name string, q *querier, agents []*agent) {
	t := s.t
	t.Helper()
	mismatches, st := s.checkReplicas()
	rep := report{scenario: name, mismatches: mismatches}
	sent, acked, rejected, attempts, failures := s.p.snapshot()
	rep.probeAttempts, rep.probeBatches = attempts, s.p.batchCount()
	if len(rejected) > 0 {
		t.Errorf("the cluster rejected %d probe events: %v", len(rejected), rejected[:min(5, len(rejected))])
	}
	expected := maps.Clone(acked)
	maybe := map[string]string{}
	for id, acct := range sent {
		if _, ok := acked[id]; !ok {
			maybe[id] = acct
		}
	}
	for _, a := range agents {
		runs, stored, dup := a.totals()
		rep.agentRuns = append(rep.agentRuns, runs)
		rep.agentStored += stored
		rep.agentDup += dup
		if runs > 1 {
			t.Logf("agent %s needed %d runs; its log:\n%s", a.cfg.name, runs, a.logTail())
		}
		for id, acct := range a.cfg.generatedIDs(t) {
			expected[id] = acct
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, err := checkStored(ctx, s.c, st, expected, maybe)
	if err != nil {
		t.Fatalf("cannot read the stored eventIDs: %v", err)
	}
	rep.acked, rep.stored, rep.dups, rep.lost, rep.unacked, rep.unexpected = sc.expected, sc.stored, sc.duplicates, sc.lost, sc.unacked, sc.unexpected
	if sc.duplicates > 0 || sc.lost > 0 || sc.stored != sc.expected || sc.unexpected > 0 {
		t.Errorf("stored events: %d acknowledged, %d stored exactly once, %d duplicated, %d lost, %d unexpected; for example:\n%s",
			sc.expected, sc.stored, sc.duplicates, sc.lost, sc.unexpected, joinLines(sc.examples))
	}
	var gapFrom time.Time
	rep.gap, gapFrom = s.p.longestGap()
	rep.gapAt = gapFrom.Sub(s.began)
	if rep.gap > 2*time.Second {
		var lines []string
		failed := s.p.failuresBetween(gapFrom, gapFrom.Add(rep.gap))
		for i, f := range failed {
			if i == 15 && len(failed) > 20 {
				lines = append(lines, fmt.Sprintf("… %d more", len(failed)-20))
			}
			if i < 15 || i >= len(failed)-5 {
				lines = append(lines, fmt.Sprintf("+%.1fs %s (after %v)", f.at.Sub(s.began).Seconds(), f.why, f.took.Round(time.Millisecond)))
			}
		}
		t.Logf("longest write unavailability: %v from +%.1fs; the probe's failed attempts meanwhile:\n%s", rep.gap.Round(10*time.Millisecond), rep.gapAt.Seconds(), joinLines(lines))
	}
	for _, f := range s.faults {
		end := f.end
		if end.IsZero() {
			end = time.Now()
		}
		gap := s.p.longestGapWithin(f.begin, end)
		if d, ok := s.p.recovery(f.at); ok {
			rep.recoveries = append(rep.recoveries, fmt.Sprintf("%s: next write %s, longest gap %s",
				f.what, d.Round(10*time.Millisecond), gap.Round(10*time.Millisecond)))
		} else {
			rep.recoveries = append(rep.recoveries, f.what+": no write acknowledged after it")
			t.Errorf("no probe write was acknowledged after %q", f.what)
		}
	}
	var errs, wrong []string
	rep.queriesOK, rep.queriesFailed, errs, wrong = q.results()
	rep.queriesWrong = len(wrong)
	if len(errs) > 0 {
		t.Logf("queries refused:\n%s", joinLines(errs))
	}
	if len(wrong) > 0 {
		t.Errorf("%d queries answered wrong:\n%s", len(wrong), joinLines(wrong))
	}
	if rep.queriesOK == 0 {
		t.Errorf("no query succeeded")
	}
	if len(failures) > 0 {
		var lines []string
		for _, k := range sortedKeys(failures) {
			lines = append(lines, fmt.Sprintf("%d× %s", failures[k], k))
		}
		t.Logf("probe attempts that failed:\n%s", joinLines(lines))
	}
	rep.took = time.Since(s.began)
	line := rep.String()
	t.Logf("SUMMARY %s", line)
	writeReport(t, line)
}

func (s *scenario) checkReplicas() (int, *cairnv1.StatusResponse) {
	s.t.Helper()
	m, st := checkReplicas(s.t, s.c)
	s.step("replicas checked")
	return m, st
}

// storedCheck is what the replicas hold of the events that were sent.
type storedCheck struct {
	expected   int // eventIDs acknowledged to an agent or the probe
	stored     int // of those, present exactly once on every replica of their shard
	duplicates int // eventIDs stored more than once on a replica, or on a shard not theirs
	lost       int // acknowledged eventIDs missing from a replica of their shard
	unacked    int // probe events sent without an acknowledgement that were stored (allowed)
	unexpected int // stored eventIDs that no agent or probe sent
	examples   []string
}

// checkStored reads every eventID of every replica of every shard and
// compares them with expected (eventID → account: the events acknowledged to
// an agent or the probe); maybe holds the events whose fate is unknown (sent
// but not acknowledged), which may or may not be stored, once.
func checkStored(ctx context.Context, c *cluster, st *cairnv1.StatusResponse, expected, maybe map[string]string) (storedCheck, error) {
	shards := uint32(len(st.Shards))
	type replica struct {
		shard uint32
		node  string
		ids   map[string]int
	}
	var replicas []*replica
	byShard := map[uint32][]*replica{}
	for _, s := range st.Shards {
		for _, r := range s.Replicas {
			rep := &replica{shard: s.Id, node: r}
			replicas = append(replicas, rep)
			byShard[s.Id] = append(byShard[s.Id], rep)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, rep := range replicas {
		wg.Go(func() {
			var err error
			rep.ids, err = test.EventIDs(ctx, c.node(rep.node).grpc, rep.shard)
			if err != nil {
				errs[i] = fmt.Errorf("eventIDs of shard %d on %s: %w", rep.shard, rep.node, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return storedCheck{}, err
		}
	}
	var sc storedCheck
	example := func(format string, args ...any) {
		if len(sc.examples) < 12 {
			sc.examples = append(sc.examples, fmt.Sprintf(format, args...))
		}
	}
	sc.expected = len(expected)
	dup := map[string]bool{}
	for _, rep := range replicas {
		for id, n := range rep.ids {
			if n > 1 && !dup[id] {
				dup[id] = true
				example("eventID %s stored %d times on %s's replica of shard %d", id, n, rep.node, rep.shard)
			}
			acct, ok := expected[id]
			if !ok {
				acct, ok = maybe[id]
			}
			if !ok {
				continue
			}
			if home := node.ShardFor(acct, shards); home != rep.shard && !dup[id] {
				dup[id] = true
				example("eventID %s (account %s, shard %d) is stored on shard %d too (%s)", id, acct, home, rep.shard, rep.node)
			}
		}
	}
	sc.duplicates = len(dup)
	for id, acct := range expected {
		home := node.ShardFor(acct, shards)
		var missing []string
		once := true
		for _, rep := range byShard[home] {
			switch rep.ids[id] {
			case 0:
				missing = append(missing, rep.node)
				once = false
			case 1:
			default:
				once = false
			}
		}
		if len(missing) > 0 {
			sc.lost++
			example("acknowledged eventID %s (account %s) is missing on %s of shard %d", id, acct, strings.Join(missing, ", "), home)
		}
		if once {
			sc.stored++
		}
	}
	seen := map[string]bool{}
	for _, rep := range replicas {
		for id := range rep.ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if _, ok := expected[id]; ok {
				continue
			}
			if _, ok := maybe[id]; ok {
				sc.unacked++
				continue
			}
			sc.unexpected++
			if sc.unexpected <= 3 {
				example("eventID %s on shard %d was sent by no agent or probe", id, rep.shard)
			}
		}
	}
	return sc, nil
}

// verifyResult is the part of `cairnctl -o json verify` read here.
type verifyResult struct {
	OK     bool `json:"ok"`
	Shards []struct {
		ID     uint32 `json:"id"`
		Result string `json:"result"`
		Detail string `json:"detail"`
	} `json:"shards"`
}

// checkReplicas waits until every shard's replicas are at the same applied
// index with the same digest (test.Converged), then runs cairnctl verify in
// n1's container. It returns the shards whose replicas differ at the same
// applied index, as cairnctl verify counts them, and the status the checks
// ran against.
func checkReplicas(t *testing.T, c *cluster) (mismatches int, st *cairnv1.StatusResponse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := test.Converged(ctx, c.addrs(), func() (*cairnv1.StatusResponse, error) { return c.status(ctx) }); err != nil {
		t.Errorf("replicas: %v", err)
	}
	code, out, errOut := c.verify()
	var vr verifyResult
	if err := json.Unmarshal([]byte(out), &vr); err != nil {
		t.Errorf("cairnctl verify exited %d and printed %q (standard error %q): %v", code, out, errOut, err)
	}
	for _, s := range vr.Shards {
		if s.Result == "mismatch" {
			mismatches++
		}
	}
	if code != 0 || !vr.OK {
		t.Errorf("cairnctl verify exited %d:\n%s%s", code, out, errOut)
	}
	st, err := c.status(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return mismatches, st
}

// report is the summary of one scenario.
type report struct {
	scenario                    string
	took                        time.Duration
	acked, stored, dups, lost   int
	unacked, unexpected         int
	mismatches                  int
	gap, gapAt                  time.Duration
	recoveries                  []string
	queriesOK, queriesFailed    int
	queriesWrong                int
	agentRuns                   []int
	agentStored, agentDup       int64
	probeAttempts, probeBatches int
}

func (r report) String() string {
	runs := make([]string, len(r.agentRuns))
	for i, n := range r.agentRuns {
		runs[i] = fmt.Sprint(n)
	}
	return fmt.Sprintf("%-9s acked %d stored %d duplicates %d lost %d digest-mismatches %d longest-write-unavailability %s (at +%.1fs) [%s] queries ok %d failed %d wrong %d | agents: runs %s, answered stored %d duplicate %d; probe: %d batches, %d attempts; unacked-but-stored %d, unexpected %d; took %s",
		r.scenario, r.acked, r.stored, r.dups, r.lost, r.mismatches, r.gap.Round(10*time.Millisecond), r.gapAt.Seconds(), strings.Join(r.recoveries, "; "),
		r.queriesOK, r.queriesFailed, r.queriesWrong, strings.Join(runs, "+"), r.agentStored, r.agentDup,
		r.probeBatches, r.probeAttempts, r.unacked, r.unexpected, r.took.Round(time.Second))
}

var reportMu sync.Mutex

// writeReport appends the line to $E2E_REPORT when it is set.
func writeReport(t *testing.T, line string) {
	t.Helper()
	path := os.Getenv("E2E_REPORT")
	if path == "" {
		return
	}
	reportMu.Lock()
	defer reportMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Errorf("E2E_REPORT: %v", err)
		return
	}
	defer f.Close()
	status := "PASS"
	if t.Failed() {
		status = "FAIL"
	}
	fmt.Fprintf(f, "%s %s\n", status, line)
}

// sortedKeys is for stable messages.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
