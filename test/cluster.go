// Package test holds Cairn's in-process cluster harness and its end-to-end,
// fault and benchmark tests. NewCluster starts real nodes — real Raft over
// loopback TCP, real Pebble in temporary directories, real gRPC — inside the
// test process; the process tests start the built binaries instead.
package test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Cluster is an in-process cluster of real nodes.
type Cluster struct {
	t       testing.TB
	dir     string
	shards  int
	rf      int
	tokens  bool   // ingest and admin calls require tokens
	admin   string // the initial admin token, with tokens
	tune    func(*node.Config)
	mu      sync.Mutex
	configs []node.Config
	nodes   []*node.Node // nil while a node is down
	conns   map[string]*grpc.ClientConn
}

// Option adjusts a cluster before it starts.
type Option func(*Cluster)

// WithShards sets the shard count (default 8).
func WithShards(n int) Option { return func(c *Cluster) { c.shards = n } }

// WithReplicas sets the replication factor (default 3).
func WithReplicas(n int) Option { return func(c *Cluster) { c.rf = n } }

// WithTokensRequired makes every node require an ingest token for ingest
// and an admin token for admin calls, as cairnd does by default; without it
// the nodes allow both anonymously. The cluster's first admin token is
// AdminToken.
func WithTokensRequired() Option {
	return func(c *Cluster) { c.tokens, c.admin = true, NewTokenString() }
}

// AdminToken is the initial admin token of a cluster WithTokensRequired.
func (c *Cluster) AdminToken() string { return c.admin }

// NewTokenString returns a fresh, unregistered token string, as cairnctl
// token new makes.
func NewTokenString() string {
	var b [8 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "cairn_" + hex.EncodeToString(b[:8]) + "_" + hex.EncodeToString(b[8:])
}

// WithConfig adjusts every node's configuration (Raft tuning, batching).
func WithConfig(f func(*node.Config)) Option { return func(c *Cluster) { c.tune = f } }

// NewCluster starts n nodes that bootstrap one cluster and waits until every
// node is ready. The nodes are closed when the test ends.
func NewCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, dir: t.TempDir(), shards: 8, rf: 3}
	for _, o := range opts {
		o(c)
	}
	var peers []node.Peer
	for i := range n {
		peers = append(peers, node.Peer{ID: nodeID(i), RaftAddr: FreeAddr(t)})
	}
	for i := range n {
		cfg := c.baseConfig(i, peers[i].RaftAddr)
		cfg.Bootstrap = peers
		c.configs = append(c.configs, cfg)
		c.nodes = append(c.nodes, nil)
	}
	for i := range n {
		c.start(i)
	}
	t.Cleanup(c.Close)
	c.WaitReady(60 * time.Second)
	return c
}

func nodeID(i int) string { return fmt.Sprintf("n%d", i+1) }

func (c *Cluster) baseConfig(i int, raftAddr string) node.Config {
	cfg := node.Config{
		ID:       nodeID(i),
		DataDir:  filepath.Join(c.dir, nodeID(i)),
		GRPCAddr: FreeAddr(c.t),
		RaftAddr: raftAddr,
		HTTPAddr: "",
		Shards:   c.shards,
		Replicas: c.rf,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("test_node", nodeID(i)),
		// Small: many nodes share one test process.
		CacheBytes:    32 << 20,
		MemTableBytes: 4 << 20,
		RaftLogLevel:  raftLogLevel(),
		// Tokens are tested on their own (tokens_test.go).
		AllowAnonymous:    !c.tokens,
		InitialAdminToken: c.admin,
	}
	if c.tune != nil {
		c.tune(&cfg)
	}
	return cfg
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a node to listen on.
//
// The port is below the kernel's range of ephemeral ports when it can be.
// Outgoing connections take their local ports from that range, so a port
// from it, found free and released for a node to bind, can be taken by any
// connection the tests open meanwhile ("address already in use"). A port is
// not handed out twice in one process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	freePorts.Lock()
	defer freePorts.Unlock()
	if low := ephemeralPortsStart(); low > minTestPort+1000 {
		for range 1000 {
			port := minTestPort + mrand.IntN(low-minTestPort)
			if freePorts.given[port] {
				continue
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				continue
			}
			l.Close()
			freePorts.given[port] = true
			return addr
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// minTestPort is the lowest port FreeAddr hands out below the ephemeral
// range.
const minTestPort = 10000

var freePorts = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// ephemeralPortsStart returns the first port of the kernel's ephemeral range,
// or 0 if it cannot tell.
func ephemeralPortsStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil {
		return 0
	}
	return low
}

func (c *Cluster) start(i int) {
	c.t.Helper()
	n, err := node.New(c.configs[i])
	if err != nil {
		c.t.Fatalf("cannot create node %s: %v", c.configs[i].ID, err)
	}
	if err := n.Start(); err != nil {
		c.t.Fatalf("cannot start node %s: %v", c.configs[i].ID, err)
	}
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
}

// Close stops every running node gracefully and closes the connections.
func (c *Cluster) Close() {
	c.mu.Lock()
	nodes := append([]*node.Node(nil), c.nodes...)
	for addr, conn := range c.conns {
		conn.Close()
		delete(c.conns, addr)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); n.Close() }()
	}
	wg.Wait()
}

