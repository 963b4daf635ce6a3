//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
)

// The load of every scenario: two agents at agentRate events per second each,
// for as long as the scenario's faults last plus the warm-up, and the probe.
const (
	agentRate     = 400
	agentAccounts = 12
	warmup        = 8 * time.Second
	// agentsTimeout bounds the wait for the agents once the faults are over.
	agentsTimeout = 3 * time.Minute
)

// TestMain checks that Docker answers and the image exists before any
// scenario starts a cluster.
func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		fmt.Fprintf(os.Stderr, "the fault tests need a Docker engine: %v\n", err)
		os.Exit(1)
	}
	if _, err := docker(ctx, "image", "inspect", image()); err != nil {
		fmt.Fprintf(os.Stderr, "no image %s: build it with make docker (or set CAIRN_IMAGE): %v\n", image(), err)
		os.Exit(1)
	}
	cancel()
	os.Exit(m.Run())
}

// scenario is one fault test in progress: a cluster, the load on it and the
// faults injected so far. Only the test's goroutine injects faults; the
// queries read down.
type scenario struct {
	t      *testing.T
	c      *cluster
	p      *probe
	began  time.Time
	faults []*fault
	mu     sync.Mutex
	down   map[string]bool // nodes the queries leave alone
}

// fault is an injected fault. Its report gives the time from at to the
// next write acknowledged by every shard (the next probe batch sent after
// at), and the longest time without an acknowledged write that overlaps the
// fault, from begin to end.
type fault struct {
	what      string
	begin, at time.Time
	end       time.Time // zero until over is called
}

// over marks the fault as over.
func (f *fault) over() { f.end = time.Now() }

// timeFrom moves the moment the next write is timed from to now.
func (f *fault) timeFrom() { f.at = time.Now() }

// step logs a step with the time since the scenario began.
func (s *scenario) step(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("%6.1fs %s", time.Since(s.began).Seconds(), fmt.Sprintf(format, args...))
}

// inject records a fault that begins now and logs it.
func (s *scenario) inject(format string, args ...any) *fault {
	s.t.Helper()
	now := time.Now()
	f := &fault{what: fmt.Sprintf(format, args...), begin: now, at: now}
	s.faults = append(s.faults, f)
	s.step("fault: %s", f.what)
	return f
}

func (s *scenario) setDown(down bool, nodes ...*dockerNode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range nodes {
		s.down[n.id] = down
	}
}

// live returns the nodes no fault is applied to.
func (s *scenario) live() []*dockerNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*dockerNode
	for _, n := range s.c.nodes {
		if !s.down[n.id] {
			out = append(out, n)
		}
	}
	return out
}

