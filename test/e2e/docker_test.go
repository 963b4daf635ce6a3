//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/test"
)

// labelKey marks every container, network and volume of a scenario, with the
// scenario's name as its value, so that a later run can remove what an
// aborted one left behind.
const labelKey = "org.cairn-lake.e2e"

// Ports inside a container, as in deploy/compose.yaml.
const (
	grpcPort = 7400
	raftPort = 7500
	httpPort = 7600
)

// docker runs the docker CLI and returns its standard output, trimmed. The
// error carries the command and what docker printed on standard error.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mustDocker runs docker with a 2-minute bound and fails the test on error.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// image is the node image: $CAIRN_IMAGE, else cairn:dev.
func image() string {
	if s := os.Getenv("CAIRN_IMAGE"); s != "" {
		return s
	}
	return "cairn:dev"
}

// dockerNode is one cairnd container. Its host ports are fixed when it is
// created, so that they stay the same across a restart and a network
// reconnect (Docker would assign new ones to ports published without a host
// port).
type dockerNode struct {
	id        string // n1, n2, n3
	container string
	volume    string
	grpc      string // 127.0.0.1:port, published to the container's 7400
	http      string // 127.0.0.1:port, published to the container's 7600
}

// cluster is a 3-node cluster in containers on its own network. Every
// container, the network and the volumes are removed when the test ends,
// after the nodes' logs were read (and kept, see saveLogs).
type cluster struct {
	t       *testing.T
	prefix  string
	network string
	nodes   []*dockerNode

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // by address
}

// startCluster creates the network, volumes and containers of a scenario and
// starts the three nodes with the same --bootstrap list, as
// deploy/compose.yaml does. It does not wait for the cluster to form.
func startCluster(t *testing.T, scenario string) *cluster {
	t.Helper()
	removeLeftovers(t, scenario)
	c := &cluster{t: t, prefix: "cairn-e2e-" + scenario + "-" + randomHex(3), conns: map[string]*grpc.ClientConn{}}
	c.network = c.prefix
	label := labelKey + "=" + scenario
	t.Cleanup(func() { c.remove(scenario) })
	mustDocker(t, "network", "create", "--label", label, c.network)
	var boot []string
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		n := &dockerNode{id: id, container: c.prefix + "-" + id, volume: c.prefix + "-" + id + "-data"}
		c.nodes = append(c.nodes, n)
		boot = append(boot, fmt.Sprintf("%s=%s:%d", id, n.container, raftPort))
	}
	for _, n := range c.nodes {
		mustDocker(t, "volume", "create", "--label", label, n.volume)
		c.create(n, label, strings.Join(boot, ","))
	}
	return c
}

