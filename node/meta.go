package node

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// proposeMeta commits one meta command; it must run on the meta leader.
func (n *Node) proposeMeta(t cairnv1.CommandType, payload proto.Message) error {
	if !n.meta.isLeader() {
		return n.meta.notLeader()
	}
	b, err := proto.Marshal(payload)
	if err != nil {
		return fmt.Errorf("cannot encode meta command: %w", err)
	}
	data, err := proto.Marshal(&cairnv1.Command{Type: t, Payload: b})
	if err != nil {
		return fmt.Errorf("cannot encode meta command: %w", err)
	}
	f := n.meta.raft.Apply(data, 10*time.Second)
	if err := f.Error(); err != nil {
		return fmt.Errorf("cannot commit meta command %v: %w", t, err)
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return err
	}
	return nil
}

func (n *Node) selfInfo() *cairnv1.NodeInfo {
	return &cairnv1.NodeInfo{
		Id:       n.cfg.ID,
		GrpcAddr: n.cfg.AdvertiseGRPC,
		RaftAddr: n.cfg.AdvertiseRaft,
		HttpAddr: n.cfg.AdvertiseHTTP,
		Features: nodeFeatures,
	}
}

// registered reports whether the registry entry me says all that self does.
func registered(me, self *cairnv1.NodeInfo) bool {
	return me != nil && me.GrpcAddr == self.GrpcAddr && me.HttpAddr == self.HttpAddr && me.RaftAddr == self.RaftAddr &&
		slices.Equal(me.Features, self.Features)
}

// metaLoop does what the meta leader owes the cluster — forming it, keeping
// the meta group's membership equal to the registry — and, on every node,
// keeps this node's registry entry current.
func (n *Node) metaLoop() {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastRegister := time.Time{}
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		if n.meta.isLeader() {
			if err := n.leadMeta(); err != nil {
				n.log.Warn("meta leader duty failed", "err", err)
			}
			continue
		}
		st := n.metaFSM.State()
		if st.Shards == 0 {
			continue
		}
		me := findNode(st, n.cfg.ID)
		if me != nil && me.Removed {
			continue
		}
		if !registered(me, n.selfInfo()) || time.Since(lastRegister) > 30*time.Second {
			ctx, cancel := context.WithTimeout(n.ctx, 3*time.Second)
			err := n.registerWithLeader(ctx)
			cancel()
			if err != nil {
				n.log.Debug("cannot register with meta leader yet", "err", err)
				continue
			}
			lastRegister = time.Now()
		}
	}
}

func (n *Node) registerWithLeader(ctx context.Context) error {
	conn, err := n.metaLeaderConn()
	if err != nil {
		return err
	}
	_, err = cairnv1.NewClusterServiceClient(conn).Register(ctx, &cairnv1.RegisterRequest{Node: n.selfInfo()})
	return err
}

// leadMeta runs on the meta leader.
func (n *Node) leadMeta() error {
	st := n.metaFSM.State()
	// 1. Form the cluster from the bootstrap list.
	if st.Shards == 0 {
		if len(n.cfg.Bootstrap) == 0 {
			return nil // a joining node never forms a cluster
		}
		init := &cairnv1.MetaInit{Shards: uint32(n.cfg.Shards), Replicas: uint32(n.cfg.Replicas)}
		var ids []string
		for _, p := range n.cfg.Bootstrap {
			init.Nodes = append(init.Nodes, &cairnv1.NodeInfo{Id: p.ID, RaftAddr: p.RaftAddr})
			ids = append(ids, p.ID)
		}
		init.Placement = initialPlacement(ids, n.cfg.Shards, n.cfg.Replicas)
		if tok := n.cfg.InitialAdminToken; tok != "" {
			id, _ := parseToken(tok) // checked by Config.validate
			hash := hashToken(tok)
			init.AdminToken = &cairnv1.IngestToken{Id: id, Hash: hash[:], Admin: true, CreatedAtUnixNano: time.Now().UnixNano(),
				Description: "initial admin token (cairnd --initial-admin-token)"}
		}
		n.log.Info("forming cluster", "nodes", ids, "shards", n.cfg.Shards, "replicas", n.cfg.Replicas)
		return n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_INIT, init)
	}
	// 2. Our own registry entry.
	me := findNode(st, n.cfg.ID)
	self := n.selfInfo()
	if !registered(me, self) {
		if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_REGISTER_NODE, self); err != nil {
			return err
		}
	}
	// 3. Meta membership follows the registry: one change per round.
	return n.reconcileMetaMembership(st)
}