// Len is the number of nodes, running or not.
func (c *Cluster) Len() int { return len(c.configs) }

// Node returns node i (nil while it is down).
func (c *Cluster) Node(i int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Index returns the position of the node with id.
func (c *Cluster) Index(id string) int {
	for i, cfg := range c.configs {
		if cfg.ID == id {
			return i
		}
	}
	c.t.Fatalf("no node %s", id)
	return -1
}

// Kill stops node i abruptly, as SIGKILL would: no leadership hand-over, no
// flush.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n != nil {
		n.Kill()
	}
}

// Stop stops node i gracefully.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n != nil {
		if err := n.Close(); err != nil {
			c.t.Errorf("closing %s: %v", c.configs[i].ID, err)
		}
	}
}

// Restart starts node i again from its data dir, with the same addresses.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.start(i)
}

// Join starts a new node that joins the cluster through node via, and
// returns its index.
func (c *Cluster) Join(via int) int {
	c.t.Helper()
	i := len(c.configs)
	cfg := c.baseConfig(i, FreeAddr(c.t))
	cfg.Join = c.Node(via).GRPCAddr()
	c.mu.Lock()
	c.configs = append(c.configs, cfg)
	c.nodes = append(c.nodes, nil)
	c.mu.Unlock()
	c.start(i)
	return i
}

// WaitReady waits until every running node reports ready.
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var notReady error
		for i := range c.configs {
			if n := c.Node(i); n != nil {
				if err := n.Ready(); err != nil {
					notReady = fmt.Errorf("%s: %w", c.configs[i].ID, err)
					break
				}
			}
		}
		if notReady == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster not ready after %v: %v", timeout, notReady)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Conn returns a gRPC connection to node i, one per node address, reused
// by later calls and closed when the cluster closes.
func (c *Cluster) Conn(i int) *grpc.ClientConn {
	c.t.Helper()
	addr := c.Node(i).GRPCAddr()
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[addr]; ok {
		return conn
	}
	conn, err := dial(addr)
	if err != nil {
		c.t.Fatalf("cannot connect to %s: %v", c.configs[i].ID, err)
	}
	if c.conns == nil {
		c.conns = map[string]*grpc.ClientConn{}
	}
	c.conns[addr] = conn
	return conn
}

// Status asks node i for the cluster status.
func (c *Cluster) Status(i int) *cairnv1.StatusResponse {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cairnv1.NewClusterServiceClient(c.Conn(i)).Status(ctx, &cairnv1.StatusRequest{})
	if err != nil {
		c.t.Fatalf("status from %s: %v", c.configs[i].ID, err)
	}
	return st
}

// Addrs maps the ids of the running nodes to their gRPC addresses.
func (c *Cluster) Addrs() map[string]string {
	out := map[string]string{}
	for i, cfg := range c.configs {
		if n := c.Node(i); n != nil {
			out[cfg.ID] = n.GRPCAddr()
		}
	}
	return out
}

// Converged waits until every shard's replicas agree (see Converged).
func (c *Cluster) Converged(timeout time.Duration) map[uint32][]ReplicaState {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	first := -1
	for i := range c.configs {
		if c.Node(i) != nil {
			first = i
			break
		}
	}
	out, err := Converged(ctx, c.Addrs(), func() (*cairnv1.StatusResponse, error) {
		return cairnv1.NewClusterServiceClient(c.Conn(first)).Status(ctx, &cairnv1.StatusRequest{})
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// raftLogLevel keeps hashicorp/raft quiet in tests unless CAIRN_TEST_RAFT_LOG
// names a level.
func raftLogLevel() string {
	if l := os.Getenv("CAIRN_TEST_RAFT_LOG"); l != "" {
		return l
	}
	return "off"
}