// create creates and starts one node's container on free host ports; a port
// taken meanwhile by someone else makes it try again with others.
func (c *cluster) create(n *dockerNode, label, boot string) {
	c.t.Helper()
	var lastErr error
	for range 5 {
		n.grpc, n.http = test.FreeAddr(c.t), test.FreeAddr(c.t)
		args := []string{"run", "-d", "--name", n.container, "--label", label, "--network", c.network,
			"-p", n.grpc + ":" + fmt.Sprint(grpcPort), "-p", n.http + ":" + fmt.Sprint(httpPort),
			"-v", n.volume + ":/data", image(),
			"--id", n.id, "--advertise", n.container, "--data-dir", "/data",
			"--grpc-addr", fmt.Sprintf("0.0.0.0:%d", grpcPort), "--raft-addr", fmt.Sprintf("0.0.0.0:%d", raftPort),
			"--http-addr", fmt.Sprintf("0.0.0.0:%d", httpPort), "--bootstrap", boot, "--no-auth"}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := docker(ctx, args...)
		cancel()
		if err == nil {
			return
		}
		lastErr = err
		// The container may exist without having started; remove it.
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		docker(ctx, "rm", "-f", n.container)
		cancel()
		if !strings.Contains(err.Error(), "already allocated") && !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	c.t.Fatalf("cannot start %s: %v", n.id, lastErr)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// removeLeftovers removes the containers, networks and volumes that an
// aborted earlier run of the same scenario left behind.
func removeLeftovers(t *testing.T, scenario string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	filter := "label=" + labelKey + "=" + scenario
	if ids, _ := docker(ctx, "ps", "-aq", "--filter", filter); ids != "" {
		t.Logf("removing containers left by an earlier run: %s", strings.Join(strings.Fields(ids), " "))
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...); err != nil {
			t.Log(err)
		}
	}
	if nets, _ := docker(ctx, "network", "ls", "-q", "--filter", filter); nets != "" {
		if _, err := docker(ctx, append([]string{"network", "rm"}, strings.Fields(nets)...)...); err != nil {
			t.Log(err)
		}
	}
	if vols, _ := docker(ctx, "volume", "ls", "-q", "--filter", filter); vols != "" {
		if _, err := docker(ctx, append([]string{"volume", "rm", "-f"}, strings.Fields(vols)...)...); err != nil {
			t.Log(err)
		}
	}
}

// remove keeps the nodes' logs (see saveLogs) and then removes the
// containers, the network and the volumes, whatever state they are in.
func (c *cluster) remove(scenario string) {
	c.saveLogs()
	c.mu.Lock()
	for addr, conn := range c.conns {
		conn.Close()
		delete(c.conns, addr)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var names, vols []string
	for _, n := range c.nodes {
		names, vols = append(names, n.container), append(vols, n.volume)
	}
	if len(names) > 0 {
		docker(ctx, append([]string{"unpause"}, names...)...) // a paused container cannot be removed
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"}, names...)...); err != nil && !strings.Contains(err.Error(), "No such container") {
			c.t.Errorf("cannot remove the containers: %v", err)
		}
	}
	if _, err := docker(ctx, "network", "rm", c.network); err != nil && !strings.Contains(err.Error(), "not found") {
		c.t.Errorf("cannot remove the network: %v", err)
	}
	if len(vols) > 0 {
		if _, err := docker(ctx, append([]string{"volume", "rm", "-f"}, vols...)...); err != nil {
			c.t.Errorf("cannot remove the volumes: %v", err)
		}
	}
	removeLeftovers(c.t, scenario)
}

// panicLine matches the lines of a Go crash in a node's log.
var panicLine = regexp.MustCompile(`^(panic: |fatal error: |goroutine \d+ \[running\])`)

// saveLogs reads every node's log (all its runs: docker keeps the log of a
// container across restarts). A node that panicked fails the test, with the
// lines of the crash. The logs are kept in $E2E_LOG_DIR/<prefix>/ when it is
// set, else only when the test failed, in a fresh directory under the
// system's temporary directory; the test log names the directory and shows
// the end of each log when the test failed.
func (c *cluster) saveLogs() {
	logs := map[string]string{}
	for _, n := range c.nodes {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "docker", "logs", "-t", n.container)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil && len(out) == 0 {
			continue
		}
		logs[n.id] = string(out)
		var crash []string
		for _, line := range strings.Split(string(out), "\n") {
			// docker logs -t puts a timestamp first.
			_, rest, _ := strings.Cut(line, " ")
			if panicLine.MatchString(rest) || (len(crash) > 0 && len(crash) < 30) {
				crash = append(crash, line)
			}
		}
		if len(crash) > 0 {
			c.t.Errorf("%s crashed:\n%s", n.id, strings.Join(crash, "\n"))
		}
	}
	dir := os.Getenv("E2E_LOG_DIR")
	if dir != "" {
		dir = filepath.Join(dir, c.prefix)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			c.t.Errorf("cannot keep the logs: %v", err)
			return
		}
	} else if c.t.Failed() {
		var err error
		if dir, err = os.MkdirTemp("", c.prefix+"-logs-"); err != nil {
			c.t.Errorf("cannot keep the logs: %v", err)
			return
		}
	} else {
		return
	}
	for id, log := range logs {
		if err := os.WriteFile(filepath.Join(dir, id+".log"), []byte(log), 0o644); err != nil {
			c.t.Errorf("cannot keep the log of %s: %v", id, err)
		}
	}
	c.t.Logf("node logs kept in %s", dir)
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Logf("the end of %s's log:\n%s", n.id, lastLines(logs[n.id], 40))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// node returns the node with id.
func (c *cluster) node(id string) *dockerNode {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("no node %s", id)
	return nil
}

// addrs maps every node id to its published gRPC address.
func (c *cluster) addrs() map[string]string {
	m := map[string]string{}
	for _, n := range c.nodes {
		m[n.id] = n.grpc
	}
	return m
}

// conn returns a client connection to addr, shared and closed with the
// cluster. It reconnects within a second of a node coming back (gRPC's
// default backoff grows to two minutes).
func (c *cluster) conn(addr string) *grpc.ClientConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[addr]; ok {
		return conn
	}
	bo := backoff.DefaultConfig
	bo.MaxDelay = time.Second
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 2 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		panic(fmt.Sprintf("grpc.NewClient(%q): %v", addr, err)) // only for a malformed address
	}
	c.conns[addr] = conn
	return conn
}