func (n *Node) reconcileMetaMembership(st *cairnv1.MetaState) error {
	conf, err := n.meta.configuration()
	if err != nil {
		return err
	}
	inConf := map[string]raft.Server{}
	for _, s := range conf.Servers {
		inConf[string(s.ID)] = s
	}
	for _, node := range st.Nodes {
		s, ok := inConf[node.Id]
		switch {
		case node.Removed && ok:
			n.log.Info("removing node from meta group", "id", node.Id)
			return n.meta.raft.RemoveServer(raft.ServerID(node.Id), 0, 10*time.Second).Error()
		case node.Removed:
		case !ok && node.RaftAddr != "":
			n.log.Info("adding node to meta group as non-voter", "id", node.Id)
			return n.meta.raft.AddNonvoter(raft.ServerID(node.Id), raft.ServerAddress(node.RaftAddr), 0, 10*time.Second).Error()
		case ok && s.Suffrage == raft.Nonvoter:
			if n.metaCaughtUp(node) {
				n.log.Info("promoting node to meta voter", "id", node.Id)
				return n.meta.raft.AddVoter(raft.ServerID(node.Id), s.Address, 0, 10*time.Second).Error()
			}
		}
	}
	return nil
}

// metaCaughtUp asks a node how far it has applied the meta log.
func (n *Node) metaCaughtUp(node *cairnv1.NodeInfo) bool {
	if node.GrpcAddr == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	resp, err := n.peers.client(node.GrpcAddr).LocalStatus(ctx, &cairnv1.LocalStatusRequest{})
	if err != nil {
		return false
	}
	return resp.MetaAppliedIndex+16 >= n.meta.raft.AppliedIndex()
}

// onMetaLeader runs local when this node leads the meta group, else remote
// over a connection to the leader, with the caller's credentials and
// address passed on (forwardAuth) in the context it gets. While there is no
// reachable leader
// (an election after the leader died, a leader that just lost leadership)
// it retries for up to 15 seconds, so an admin call made right after a
// failure does not fail for a reason that fixes itself.
func (n *Node) onMetaLeader(ctx context.Context, local func() error, remote func(ctx context.Context, conn *grpc.ClientConn) error) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		var err error
		if n.meta.isLeader() {
			err = local()
		} else {
			var conn *grpc.ClientConn
			if conn, err = n.metaLeaderConn(); err == nil {
				err = remote(forwardAuth(ctx), conn)
			}
		}
		if err == nil || !metaRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no reachable meta leader: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// metaRead runs read on the meta leader once it has applied everything
// committed to the meta log before the call (a barrier), and otherwise
// forwards the call there through remote. A node's own meta state may lag:
// after a restart it replays the log only as the new leader commits.
func (n *Node) metaRead(ctx context.Context, read func() error, remote func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return n.onMetaLeader(ctx, func() error {
		if err := n.meta.raft.Barrier(readWait).Error(); err != nil {
			return err
		}
		return read()
	}, remote)
}

// metaRetryable tells the failures that a new meta leader resolves.
func metaRetryable(err error) bool {
	if errors.Is(err, ErrNoLeader) || errors.Is(err, ErrNotLeader) ||
		errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
		return true
	}
	if st, ok := status.FromError(err); ok {
		// FailedPrecondition is a follower's "not the leader", or a
		// refusal, which no other leader would change.
		return st.Code() == codes.Unavailable ||
			(st.Code() == codes.FailedPrecondition && !strings.HasPrefix(st.Message(), ErrDestructive.Error()))
	}
	return false
}

// metaLeaderConn returns the connection to the meta leader.
func (n *Node) metaLeaderConn() (*grpc.ClientConn, error) {
	leader := n.meta.leader()
	if leader == "" {
		return nil, fmt.Errorf("meta group: %w", ErrNoLeader)
	}
	conn, err := n.nodeConn(leader)
	if err != nil {
		return nil, fmt.Errorf("meta leader %s not reachable yet (%v): %w", leader, err, ErrNoLeader)
	}
	return conn, nil
}

