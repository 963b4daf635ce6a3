package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// These tests run cairnctl against in-process ClusterService doubles: they
// check the command line (output shapes, exit codes, messages), not the
// cluster.

// fakeCluster is the state the doubles share: one entry per node.
type fakeCluster struct {
	mu     sync.Mutex
	nodes  []*fakeNode
	shards []*cairnv1.ShardStatus
	tokens []*cairnv1.TokenInfo // see token_test.go
	calls  int                  // token calls received
}

// fakeNode answers ShardDigest from its replicas map; calls counts digest
// calls per shard, and bump raises a lagging replica's applied index on every
// call until it reaches the leader's.
type fakeNode struct {
	cairnv1.UnimplementedClusterServiceServer
	c        *fakeCluster
	id, addr string
	replicas map[uint32]*cairnv1.ShardDigestResponse
	barriers map[uint32]int
	catchUp  map[uint32]uint64 // applied index this replica moves to after one call
}

func (n *fakeNode) Status(context.Context, *cairnv1.StatusRequest) (*cairnv1.StatusResponse, error) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	resp := &cairnv1.StatusResponse{MetaLeader: "n1", Shards: n.c.shards}
	for _, o := range n.c.nodes {
		resp.Nodes = append(resp.Nodes, &cairnv1.NodeStatus{
			Id: o.id, GrpcAddr: o.addr, RaftAddr: "127.0.0.1:75" + o.id[1:], HttpAddr: "127.0.0.1:76" + o.id[1:],
			State: "alive", MetaSuffrage: "voter",
		})
	}
	return resp, nil
}

func (n *fakeNode) ShardDigest(_ context.Context, req *cairnv1.ShardDigestRequest) (*cairnv1.ShardDigestResponse, error) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if req.GetBarrier() {
		n.barriers[req.GetShard()]++
	}
	d, ok := n.replicas[req.GetShard()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "node %s has no replica of shard %d", n.id, req.GetShard())
	}
	resp := &cairnv1.ShardDigestResponse{Shard: d.Shard, NodeId: n.id, AppliedIndex: d.AppliedIndex, Events: d.Events, Digest: d.Digest}
	if to, ok := n.catchUp[req.GetShard()]; ok {
		d.AppliedIndex = to
		delete(n.catchUp, req.GetShard())
	}
	return resp, nil
}

func (n *fakeNode) RemoveNode(_ context.Context, req *cairnv1.RemoveNodeRequest) (*cairnv1.RemoveNodeResponse, error) {
	if req.GetId() != "n3" {
		return nil, status.Errorf(codes.NotFound, "no node %q in the cluster", req.GetId())
	}
	return &cairnv1.RemoveNodeResponse{Moved: []uint32{1, 4}}, nil
}

// newFakeCluster starts three nodes, each holding a replica of both shards
// with the same content at applied index 12.
func newFakeCluster(t *testing.T) *fakeCluster {
	t.Helper()
	c := &fakeCluster{}
	for _, id := range []string{"n1", "n2", "n3"} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := &fakeNode{
			c: c, id: id, addr: lis.Addr().String(),
			replicas: map[uint32]*cairnv1.ShardDigestResponse{},
			barriers: map[uint32]int{},
			catchUp:  map[uint32]uint64{},
		}
		for shard := range uint32(2) {
			n.replicas[shard] = &cairnv1.ShardDigestResponse{Shard: shard, AppliedIndex: 12, Events: 500, Digest: []byte{0xab, 0xcd, byte(shard), 1, 2, 3, 4, 5}}
		}
		srv := grpc.NewServer()
		cairnv1.RegisterClusterServiceServer(srv, n)
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		c.nodes = append(c.nodes, n)
	}
	c.shards = []*cairnv1.ShardStatus{
		{Id: 1, Leader: "n2", Replicas: []string{"n2", "n3", "n1"}, AppliedIndex: 12, Events: 500, ReplicaApplied: map[string]uint64{"n1": 12, "n2": 12, "n3": 12}},
		{Id: 0, Leader: "n1", Replicas: []string{"n1", "n2", "n3"}, AppliedIndex: 12, Events: 500, ReplicaApplied: map[string]uint64{"n1": 12, "n2": 12, "n3": 11}},
	}
	return c
}

// runCtl runs cairnctl with args and returns its exit code, stdout, stderr.
func runCtl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestStatusJSON(t *testing.T) {
	c := newFakeCluster(t)
	code, out, errOut := runCtl(t, "--server", c.nodes[0].addr, "-o", "json", "status")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	// Re-encode in a fixed shape to compare keys and values exactly.
	var want = `{"meta_leader":"n1","nodes":[` +
		`{"grpc_addr":"` + c.nodes[0].addr + `","http_addr":"127.0.0.1:761","id":"n1","meta_suffrage":"voter","raft_addr":"127.0.0.1:751","state":"alive"},` +
		`{"grpc_addr":"` + c.nodes[1].addr + `","http_addr":"127.0.0.1:762","id":"n2","meta_suffrage":"voter","raft_addr":"127.0.0.1:752","state":"alive"},` +
		`{"grpc_addr":"` + c.nodes[2].addr + `","http_addr":"127.0.0.1:763","id":"n3","meta_suffrage":"voter","raft_addr":"127.0.0.1:753","state":"alive"}],` +
		`"shards":[` +
		`{"applied_index":12,"events":500,"id":0,"leader":"n1","replica_applied":{"n1":12,"n2":12,"n3":11},"replicas":["n1","n2","n3"]},` +
		`{"applied_index":12,"events":500,"id":1,"leader":"n2","replica_applied":{"n1":12,"n2":12,"n3":12},"replicas":["n2","n3","n1"]}]}`
	canon, _ := json.Marshal(got)
	if string(canon) != want {
		t.Fatalf("status JSON:\n got %s\nwant %s", canon, want)
	}
}