// status asks the nodes in turn for the cluster status.
func (c *cluster) status(ctx context.Context) (*cairnv1.StatusResponse, error) {
	var lastErr error
	for _, n := range c.nodes {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := cairnv1.NewClusterServiceClient(c.conn(n.grpc)).Status(cctx, &cairnv1.StatusRequest{})
		cancel()
		if err == nil {
			return st, nil
		}
		lastErr = fmt.Errorf("%s: %w", n.id, err)
	}
	return nil, lastErr
}

// formed tells whether st shows every node alive and every shard with a
// leader and three replicas that all report an applied index; else why not.
func formed(st *cairnv1.StatusResponse) error {
	alive := 0
	for _, n := range st.Nodes {
		if n.State == "alive" {
			alive++
		}
	}
	if alive != 3 || len(st.Nodes) != 3 {
		return fmt.Errorf("%d of %d nodes alive, want 3", alive, len(st.Nodes))
	}
	if len(st.Shards) == 0 {
		return fmt.Errorf("no shards yet")
	}
	for _, s := range st.Shards {
		if s.Leader == "" {
			return fmt.Errorf("shard %d has no leader", s.Id)
		}
		if len(s.Replicas) != 3 || len(s.ReplicaApplied) != 3 {
			return fmt.Errorf("shard %d: %d replicas placed, %d reporting", s.Id, len(s.Replicas), len(s.ReplicaApplied))
		}
	}
	return nil
}

// waitFormed waits until the cluster is formed (see formed) and every node
// answers /readyz.
func (c *cluster) waitFormed(timeout time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var why error
	for ctx.Err() == nil {
		st, err := c.status(ctx)
		if err == nil {
			err = formed(st)
		}
		if err == nil {
			for _, n := range c.nodes {
				if err = c.ready(ctx, n); err != nil {
					break
				}
			}
		}
		if err == nil {
			return
		}
		why = err
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Fatalf("cluster not formed after %v: %v", timeout, why)
}

// ready asks a node's /readyz.
func (c *cluster) ready(ctx context.Context, n *dockerNode) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+n.http+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s /readyz: %w", n.id, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /readyz: %s", n.id, resp.Status)
	}
	return nil
}

// leaderCounts counts the shard leaderships of every node.
func leaderCounts(st *cairnv1.StatusResponse) map[string]int {
	m := map[string]int{}
	for _, s := range st.Shards {
		if s.Leader != "" {
			m[s.Leader]++
		}
	}
	return m
}

// mostLeaderships returns the node holding the most shard leaderships (the
// lowest id on a tie) and how many it holds.
func (c *cluster) mostLeaderships() (*dockerNode, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.status(ctx)
	if err != nil {
		c.t.Fatalf("status: %v", err)
	}
	counts := leaderCounts(st)
	best := c.nodes[0]
	for _, n := range c.nodes[1:] {
		if counts[n.id] > counts[best.id] {
			best = n
		}
	}
	return best, counts[best.id]
}

// Faults. Each is one docker command on one or more nodes.

func (c *cluster) kill(n *dockerNode) { mustDocker(c.t, "kill", "--signal", "KILL", n.container) }

func (c *cluster) start(nodes ...*dockerNode) {
	mustDocker(c.t, append([]string{"start"}, containers(nodes)...)...)
}

// stop stops nodes gracefully (SIGTERM, then SIGKILL after 30 s), all at once.
func (c *cluster) stop(nodes ...*dockerNode) {
	mustDocker(c.t, append([]string{"stop", "-t", "30"}, containers(nodes)...)...)
}

func (c *cluster) pause(n *dockerNode)   { mustDocker(c.t, "pause", n.container) }
func (c *cluster) unpause(n *dockerNode) { mustDocker(c.t, "unpause", n.container) }

func (c *cluster) disconnect(n *dockerNode) {
	mustDocker(c.t, "network", "disconnect", c.network, n.container)
}

func (c *cluster) connect(n *dockerNode) {
	mustDocker(c.t, "network", "connect", c.network, n.container)
}

func containers(nodes []*dockerNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.container)
	}
	return out
}

// verify runs `cairnctl -o json verify` inside n1's container, where the
// advertised addresses resolve, and returns its exit status and what it
// printed on standard output and standard error.
func (c *cluster) verify() (code int, stdout, stderr string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "exec", c.nodes[0].container, "/cairnctl", "-o", "json", "verify")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		c.t.Fatalf("docker exec cairnctl verify: %v: %s", err, errOut.String())
	}
	return code, out.String(), errOut.String()
}