// nodeConn returns the connection to a registered node.
func (n *Node) nodeConn(id string) (*grpc.ClientConn, error) {
	var addr string
	n.metaFSM.view(func(st *cairnv1.MetaState) {
		if info := findNode(st, id); info != nil {
			addr = info.GrpcAddr
		}
	})
	if addr == "" {
		return nil, fmt.Errorf("node %s: address not known yet: %w", id, ErrUnknownNode)
	}
	return n.peers.conn(addr), nil
}

// joinLoop asks the cluster at --join to admit this node, retrying until it
// has or the node stops.
func (n *Node) joinLoop() {
	backoff := 200 * time.Millisecond
	for {
		if st := n.metaFSM.State(); st.Shards != 0 && findNode(st, n.cfg.ID) != nil {
			return // already a member (restart, or the join went through)
		}
		ctx, cancel := context.WithTimeout(n.ctx, 15*time.Second)
		self := n.selfInfo()
		_, err := n.peers.client(n.cfg.Join).Join(ctx, &cairnv1.JoinRequest{
			Id: self.Id, GrpcAddr: self.GrpcAddr, RaftAddr: self.RaftAddr, HttpAddr: self.HttpAddr,
		})
		cancel()
		if err == nil {
			n.log.Info("joined cluster", "via", n.cfg.Join)
			return
		}
		n.log.Warn("cannot join cluster yet; retrying", "via", n.cfg.Join, "err", err)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// join runs on the meta leader: register the node, add it to the meta group
// as a non-voter (the meta loop promotes it once caught up) and place shard
// replicas on it.
func (n *Node) join(req *cairnv1.JoinRequest) (*cairnv1.MetaState, error) {
	if req.Id == "" || req.RaftAddr == "" || req.GrpcAddr == "" {
		return nil, fmt.Errorf("join needs id, raft_addr and grpc_addr")
	}
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return nil, ErrNotInitialized
	}
	if old := findNode(st, req.Id); old != nil && old.Removed {
		return nil, fmt.Errorf("node id %s was removed from the cluster; join with a new id and an empty data dir", req.Id)
	}
	info := &cairnv1.NodeInfo{Id: req.Id, GrpcAddr: req.GrpcAddr, RaftAddr: req.RaftAddr, HttpAddr: req.HttpAddr}
	if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_REGISTER_NODE, info); err != nil {
		return nil, err
	}
	conf, err := n.meta.configuration()
	if err != nil {
		return nil, err
	}
	inConf := false
	for _, s := range conf.Servers {
		inConf = inConf || string(s.ID) == req.Id
	}
	if !inConf {
		if err := n.meta.raft.AddNonvoter(raft.ServerID(req.Id), raft.ServerAddress(req.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			return nil, fmt.Errorf("cannot add %s to the meta group: %w", req.Id, err)
		}
	}
	st = n.metaFSM.State()
	if changed := rebalance(st.Placement, activeNodes(st), int(st.Replicas)); len(changed) > 0 {
		if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_SET_PLACEMENT, &cairnv1.MetaPlacement{Placement: changed}); err != nil {
			return nil, err
		}
		n.log.Info("placed shard replicas on joining node", "id", req.Id, "changed_shards", len(changed))
	}
	return n.metaFSM.State(), nil
}

// removeNode runs on the meta leader: mark the node removed and re-place its
// replicas on the remaining nodes.
func (n *Node) removeNode(id string) ([]uint32, error) {
	st := n.metaFSM.State()
	node := findNode(st, id)
	if node == nil {
		return nil, fmt.Errorf("node %s: %w", id, ErrUnknownNode)
	}
	if node.Removed {
		return nil, nil
	}
	var active []string
	for _, a := range activeNodes(st) {
		if a != id {
			active = append(active, a)
		}
	}
	if len(active) == 0 {
		return nil, fmt.Errorf("cannot remove %s: it is the last node", id)
	}
	changed := rebalance(st.Placement, active, int(st.Replicas))
	var moved []uint32
	for _, p := range changed {
		if old := shardPlacement(st, p.Shard); old != nil && slices.Contains(old.Replicas, id) {
			moved = append(moved, p.Shard)
		}
	}
	if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_REMOVE_NODE, &cairnv1.MetaRemoveNode{Id: id, Placement: changed}); err != nil {
		return nil, err
	}
	n.log.Info("removed node", "id", id, "moved_shards", moved)
	return moved, nil
}
