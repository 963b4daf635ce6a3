package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds cairnd, cairnctl and cairn-agent built once for the process tests.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries returns the directory holding cairnd, cairnctl and cairn-agent: $CAIRN_BIN
// when set (make test points it at bin/), else a fresh build.
func binaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("CAIRN_BIN"); dir != "" {
		return dir
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "cairn-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "../cmd/cairnd", "../cmd/cairnctl", "../cmd/cairn-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// proc is one cairnd process.
type proc struct {
	id, grpc, raft, http, dir string
	args                      []string
	cmd                       *exec.Cmd
	log                       *os.File
}

type procCluster struct {
	t     *testing.T
	bin   string
	procs []*proc
	admin string // the initial admin token, given to cairnd and used by ctl
}

// startProcCluster starts n cairnd processes on loopback that bootstrap one
// cluster, and waits until each answers /readyz.
func startProcCluster(t *testing.T, n int, extra ...string) *procCluster {
	t.Helper()
	pc := &procCluster{t: t, bin: binaries(t), admin: NewTokenString()}
	var boot []string
	for i := range n {
		p := &proc{id: nodeID(i), grpc: FreeAddr(t), raft: FreeAddr(t), http: FreeAddr(t), dir: filepath.Join(t.TempDir(), nodeID(i))}
		boot = append(boot, p.id+"="+p.raft)
		pc.procs = append(pc.procs, p)
	}
	for _, p := range pc.procs {
		p.args = append([]string{"--id", p.id, "--data-dir", p.dir, "--grpc-addr", p.grpc, "--raft-addr", p.raft, "--http-addr", p.http,
			"--bootstrap", strings.Join(boot, ",")}, extra...)
		pc.start(p)
	}
	t.Cleanup(pc.stopAll)
	for _, p := range pc.procs {
		pc.waitReady(p, 60*time.Second)
	}
	return pc
}

func (pc *procCluster) start(p *proc) {
	pc.t.Helper()
	var err error
	p.log, err = os.OpenFile(p.dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		pc.t.Fatal(err)
	}
	p.cmd = exec.Command(filepath.Join(pc.bin, "cairnd"), p.args...)
	p.cmd.Env = append(os.Environ(), "CAIRN_INITIAL_ADMIN_TOKEN="+pc.admin)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		pc.t.Fatalf("start %s: %v", p.id, err)
	}
}

func (pc *procCluster) waitReady(p *proc, timeout time.Duration) {
	pc.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	pc.t.Fatalf("%s not ready after %v; log:\n%s", p.id, timeout, tail(p.dir+".log"))
}

// kill sends SIGKILL and reaps the process.
func (pc *procCluster) kill(p *proc) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.log.Close()
}

// stop sends SIGTERM and waits for a clean exit.
func (pc *procCluster) stop(p *proc) error {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		p.log.Close()
		return err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", p.id)
	}
}

func (pc *procCluster) stopAll() {
	for _, p := range pc.procs {
		if err := pc.stop(p); err != nil {
			pc.t.Errorf("stopping %s: %v\n%s", p.id, err, tail(p.dir+".log"))
		}
	}
}

func (pc *procCluster) addrs() map[string]string {
	m := map[string]string{}
	for _, p := range pc.procs {
		if p.cmd != nil && p.cmd.ProcessState == nil {
			m[p.id] = p.grpc
		}
	}
	return m
}

