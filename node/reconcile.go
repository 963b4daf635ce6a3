package node

import (
	"context"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// reconcileLoop makes this node's shard replicas follow the placement in the
// meta group: it starts replicas placed here, retires replicas moved away, and
// — on each shard it leads — brings the shard group's Raft membership and
// leadership in line with the placement, one change at a time.
func (n *Node) reconcileLoop() {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		n.reconcile()
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		case <-n.metaFSM.Changed():
		}
	}
}

func (n *Node) reconcile() {
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return
	}
	me := findNode(st, n.cfg.ID)
	removed := me != nil && me.Removed
	// 1. Start replicas placed on this node.
	for _, p := range st.Placement {
		if removed || !slices.Contains(p.Replicas, n.cfg.ID) || n.shard(p.Shard) != nil {
			continue
		}
		if err := n.startShard(st, p.Shard); err != nil {
			n.log.Error("cannot start shard replica", "shard", p.Shard, "err", err)
		}
	}
	// 2. Per local replica: lead it toward the placement, or retire it.
	local := n.localShards()
	for _, s := range local {
		if n.ctx.Err() != nil {
			return
		}
		p := shardPlacement(st, s.id)
		wanted := p != nil && !removed && slices.Contains(p.Replicas, n.cfg.ID)
		if s.group.isLeader() && p != nil {
			n.leadShard(st, s, p)
			continue
		}
		if !wanted {
			n.maybeRetire(s)
		}
	}
}

// startShard opens the local replica of shard id. It bootstraps the group
// only when this node is in the shard's initial placement; a replica placed
// later starts empty and waits for the leader to add it.
func (n *Node) startShard(st *cairnv1.MetaState, id uint32) error {
	var boot *raft.Configuration
	if initial := initialReplicas(st, id); slices.Contains(initial, n.cfg.ID) {
		boot = &raft.Configuration{}
		for _, r := range initial {
			info := findNode(st, r)
			if info == nil {
				return nil // not registered yet; next round
			}
			addr := info.RaftAddr
			if r == n.cfg.ID {
				addr = n.cfg.AdvertiseRaft
			}
			boot.Servers = append(boot.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(r), Address: raft.ServerAddress(addr)})
		}
	}
	s, err := n.openShard(id, boot)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.shards[id] = s
	n.mu.Unlock()
	n.log.Info("shard replica started", "shard", id, "bootstrap", boot != nil)
	return nil
}

// maybeRetire deletes a replica that is no longer placed here once the
// shard's leader has taken it out of the group's configuration.
func (n *Node) maybeRetire(s *shard) {
	conf, err := s.group.configuration()
	if err != nil {
		return
	}
	for _, srv := range conf.Servers {
		if string(srv.ID) == n.cfg.ID {
			return // still a member: the leader removes it first
		}
	}
	n.mu.Lock()
	delete(n.shards, s.id)
	n.mu.Unlock()
	if err := s.destroy(); err != nil {
		n.log.Error("cannot delete retired shard replica", "shard", s.id, "err", err)
		return
	}
	n.log.Info("shard replica retired", "shard", s.id)
}

// leadShard runs on a shard's leader: one membership change per round, then
// leadership toward the preferred replica.
func (n *Node) leadShard(st *cairnv1.MetaState, s *shard, p *cairnv1.ShardPlacement) {
	conf, err := s.group.configuration()
	if err != nil {
		return
	}
	members := map[string]raft.Server{}
	for _, srv := range conf.Servers {
		members[string(srv.ID)] = srv
	}
	r := s.group.raft
	// 1. Add wanted replicas as non-voters.
	for _, id := range p.Replicas {
		if _, ok := members[id]; ok {
			continue
		}
		info := findNode(st, id)
		if info == nil || info.RaftAddr == "" {
			continue
		}
		n.log.Info("adding shard replica as non-voter", "shard", s.id, "replica", id)
		if err := r.AddNonvoter(raft.ServerID(id), raft.ServerAddress(info.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			n.log.Warn("cannot add shard replica", "shard", s.id, "replica", id, "err", err)
		}
		return
	}
	// 2. Promote caught-up non-voters.
	for _, id := range p.Replicas {
		srv := members[id]
		if srv.Suffrage != raft.Nonvoter {
			continue
		}
		if !n.replicaCaughtUp(st, s, id) {
			continue
		}
		n.log.Info("promoting shard replica to voter", "shard", s.id, "replica", id)
		if err := r.AddVoter(srv.ID, srv.Address, 0, 10*time.Second).Error(); err != nil {
			n.log.Warn("cannot promote shard replica", "shard", s.id, "replica", id, "err", err)
		}
		return
	}
	// 3. Remove replicas placed elsewhere, once every wanted one votes.
	for _, id := range p.Replicas {
		if members[id].Suffrage != raft.Voter {
			return
		}
	}
	for id := range members {
		if slices.Contains(p.Replicas, id) {
			continue
		}
		if id == n.cfg.ID {
			n.transferLeadership(s, p.Replicas[0], members)
			return
		}
		n.log.Info("removing shard replica", "shard", s.id, "replica", id)
		if err := r.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
			n.log.Warn("cannot remove shard replica", "shard", s.id, "replica", id, "err", err)
		}
		return
	}
	// 4. Leadership to the preferred replica, so leaders spread over nodes.
	if pref := p.Replicas[0]; pref != n.cfg.ID && n.replicaCaughtUp(st, s, pref) {
		n.transferLeadership(s, pref, members)
	}
}

func (n *Node) transferLeadership(s *shard, to string, members map[string]raft.Server) {
	srv, ok := members[to]
	if !ok || srv.Suffrage != raft.Voter || time.Since(s.lastTransfer) < 10*time.Second {
		return
	}
	s.lastTransfer = time.Now()
	n.log.Info("transferring shard leadership", "shard", s.id, "to", to)
	if err := s.group.raft.LeadershipTransferToServer(srv.ID, srv.Address).Error(); err != nil {
		n.log.Warn("leadership transfer failed", "shard", s.id, "to", to, "err", err)
	}
}

// replicaCaughtUp asks the replica how far it has applied the shard's log.
func (n *Node) replicaCaughtUp(st *cairnv1.MetaState, s *shard, id string) bool {
	info := findNode(st, id)
	if info == nil || info.GrpcAddr == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	resp, err := n.peers.client(info.GrpcAddr).LocalStatus(ctx, &cairnv1.LocalStatusRequest{})
	if err != nil {
		return false
	}
	for _, ls := range resp.Shards {
		if ls.Id == s.id {
			return ls.AppliedIndex+64 >= s.group.raft.AppliedIndex()
		}
	}
	return false
}
