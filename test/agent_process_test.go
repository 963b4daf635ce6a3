package test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// agentProc is one cairn-agent process.
type agentProc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	metrics        string // host:port of --metrics-addr
}

// startAgent starts cairn-agent with args plus --metrics-addr.
func (pc *procCluster) startAgent(args ...string) *agentProc {
	pc.t.Helper()
	a := &agentProc{metrics: FreeAddr(pc.t)}
	a.cmd = exec.Command(filepath.Join(pc.bin, "cairn-agent"), append(args, "--metrics-addr", a.metrics)...)
	a.cmd.Env = append(os.Environ(), "CAIRN_TOKEN=", "CAIRN_SERVER=")
	a.cmd.Stdout, a.cmd.Stderr = &a.stdout, &a.stderr
	if err := a.cmd.Start(); err != nil {
		pc.t.Fatal(err)
	}
	pc.t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			_ = a.cmd.Process.Kill()
			_ = a.cmd.Wait()
		}
	})
	return a
}

// wait waits for the agent to exit and returns its exit code.
func (a *agentProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case <-done:
		return a.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		_ = a.cmd.Process.Kill()
		<-done
		t.Fatalf("cairn-agent still running after %s; stderr:\n%s", timeout, a.stderr.String())
		return -1
	}
}

// metric reads one counter from the agent's /metrics; -1 when unavailable.
func (a *agentProc) metric(name string) float64 {
	resp, err := http.Get("http://" + a.metrics + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

var summaryRE = regexp.MustCompile(`sent (\d+) stored (\d+) duplicate (\d+) rejected (\d+) failed (\d+) in `)

// summaryCounts parses the agent's summary line: sent, stored, duplicate,
// rejected, failed.
func summaryCounts(t *testing.T, stdout string) [5]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no summary line in %q", stdout)
	}
	var out [5]int
	for i := range out {
		out[i], _ = strconv.Atoi(m[i+1])
	}
	return out
}

// generatedIDs returns the eventIDs cairn-agent --generate n sends for the
// given settings.
func generatedIDs(t *testing.T, n int, seed int64, accounts int, start time.Time, days int) map[string]cairnStatus {
	t.Helper()
	g := gen.New(gen.Config{Seed: seed, Accounts: accounts, Start: start, Days: days})
	ids := make(map[string]cairnStatus, n)
	var buf []byte
	for range n {
		buf = g.Next(buf[:0])
		var rec struct {
			EventID string `json:"eventID"`
		}
		if err := json.Unmarshal(buf, &rec); err != nil || rec.EventID == "" {
			t.Fatalf("generated record without eventID: %s", buf)
		}
		ids[rec.EventID] = cairnv1.EventStatus_EVENT_STATUS_STORED
	}
	if len(ids) != n {
		t.Fatalf("the generator repeated eventIDs: %d distinct of %d", len(ids), n)
	}
	return ids
}

// TestAgentKilledResumesFromSpool SIGKILLs cairn-agent halfway through
// 200,000 generated events and runs the same command again: every event is
// stored exactly once, and the second run re-sends at most one window of
// events that were already acknowledged.
func TestAgentKilledResumesFromSpool(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs cairnd and cairn-agent processes")
	}
	const total, batch, window = 200000, 500, 8
	pc := startProcCluster(t, 1, "--no-auth")
	spool := t.TempDir()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	args := []string{"--server", pc.procs[0].grpc, "--generate", strconv.Itoa(total), "--seed", "5", "--accounts", "40",
		"--start", start.Format(time.DateOnly), "--days", "3", "--batch", strconv.Itoa(batch), "--window", strconv.Itoa(window),
		"--spool", spool}

	a := pc.startAgent(args...)
	waitFor(t, 2*time.Minute, "half the events stored", func() bool {
		if a.cmd.ProcessState != nil {
			t.Fatalf("agent ended early: %s", a.stderr.String())
		}
		return a.metric("cairn_agent_events_stored_total") >= total/2
	})
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	t.Logf("killed the agent with %d events stored", pc.storedEvents())

	b := pc.startAgent(args...)
	if code := b.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("resumed agent exited %d:\n%s\n%s", code, b.stdout.String(), b.stderr.String())
	}
	c := summaryCounts(t, b.stdout.String())
	sent, stored, dup := c[0], c[1], c[2]
	t.Logf("resumed run: sent %d, stored %d, duplicate %d", sent, stored, dup)
	if dup > batch*window {
		t.Errorf("resumed run re-sent %d acknowledged events; at most one window (%d) may be", dup, batch*window)
	}
	if stored+dup != sent || sent >= total {
		t.Errorf("resumed run sent %d, stored %d, duplicate %d: want fewer than %d sent, each stored or duplicate", sent, stored, dup, total)
	}
	pc.checkExactlyOnce(generatedIDs(t, total, 5, 40, start, 3))
}