// waitReady waits until n answers /readyz.
func (s *scenario) waitReady(n *dockerNode, timeout time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	for ctx.Err() == nil {
		if err = s.c.ready(ctx, n); err == nil {
			s.step("%s ready", n.id)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("%s not ready after %v: %v", n.id, timeout, err)
}

// waitCaughtUp waits until the cluster is formed and every replica on n is
// within maxLag entries of its shard's leader.
func (s *scenario) waitCaughtUp(n *dockerNode, maxLag uint64, timeout time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var why error
	for ctx.Err() == nil {
		st, err := s.c.status(ctx)
		if err == nil {
			err = formed(st)
		}
		if err == nil {
			for _, sh := range st.Shards {
				if applied := sh.ReplicaApplied[n.id]; applied+maxLag < sh.AppliedIndex {
					err = fmt.Errorf("shard %d: %s applied %d, the leader %d", sh.Id, n.id, applied, sh.AppliedIndex)
					break
				}
			}
		}
		if err == nil {
			s.step("%s caught up", n.id)
			return
		}
		why = err
		time.Sleep(250 * time.Millisecond)
	}
	s.t.Fatalf("%s did not catch up within %v: %v", n.id, timeout, why)
}

// sleep waits d, logging why.
func (s *scenario) sleep(d time.Duration, why string) {
	s.t.Helper()
	s.step("%s: %v", why, d.Round(100*time.Millisecond))
	time.Sleep(d)
}

// runScenario starts a cluster, starts the load (two agents, the probe, the
// queries), lets it run for the warm-up, calls faults, waits for the cluster
// to be whole again and the agents to finish, and then checks and reports:
// every acknowledged event stored exactly once on every replica of its
// shard, the replicas equal, every query answered in full or refused
// clearly. load is how long the agents' events last at agentRate, warm-up
// included; make it about as long as the faults.
func runScenario(t *testing.T, name string, load time.Duration, faults func(s *scenario)) {
	s := &scenario{t: t, began: time.Now(), down: map[string]bool{}}
	reported := false
	t.Cleanup(func() {
		if !reported {
			writeReport(t, fmt.Sprintf("%-9s did not finish; see the test log", name))
		}
	})
	s.c = startCluster(t, name)
	s.step("started %s", s.c.prefix)
	s.c.waitFormed(2 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	st, err := s.c.status(ctx)
	cancel()
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	s.step("cluster formed: %d shards, leaderships %v", len(st.Shards), leaderCounts(st))

	// 1. Load: the probe and the queries in the test process, the agents on
	// the host.
	s.p = newProbe(s.c, len(st.Shards))
	q := newQuerier(s.c, s.p, s.live)
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.p.runLoop(loadCtx) })
	wg.Go(func() { q.runLoop(loadCtx) })
	stop := func() { stopLoad(); wg.Wait() }
	t.Cleanup(stop)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	events := int(load.Seconds()) * agentRate
	var agents []*agent
	for i, seed := range []int64{1001, 2002} {
		agents = append(agents, startAgent(t, s.c, agentConfig{name: fmt.Sprintf("a%d", i+1), events: events,
			seed: seed, accounts: agentAccounts, start: start, days: 2, rate: agentRate}))
	}
	s.step("load: 2 agents × %d events at %d/s, probe every %v, a query every %v", events, agentRate, probeInterval, queryInterval)
	s.sleep(warmup, "warm-up")

	// 2. Faults.
	faults(s)
	s.setDown(false, s.c.nodes...)
	s.c.waitFormed(3 * time.Minute)
	s.step("faults over; cluster formed")

	// 3. The agents finish: every event acknowledged.
	deadline := time.Now().Add(agentsTimeout)
	for _, a := range agents {
		if err := a.wait(time.Until(deadline)); err != nil {
			t.Errorf("agent %s: %v\n%s", a.cfg.name, err, a.logTail())
		}
	}
	s.step("agents done")
	// The cluster still takes writes after the load: the probe's next batch
	// is acknowledged.
	if err := s.p.waitAckAfter(time.Now(), 30*time.Second); err != nil {
		t.Error(err)
	}
	stop()

	// 4. Checks and the summary.
	s.check(name, q, agents)
	reported = true
}

func joinLines(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}

// The five scenarios.

// TestFaultKillLeader kills the node holding the most shard leaderships
// (SIGKILL) and starts it again 10–30 s later.
func TestFaultKillLeader(t *testing.T) {
	runScenario(t, "kill", 50*time.Second, func(s *scenario) {
		s.faultOnBusiestNode("SIGKILL", 10*time.Second+rand.N(20*time.Second), "down", "docker start",
			s.c.kill, func(n *dockerNode) { s.c.start(n) })
	})
}

// TestFaultPartition disconnects the node holding the most shard
// leaderships from the cluster's network for 30 s.
func TestFaultPartition(t *testing.T) {
	runScenario(t, "partition", 50*time.Second, func(s *scenario) {
		s.faultOnBusiestNode("partition", 30*time.Second, "partitioned", "heal: docker network connect",
			s.c.disconnect, s.c.connect)
	})
}

// TestFaultPause freezes the node holding the most shard leaderships for
// 20 s (docker pause: no signal, its connections stay open).
func TestFaultPause(t *testing.T) {
	runScenario(t, "pause", 40*time.Second, func(s *scenario) {
		s.faultOnBusiestNode("pause", 20*time.Second, "paused", "docker unpause",
			s.c.pause, s.c.unpause)
	})
}

// faultOnBusiestNode injects a fault into the node holding the most shard
// leaderships (inject), keeps it for d, lifts it (lift) and waits until the
// node is ready again. The next write is timed from the injection.
func (s *scenario) faultOnBusiestNode(what string, d time.Duration, during, lifting string, inject, lift func(*dockerNode)) {
	victim, leads := s.c.mostLeaderships()
	s.setDown(true, victim)
	f := s.inject("%s %s (leader of %d shards)", what, victim.id, leads)
	inject(victim)
	f.timeFrom() // in effect now
	s.sleep(d, during)
	s.step("%s %s", lifting, victim.id)
	lift(victim)
	s.waitReady(victim, 2*time.Minute)
	s.setDown(false, victim)
	f.over()
}

// TestFaultFullStop stops every node at once (SIGTERM, as docker stop sends)
// and starts them again 5 s after the last one stopped.
func TestFaultFullStop(t *testing.T) {
	runScenario(t, "fullstop", 40*time.Second, func(s *scenario) {
		s.setDown(true, s.c.nodes...)
		f := s.inject("stop all nodes")
		s.c.stop(s.c.nodes...)
		f.timeFrom() // the next write is timed from the moment all are down
		s.step("all stopped (docker stop took %v)", f.at.Sub(f.begin).Round(100*time.Millisecond))
		s.sleep(5*time.Second, "down")
		s.step("docker start all nodes")
		s.c.start(s.c.nodes...)
		for _, n := range s.c.nodes {
			s.waitReady(n, 2*time.Minute)
		}
		s.setDown(false, s.c.nodes...)
		f.over()
	})
}

// TestFaultRollingRestart restarts the nodes one at a time (docker stop,
// docker start), each once the previous one has caught up, while the load
// and the queries go on.
func TestFaultRollingRestart(t *testing.T) {
	runScenario(t, "rolling", 60*time.Second, func(s *scenario) {
		for _, n := range s.c.nodes {
			s.setDown(true, n)
			f := s.inject("restart %s", n.id)
			s.c.stop(n)
			s.step("%s stopped", n.id)
			s.c.start(n)
			s.waitReady(n, 2*time.Minute)
			s.waitCaughtUp(n, 100, 2*time.Minute)
			s.setDown(false, n)
			f.over()
			s.sleep(2*time.Second, "steady")
		}
	})
}
