package node

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/cairn-lake/cairn/node/raftlog"
)

// Group ids on the shared Raft listener: the meta group is 0, shard i is i+1.
const metaGroupID uint32 = 0

func shardGroupID(shard uint32) uint32 { return shard + 1 }

// raftGroup is what every Raft group of a node shares: the raft instance, its
// log and its transport. Close shuts them down in order.
type raftGroup struct {
	name string
	raft *raft.Raft
	logs *wal.WAL
	// logMeta is the WAL's metadata store; WAL.Close leaves it open, so the
	// group closes it (otherwise its file lock outlives the group).
	logMeta *metadb.BoltMetaDB
	trans   *raft.NetworkTransport
}

type raftGroupSpec struct {
	name      string
	dir       string // holds raft/ (log and stable store)
	fsm       raft.FSM
	snaps     raft.SnapshotStore
	trans     *raft.NetworkTransport
	bootstrap *raft.Configuration // applied only when the group has no state
	// restoreOnStart: meta restores its in-memory state from the snapshot;
	// shards keep their state in Pebble and must not.
	restoreOnStart bool
}

func (n *Node) raftConfig(name string) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.cfg.ID)
	c.SnapshotInterval = n.cfg.SnapshotInterval
	c.SnapshotThreshold = n.cfg.SnapshotThreshold
	c.TrailingLogs = n.cfg.TrailingLogs
	c.MaxAppendEntries = 64
	c.BatchApplyCh = true
	c.Logger = hclog.New(&hclog.LoggerOptions{
		Name:   "raft." + name,
		Level:  hclog.LevelFromString(n.cfg.RaftLogLevel),
		Output: os.Stderr,
	})
	return c
}

func (n *Node) startRaftGroup(spec raftGroupSpec) (*raftGroup, error) {
	logDir := filepath.Join(spec.dir, "raft")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create raft log dir: %w", err)
	}
	logMeta := &metadb.BoltMetaDB{}
	logs, err := raftlog.Open(logDir, logMeta, n.cfg.RaftSegmentBytes)
	if err != nil {
		logMeta.Close()
		return nil, fmt.Errorf("cannot open raft log of %s: %w", spec.name, err)
	}
	closeLogs := func() {
		logs.Close()
		logMeta.Close()
	}
	conf := n.raftConfig(spec.name)
	conf.NoSnapshotRestoreOnStart = !spec.restoreOnStart
	if spec.bootstrap != nil {
		has, err := raft.HasExistingState(logs, logs, spec.snaps)
		if err != nil {
			closeLogs()
			return nil, fmt.Errorf("cannot inspect raft state of %s: %w", spec.name, err)
		}
		if !has {
			if err := raft.BootstrapCluster(conf, logs, logs, spec.snaps, spec.trans, *spec.bootstrap); err != nil {
				closeLogs()
				return nil, fmt.Errorf("cannot bootstrap %s: %w", spec.name, err)
			}
		}
	}
	timed := timedLog{WAL: logs, append: n.metrics.logAppend.WithLabelValues(spec.name)}
	r, err := raft.NewRaft(conf, spec.fsm, timed, logs, spec.snaps, spec.trans)
	if err != nil {
		closeLogs()
		return nil, fmt.Errorf("cannot start raft for %s: %w", spec.name, err)
	}
	return &raftGroup{name: spec.name, raft: r, logs: logs, logMeta: logMeta, trans: spec.trans}, nil
}

// close shuts the group down; the FSM is closed by the caller afterwards.
func (g *raftGroup) close() error {
	err := g.raft.Shutdown().Error()
	if cerr := g.trans.Close(); err == nil {
		err = cerr
	}
	if cerr := g.logs.Close(); err == nil {
		err = cerr
	}
	if cerr := g.logMeta.Close(); err == nil {
		err = cerr
	}
	return err
}

// leader returns the id of the group's leader as this replica knows it.
func (g *raftGroup) leader() string {
	_, id := g.raft.LeaderWithID()
	return string(id)
}

func (g *raftGroup) isLeader() bool { return g.raft.State() == raft.Leader }

// notLeader builds the error for a call that needs the leader.
func (g *raftGroup) notLeader() error {
	return &notLeaderError{group: g.name, leader: g.leader()}
}

// configuration returns the group's latest Raft configuration.
func (g *raftGroup) configuration() (raft.Configuration, error) {
	f := g.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, err
	}
	return f.Configuration(), nil
}