// storedEvents sums the events every shard reports.
func (pc *procCluster) storedEvents() uint64 {
	var n uint64
	for _, s := range pc.status().Shards {
		n += s.Events
	}
	return n
}

// accountCount is one row of cairnctl accounts -o json.
type accountCount struct {
	Account string `json:"account"`
	Events  uint64 `json:"events"`
}

// userAccounts lists the accounts with events from cairnctl accounts,
// leaving out Cairn's own audit events (account cairn), which admin calls
// add.
func (pc *procCluster) userAccounts() []accountCount {
	var accts struct {
		Accounts []accountCount `json:"accounts"`
	}
	if err := json.Unmarshal(pc.ctl("accounts", "-o", "json"), &accts); err != nil {
		pc.t.Fatal(err)
	}
	return slices.DeleteFunc(accts.Accounts, func(a accountCount) bool { return a.Account == "cairn" })
}

// userEvents counts the events of userAccounts.
func (pc *procCluster) userEvents() uint64 {
	var n uint64
	for _, a := range pc.userAccounts() {
		n += a.Events
	}
	return n
}

// TestAgentFailsOverWhenItsNodeDies kills the node the agent streams to:
// the agent goes on through another node and nothing is lost.
func TestAgentFailsOverWhenItsNodeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs cairnd and cairn-agent processes")
	}
	const total = 60000
	pc := startProcCluster(t, 3, "--no-auth")
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	servers := pc.procs[0].grpc + "," + pc.procs[1].grpc + "," + pc.procs[2].grpc
	a := pc.startAgent("--server", servers, "--generate", strconv.Itoa(total), "--seed", "9", "--accounts", "50",
		"--start", start.Format(time.DateOnly), "--days", "2", "--spool", t.TempDir())
	waitFor(t, 2*time.Minute, "a sixth of the events stored", func() bool {
		if a.cmd.ProcessState != nil {
			t.Fatalf("agent ended early: %s", a.stderr.String())
		}
		return a.metric("cairn_agent_events_stored_total") >= total/6
	})
	pc.kill(pc.procs[0]) // the first server, the one the agent streams to
	if code := a.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("agent exited %d:\n%s\n%s", code, a.stdout.String(), a.stderr.String())
	}
	pc.start(pc.procs[0]) // for its replicas' digests
	pc.waitReady(pc.procs[0], time.Minute)
	if !strings.Contains(a.stderr.String(), "stream to "+pc.procs[0].grpc+" broken") {
		t.Errorf("the agent did not report the broken stream:\n%s", a.stderr.String())
	}
	c := summaryCounts(t, a.stdout.String())
	if c[0] != total || c[1]+c[2] != total || c[3] != 0 || c[4] != 0 {
		t.Errorf("summary %q", a.stdout.String())
	}
	pc.checkExactlyOnce(generatedIDs(t, total, 9, 50, start, 2))
}

// gzipFile writes content gzipped at path, creating its directories.
func gzipFile(t *testing.T, path string, content []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(content)
	_ = zw.Close()
	writeFile(t, path, buf.Bytes())
}