func TestStatusTable(t *testing.T) {
	c := newFakeCluster(t)
	code, out, errOut := runCtl(t, "--server", c.nodes[1].addr, "status")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"ID  GRPC", "STATE  META",
		"alive  voter (leader)",
		"SHARD  LEADER  REPLICAS  APPLIED  EVENTS",
		"0      n1      n1,n2,n3  12       500",
		"3 nodes, 2 shards, 1000 events; meta leader n1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestServerFailover(t *testing.T) {
	c := newFakeCluster(t)
	dead := deadAddr(t)
	code, out, errOut := runCtl(t, "--server", dead+","+c.nodes[2].addr, "-o", "json", "status")
	if code != 0 || !strings.Contains(out, `"meta_leader": "n1"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestUnreachable(t *testing.T) {
	dead := deadAddr(t)
	code, out, errOut := runCtl(t, "--server", dead, "status")
	want := "cairnctl: cannot reach any server (" + dead + "): connection refused; is cairnd running? set --server or CAIRN_SERVER\n"
	if code != 1 || out != "" || errOut != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1, stderr %q", code, out, errOut, want)
	}
	t.Setenv("CAIRN_SERVER", dead)
	if code, _, errOut := runCtl(t, "status"); code != 1 || errOut != want {
		t.Fatalf("with CAIRN_SERVER: exit %d, stderr %q", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"},
		{"status", "extra"},
		{"-o", "yaml", "status"},
		{"--timeout", "soon", "status"},
		{"node", "remove"},
		{"--server", " , ", "status"},
	} {
		code, _, errOut := runCtl(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "cairnctl: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and a message", args, code, errOut)
		}
	}
}

func TestNodeRemove(t *testing.T) {
	c := newFakeCluster(t)
	code, out, errOut := runCtl(t, "--server", c.nodes[0].addr, "node", "remove", "n3")
	if code != 0 || out != "removed node n3; re-placed its replicas of shards 1, 4\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCtl(t, "--server", c.nodes[0].addr, "node", "remove", "n9")
	if code != 1 || errOut != "cairnctl: remove node: no node \"n9\" in the cluster\n" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestVerifyMatchAfterCatchUp(t *testing.T) {
	c := newFakeCluster(t)
	// n3 is behind on shard 0 at first, and catches up after being asked once.
	c.nodes[2].replicas[0].AppliedIndex = 11
	c.nodes[2].catchUp[0] = 12
	code, out, errOut := runCtl(t, "--server", c.nodes[0].addr, "-o", "json", "verify")
	if code != 0 {
		t.Fatalf("exit %d, stdout %s, stderr %q", code, out, errOut)
	}
	var got verifyOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !got.OK || len(got.Shards) != 2 || got.Shards[0].ID != 1 || got.Shards[1].ID != 0 {
		t.Fatalf("report %+v", got)
	}
	if s := got.Shards[1]; s.Result != resultMatch || s.Attempts != 2 || s.AppliedIndex != 12 || s.Events != 500 {
		t.Fatalf("shard 0: %+v, want a match on the second attempt", s)
	}
	if s := got.Shards[0]; s.Result != resultMatch || s.Attempts != 1 || s.Replicas[0].Digest != "abcd010102030405" {
		t.Fatalf("shard 1: %+v, want a match on the first attempt", s)
	}
	if b0, b1 := c.nodes[0].barriers[0], c.nodes[1].barriers[1]; b0 != 2 || b1 != 1 {
		t.Fatalf("barriers on the leaders: shard 0 %d, shard 1 %d; want one per attempt", b0, b1)
	}
}

func TestVerifyMismatch(t *testing.T) {
	c := newFakeCluster(t)
	c.nodes[1].replicas[1].Digest = []byte{0xff, 0xee, 1, 2, 3, 4, 5, 6}
	c.nodes[1].replicas[1].Events = 499
	code, out, errOut := runCtl(t, "--server", c.nodes[0].addr, "verify")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout %s", code, out)
	}
	for _, want := range []string{
		"SHARD  REPLICAS  APPLIED  EVENTS  DIGEST        RESULT",
		"0      n1,n2,n3  12       500     abcd00010203  match",
		"1      n2,n3,n1  12       500     -             mismatch",
		"shard 1: replicas differ at applied index 12: n3,n1: 500 events, digest abcd01010203; n2: 499 events, digest ffee01020304",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if errOut != "cairnctl: verify failed: shard 1 mismatch\n" {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestVerifyLagging(t *testing.T) {
	c := newFakeCluster(t)
	c.nodes[2].replicas[1].AppliedIndex = 3 // never catches up
	code, out, _ := runCtl(t, "--server", c.nodes[0].addr, "-o", "json", "verify")
	var got verifyOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if code != 1 || got.OK || got.Shards[0].Result != resultLagging || got.Shards[0].Attempts != verifyAttempts {
		t.Fatalf("exit %d, report %+v", code, got)
	}
}

func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}