// ctl runs cairnctl against the cluster and returns its standard output.
func (pc *procCluster) ctl(args ...string) []byte {
	pc.t.Helper()
	var servers []string
	for _, a := range pc.addrs() {
		servers = append(servers, a)
	}
	cmd := exec.Command(filepath.Join(pc.bin, "cairnctl"), append([]string{"--server", strings.Join(servers, ",")}, args...)...)
	cmd.Env = append(os.Environ(), "CAIRN_TOKEN="+pc.admin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		pc.t.Fatalf("cairnctl %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// ctlStatus is the JSON that `cairnctl status -o json` prints.
type ctlStatus struct {
	Nodes []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"nodes"`
	Shards []struct {
		ID             uint32            `json:"id"`
		Leader         string            `json:"leader"`
		Replicas       []string          `json:"replicas"`
		AppliedIndex   uint64            `json:"applied_index"`
		Events         uint64            `json:"events"`
		ReplicaApplied map[string]uint64 `json:"replica_applied"`
	} `json:"shards"`
}

func (pc *procCluster) status() ctlStatus {
	pc.t.Helper()
	var st ctlStatus
	out := pc.ctl("status", "-o", "json")
	if err := json.Unmarshal(out, &st); err != nil {
		pc.t.Fatalf("cairnctl status -o json printed %q: %v", out, err)
	}
	return st
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// TestProcessCluster runs three cairnd processes: status shows the cluster;
// 50,000 events are ingested, with a token from cairnctl, while a shard
// leader is SIGKILLed; the killed node restarts and catches up; a node added
// with --join after log compaction receives snapshots and then holds the same
// content.
func TestProcessCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds and runs cairnd processes")
	}
	// The Raft log is reclaimed a whole segment at a time, and a leader still
	// serves the entries of a segment it keeps: segments of 16 KiB, smaller
	// than one compressed entry, make the compaction exact, so that the node
	// that joins must come by snapshot.
	tuning := []string{"--raft-snapshot-threshold", "4", "--raft-trailing-logs", "2", "--raft-snapshot-interval", "500ms", "--raft-segment-bytes", "16384"}
	start := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	pc := startProcCluster(t, 3, tuning...)
	step("cluster ready")

	// 1. Status: 3 nodes, every shard with a leader and 3 replicas, leaders
	// on more than one node.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := pc.status()
		leaders := map[string]bool{}
		ok := len(st.Nodes) == 3 && len(st.Shards) == 8
		for _, s := range st.Shards {
			ok = ok && s.Leader != "" && len(s.Replicas) == 3
			leaders[s.Leader] = true
		}
		if ok && len(leaders) > 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed 3 nodes and 8 led shards on several nodes: %+v", st)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// 2. Ingest 50,000 events through n1 with a token from cairnctl (cairnd
	// requires one); SIGKILL the leader of a shard held elsewhere when a
	// fifth are stored.
	token := strings.TrimSuffix(string(pc.ctl("token", "create", "--all-accounts", "--description", "process test")), "\n")
	if !strings.HasPrefix(token, "cairn_") || strings.ContainsAny(token, " \n") {
		t.Fatalf("cairnctl token create printed %q; want the token alone on its line", token)
	}
	const total = 50000
	events := makeEvents(t, total, 300, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctx = WithToken(ctx, token)
	var res *IngestResult
	var ingestErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, ingestErr = Ingest(ctx, pc.procs[0].grpc, events, 500, 8)
	}()
	var victim *proc
	for victim == nil {
		select {
		case <-done:
			t.Fatalf("ingest ended before the kill: %v", ingestErr)
		case <-time.After(100 * time.Millisecond):
		}
		st := pc.status()
		var stored uint64
		for _, s := range st.Shards {
			stored += s.Events
		}
		if stored < total/5 {
			continue
		}
		for _, s := range st.Shards {
			if s.Leader != "" && s.Leader != "n1" {
				victim = pc.procs[indexOf(s.Leader)]
				t.Logf("SIGKILL %s (leader of shard %d) at %d stored events", s.Leader, s.ID, stored)
				break
			}
		}
	}
	pc.kill(victim)
	step("killed")
	<-done
	step("ingest done")
	if ingestErr != nil {
		t.Fatalf("ingest: %v", ingestErr)
	}
	if len(res.Acked) != total || len(res.Rejected) != 0 {
		t.Fatalf("acked %d of %d, rejected %d", len(res.Acked), total, len(res.Rejected))
	}

	// 3. The killed node restarts from its data dir and catches up.
	pc.start(victim)
	pc.waitReady(victim, 60*time.Second)
	step("restarted")
	pc.checkExactlyOnce(res.Acked)
	step("checked")

	// 4. cairnctl accounts counts every acknowledged event.
	accounts := pc.userAccounts() // without the audit event of the token
	var counted uint64
	for _, a := range accounts {
		counted += a.Events
	}
	if counted != total || len(accounts) != 300 {
		t.Fatalf("cairnctl accounts counts %d events over %d accounts, want %d over 300", counted, len(accounts), total)
	}

	// 5. A re-sent batch is reported as duplicates.
	again, err := Ingest(ctx, pc.procs[1].grpc, events[:500], 500, 1)
	if err != nil || again.Dup != 500 {
		t.Fatalf("re-sent 500 stored events: %v; %d duplicates, %d stored", err, again.Dup, again.Stored)
	}

	// 6. A fourth node joins after the logs were compacted.
	j := &proc{id: "n4", grpc: FreeAddr(t), raft: FreeAddr(t), http: FreeAddr(t), dir: filepath.Join(t.TempDir(), "n4")}
	j.args = append([]string{"--id", j.id, "--data-dir", j.dir, "--grpc-addr", j.grpc, "--raft-addr", j.raft, "--http-addr", j.http, "--join", pc.procs[1].grpc}, tuning...)
	pc.procs = append(pc.procs, j)
	pc.start(j)
	pc.waitReady(j, 60*time.Second)
	step("n4 ready")
	deadline = time.Now().Add(2 * time.Minute)
	for {
		st := pc.status()
		hosted := 0
		for _, s := range st.Shards {
			if slices.Contains(s.Replicas, "n4") && s.ReplicaApplied["n4"] == s.AppliedIndex && s.AppliedIndex > 0 {
				hosted++
			}
		}
		if hosted >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n4 holds %d caught-up replicas: %+v", hosted, st.Shards)
		}
		time.Sleep(250 * time.Millisecond)
	}
	step("n4 caught up")
	pc.checkExactlyOnce(res.Acked)
	step("checked")
	local, err := localStatus(ctx, j.grpc)
	if err != nil {
		t.Fatal(err)
	}
	for _, ls := range local.Shards {
		if ls.SnapshotsInstalled == 0 {
			t.Errorf("n4's replica of shard %d did not come by snapshot: %v", ls.Id, ls)
		}
	}
}

func indexOf(id string) int {
	var i int
	fmt.Sscanf(id, "n%d", &i)
	return i - 1
}

func (pc *procCluster) checkExactlyOnce(acked map[string]cairnStatus) {
	pc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addrs := pc.addrs()
	any := ""
	for _, a := range addrs {
		any = a
		break
	}
	states, err := Converged(ctx, addrs, statusVia(any))
	if err != nil {
		pc.t.Fatal(err)
	}
	verifyExactlyOnce(pc.t, ctx, addrs, states, acked)
}
