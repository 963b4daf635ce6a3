//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/gen"
	"github.com/cairn-lake/cairn/storage/event"
)

// binDir is the directory holding cairn-agent: $CAIRN_BIN, else the
// repository's bin/ (from make build).
func binDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CAIRN_BIN")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "bin")
	}
	if _, err := os.Stat(filepath.Join(dir, "cairn-agent")); err != nil {
		t.Fatalf("no cairn-agent in %s (set CAIRN_BIN, or run make build): %v", dir, err)
	}
	return dir
}

// agentConfig is what one agent generates: its --generate, --seed,
// --accounts, --start and --days.
type agentConfig struct {
	name     string
	events   int
	seed     int64
	accounts int
	start    time.Time
	days     int
	rate     int
}

// agentMaxRuns bounds how often an agent is started: a run that ends with
// exit status 1 (events not delivered: the cluster was unreachable for 30 s,
// or an event failed five times) is started again with the same spool, as a
// supervisor (compose's restart: on-failure) would.
const agentMaxRuns = 5

// agent is one cairn-agent, started again from its spool after a failed run.
type agent struct {
	cfg     agentConfig
	args    []string
	logPath string // standard error of every run

	mu       sync.Mutex
	runs     []agentRun
	done     bool
	err      error // why the agent did not finish (when done)
	cmd      *exec.Cmd
	stopping bool // the test is over: start no further run
	doneCh   chan struct{}
}

// agentRun is the outcome of one run.
type agentRun struct {
	exit              int
	stored, duplicate int64
	summary           string // the agent's summary line
}

// startAgent starts cairn-agent on the host against every node of c.
func startAgent(t *testing.T, c *cluster, cfg agentConfig) *agent {
	t.Helper()
	dir := t.TempDir()
	var servers []string
	for _, n := range c.nodes {
		servers = append(servers, n.grpc)
	}
	a := &agent{cfg: cfg, logPath: filepath.Join(dir, "agent.log"), doneCh: make(chan struct{})}
	a.args = []string{"--server", strings.Join(servers, ","), "--spool", filepath.Join(dir, "spool"),
		"--generate", fmt.Sprint(cfg.events), "--seed", fmt.Sprint(cfg.seed), "--accounts", fmt.Sprint(cfg.accounts),
		"--start", cfg.start.Format(time.RFC3339), "--days", fmt.Sprint(cfg.days), "--rate", fmt.Sprint(cfg.rate)}
	bin := filepath.Join(binDir(t), "cairn-agent")
	log, err := os.Create(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	go a.supervise(bin, log)
	t.Cleanup(func() {
		a.mu.Lock()
		a.stopping = true
		if a.cmd != nil && a.cmd.Process != nil && !a.done {
			a.cmd.Process.Kill()
		}
		a.mu.Unlock()
		<-a.doneCh
		log.Close()
	})
	return a
}

var summaryRE = regexp.MustCompile(`stored (\d+) duplicate (\d+) `)

func (a *agent) supervise(bin string, log *os.File) {
	defer close(a.doneCh)
	for run := 1; ; run++ {
		cmd := exec.Command(bin, a.args...)
		cmd.Env = append(os.Environ(), "CAIRN_TOKEN=", "CAIRN_SERVER=")
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		cmd.Stderr = log
		fmt.Fprintf(log, "=== run %d: cairn-agent %s\n", run, strings.Join(a.args, " "))
		a.mu.Lock()
		if a.stopping {
			a.mu.Unlock()
			a.finish(fmt.Errorf("stopped after %d runs", run-1))
			return
		}
		a.cmd = cmd
		err := cmd.Start()
		a.mu.Unlock()
		if err != nil {
			a.finish(fmt.Errorf("cannot start cairn-agent: %w", err))
			return
		}
		cmd.Wait()
		r := agentRun{exit: cmd.ProcessState.ExitCode(), summary: strings.TrimSpace(stdout.String())}
		if m := summaryRE.FindStringSubmatch(r.summary); m != nil {
			r.stored, _ = strconv.ParseInt(m[1], 10, 64)
			r.duplicate, _ = strconv.ParseInt(m[2], 10, 64)
		}
		fmt.Fprintf(log, "=== run %d ended with exit status %d: %s\n", run, r.exit, r.summary)
		a.mu.Lock()
		a.runs = append(a.runs, r)
		a.mu.Unlock()
		switch {
		case r.exit == 0:
			a.finish(nil)
			return
		case r.exit != 1:
			a.finish(fmt.Errorf("cairn-agent exited with status %d: %s", r.exit, r.summary))
			return
		case run >= agentMaxRuns:
			a.finish(fmt.Errorf("cairn-agent failed %d runs in a row; the last: %s", run, r.summary))
			return
		}
		time.Sleep(time.Second)
	}
}

func (a *agent) finish(err error) {
	a.mu.Lock()
	a.done, a.err = true, err
	a.mu.Unlock()
}

// wait waits until the agent has finished (every event acknowledged) or
// failed, or timeout passes.
func (a *agent) wait(timeout time.Duration) error {
	select {
	case <-a.doneCh:
	case <-time.After(timeout):
		return fmt.Errorf("agent %s still running after %v", a.cfg.name, timeout)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// totals adds up the agent's runs: how many runs, and the events stored and
// duplicate.
func (a *agent) totals() (runs int, stored, duplicate int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.runs {
		stored += r.stored
		duplicate += r.duplicate
	}
	return len(a.runs), stored, duplicate
}

// logTail is the end of the agent's standard error.
func (a *agent) logTail() string {
	b, _ := os.ReadFile(a.logPath)
	return lastLines(string(b), 30)
}

// generatedIDs regenerates the agent's events in-process, with the same
// generator settings, and returns each eventID with its account.
func (cfg agentConfig) generatedIDs(t *testing.T) map[string]string {
	t.Helper()
	g := gen.New(gen.Config{Seed: cfg.seed, Accounts: cfg.accounts, Start: cfg.start, Days: cfg.days})
	ids := make(map[string]string, cfg.events)
	now := time.Now()
	var buf []byte
	for range cfg.events {
		buf = g.Next(buf[:0])
		ev, err := event.Parse(buf, now)
		if err != nil {
			t.Fatalf("a generated event does not parse: %v", err)
		}
		ids[ev.EventId] = ev.Account
	}
	if len(ids) != cfg.events {
		t.Fatalf("agent %s: %d generated events have %d distinct eventIDs", cfg.name, cfg.events, len(ids))
	}
	return ids
}