func writeFile(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ctRecord is a CloudTrail record of account acct in region.
func ctRecord(id, acct, region string) string {
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::%[2]s:user/alice","accountId":%[2]q,"userName":"alice"},"eventTime":"2026-03-0%[4]dT10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":%[3]q,"sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r-%[1]s","eventID":%[1]q,"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":%[2]q,"eventCategory":"Management"}`,
		id, acct, region, 1+len(id)%8)
}

// TestAgentReadsS3LayoutTree points the agent at a tree laid out as
// CloudTrail writes to S3, with corrupt, empty, digest and foreign files:
// every good event is stored under the account its record names, every
// bad file and event is reported, and the exit status says so.
func TestAgentReadsS3LayoutTree(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs cairnd and cairn-agent processes")
	}
	pc := startProcCluster(t, 1, "--no-auth")
	root := t.TempDir()
	want := map[string]cairnStatus{}
	perAccount := map[string]int{}
	// The file names say 999999999999, as a bucket copied between accounts
	// does; the records say otherwise and win.
	n := 0
	for a, acct := range []string{"111122223333", "444455556666", "777788889999"} {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			for f := range 3 {
				var recs []string
				for range 4 + f {
					n++
					id := fmt.Sprintf("%08d-0000-4000-8000-%012d", n, n)
					recs = append(recs, ctRecord(id, acct, region))
					want[id] = cairnv1.EventStatus_EVENT_STATUS_STORED
					perAccount[acct]++
				}
				name := fmt.Sprintf("999999999999_CloudTrail_%s_20260301T10%02dZ_a%df%d.json.gz", region, 5*f, a, f)
				gzipFile(t, filepath.Join(root, "AWSLogs", "o-abc123", "999999999999", "CloudTrail", region, "2026", "03", "01", name),
					[]byte(`{"Records":[`+strings.Join(recs, ",")+`]}`))
			}
		}
	}
	base := filepath.Join(root, "AWSLogs", "o-abc123", "999999999999", "CloudTrail", "us-east-1", "2026", "03", "02")
	gzipFile(t, filepath.Join(base, "999999999999_CloudTrail_us-east-1_20260302T0000Z_empty.json.gz"), []byte(`{"Records":[]}`))
	writeFile(t, filepath.Join(base, "999999999999_CloudTrail_us-east-1_20260302T0005Z_corrupt.json.gz"), []byte("\x1f\x8b\x08\x00garbage"))
	n++
	goodID := fmt.Sprintf("%08d-0000-4000-8000-%012d", n, n)
	want[goodID] = cairnv1.EventStatus_EVENT_STATUS_STORED
	perAccount["111122223333"]++
	gzipFile(t, filepath.Join(base, "999999999999_CloudTrail_us-east-1_20260302T0010Z_truncated.json.gz"),
		[]byte(`{"Records":[`+ctRecord(goodID, "111122223333", "us-east-1")+`,{"eventID":`))
	gzipFile(t, filepath.Join(base, "999999999999_CloudTrail_us-east-1_20260302T0015Z_bad.json.gz"),
		[]byte(`{"Records":[{"eventVersion":"1.09","eventID":"no-account","eventTime":"2026-03-02T00:00:00Z","eventName":"X","eventSource":"x.amazonaws.com"}]}`))
	gzipFile(t, filepath.Join(root, "AWSLogs", "o-abc123", "999999999999", "CloudTrail-Digest", "us-east-1", "2026", "03", "01",
		"999999999999_CloudTrail-Digest_us-east-1_trail_us-east-1_20260301T110000Z.json.gz"),
		[]byte(`{"awsAccountId":"999999999999","digestStartTime":"2026-03-01T10:00:00Z","logFiles":[]}`))
	writeFile(t, filepath.Join(root, "README.txt"), []byte("CloudTrail export\n"))

	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	a := pc.startAgent("--server", pc.procs[0].grpc, "--dir", root, "--rejects", rejects)
	code := a.wait(t, 2*time.Minute)
	stderr := a.stderr.String()
	if code != 4 {
		t.Errorf("exit %d, want 4 (files could not be read)\n%s", code, stderr)
	}
	for _, s := range []string{"_corrupt.json.gz", "_truncated.json.gz", "CloudTrail-Digest", "README.txt",
		"rejected no-account", "recipientAccountId"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr does not mention %q:\n%s", s, stderr)
		}
	}
	c := summaryCounts(t, a.stdout.String())
	if c[1] != len(want) || c[3] != 1 {
		t.Errorf("summary %q: want %d stored and 1 rejected", a.stdout.String(), len(want))
	}
	data, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Reason string          `json:"reason"`
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &line); err != nil || !strings.Contains(line.Reason, "account") ||
		!strings.Contains(string(line.Record), `"eventName":"X"`) {
		t.Errorf("rejects file %q (%v)", data, err)
	}
	pc.checkExactlyOnce(want)

	var accts struct {
		Accounts []struct {
			Account string `json:"account"`
			Events  int    `json:"events"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(pc.ctl("accounts", "-o", "json"), &accts); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, x := range accts.Accounts {
		got[x.Account] = x.Events
	}
	if fmt.Sprint(got) != fmt.Sprint(perAccount) {
		t.Errorf("events per account %v, want %v (from the records, not the file names)", got, perAccount)
	}
}

// TestAgentTokens: a token for one account stores that account's events
// and gets the others rejected one by one; without a token, or with a
// revoked one, the agent cannot ingest at all.
func TestAgentTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs cairnd and cairn-agent processes")
	}
	pc := startProcCluster(t, 1) // tokens required
	token := strings.TrimSpace(string(pc.ctl("token", "create", "--account", "111122223333", "--description", "agent test")))
	if !strings.HasPrefix(token, "cairn_") {
		t.Fatalf("cairnctl token create printed %q", token)
	}
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	var lines []string
	for i := range 10 {
		acct := "111122223333"
		if i%2 == 1 {
			acct = "444455556666"
		}
		lines = append(lines, ctRecord(fmt.Sprintf("tok-%02d", i), acct, "us-east-1"))
	}
	writeFile(t, path, []byte(strings.Join(lines, "\n")+"\n"))

	a := pc.startAgent("--server", pc.procs[0].grpc, "--file", path, "--token", token)
	if code := a.wait(t, time.Minute); code != 3 {
		t.Fatalf("scoped run: exit %d, want 3 (rejected events)\n%s\n%s", code, a.stdout.String(), a.stderr.String())
	}
	if c := summaryCounts(t, a.stdout.String()); c[1] != 5 || c[3] != 5 {
		t.Errorf("summary %q: want 5 stored, 5 rejected", a.stdout.String())
	}
	if !strings.Contains(a.stderr.String(), "rejected tok-01: account 444455556666 is outside the scope of token") {
		t.Errorf("stderr does not give the scope reason:\n%s", a.stderr.String())
	}

	a = pc.startAgent("--server", pc.procs[0].grpc, "--file", path)
	if code := a.wait(t, time.Minute); code != 1 || !strings.Contains(a.stderr.String(), "requires an ingest token") {
		t.Errorf("without a token: exit %d, stderr:\n%s", code, a.stderr.String())
	}

	id := strings.Split(token, "_")[1]
	pc.ctl("token", "revoke", id)
	a = pc.startAgent("--server", pc.procs[0].grpc, "--file", path, "--token", token)
	if code := a.wait(t, time.Minute); code != 1 || !strings.Contains(a.stderr.String(), "revoked") {
		t.Errorf("revoked token: exit %d, stderr:\n%s", code, a.stderr.String())
	}
	if n := pc.userEvents(); n != 5 {
		t.Errorf("cluster stores %d events, want the 5 in scope", n)
	}
}
