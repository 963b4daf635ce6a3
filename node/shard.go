package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cairn-lake/cairn/node/snapstore"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// maxInflightEntries bounds the Raft entries a shard leader has proposed and
// not yet seen applied; further writes wait (backpressure).
const maxInflightEntries = 16

// shard is this node's replica of one shard group. On the leader, writes
// queue in proposals; one goroutine packs them into Raft entries.
type shard struct {
	id    uint32
	dir   string
	group *raftGroup
	fsm   *shardFSM
	n     *Node

	proposals chan *proposal
	inflight  chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup

	// lastTransfer rate-limits leadership transfers (reconciler only).
	lastTransfer time.Time

	// readTerm is the Raft term in which this replica, as leader, last
	// passed a full barrier (see readIndex).
	readMu   sync.Mutex
	readTerm uint64
}

// proposal is one caller's events waiting to be committed.
type proposal struct {
	events []*cairnv1.Event
	size   int
	done   chan proposalResult // buffered, receives exactly once
}

type proposalResult struct {
	statuses []cairnv1.EventStatus
	err      error
}

func (n *Node) shardDir(id uint32) string {
	return filepath.Join(n.cfg.DataDir, "shards", strconv.Itoa(int(id)))
}

// openShard starts this node's replica of shard id. bootstrap, when set, is
// the group's initial configuration, used only if the replica has no state.
func (n *Node) openShard(id uint32, bootstrap *raft.Configuration) (*shard, error) {
	dir := n.shardDir(id)
	fsm, err := openShardFSM(id, filepath.Join(dir, "db"), n.storageOptions())
	if err != nil {
		return nil, err
	}
	fsm.cutDeleted = n.metrics.cutEvents
	snaps, err := snapstore.New(filepath.Join(dir, "snapshots"), fsm.checkpoint, n.log.With("shard", id))
	if err != nil {
		fsm.close()
		return nil, fmt.Errorf("cannot open shard %d snapshots: %w", id, err)
	}
	// A snapshot received from a leader but not restored before a crash is
	// restored now: raft counts its index as applied.
	db, release := fsm.DB()
	applied := db.AppliedIndex()
	release()
	if _, rc, err := snaps.PendingRestore(applied); err != nil {
		fsm.close()
		return nil, fmt.Errorf("shard %d replica cannot start: %w; remove %s and restart so the replica is rebuilt from its peers", id, err, dir)
	} else if rc != nil {
		n.log.Info("restoring snapshot received before a restart", "shard", id)
		if err := fsm.Restore(rc); err != nil {
			fsm.close()
			return nil, fmt.Errorf("cannot restore pending snapshot of shard %d: %w", id, err)
		}
	}
	trans, err := n.mux.Transport(shardGroupID(id), 10*time.Second)
	if err != nil {
		fsm.close()
		return nil, fmt.Errorf("cannot open shard %d transport: %w", id, err)
	}
	name := fmt.Sprintf("shard-%d", id)
	g, err := n.startRaftGroup(raftGroupSpec{
		name: name, dir: dir, fsm: fsm, snaps: snaps, trans: trans, bootstrap: bootstrap,
	})
	if err != nil {
		trans.Close()
		fsm.close()
		return nil, err
	}
	s := &shard{
		id: id, dir: dir, group: g, fsm: fsm, n: n,
		proposals: make(chan *proposal, 256),
		inflight:  make(chan struct{}, maxInflightEntries),
		stop:      make(chan struct{}),
	}
	s.wg.Add(1)
	go s.batchLoop()
	return s, nil
}

// close stops the replica: no new proposals, raft shut down, DB closed.
// Waiting proposals fail with ErrShuttingDown.
func (s *shard) close() error {
	close(s.stop)
	s.wg.Wait()
	err := s.group.close()
	if ferr := s.fsm.close(); err == nil {
		err = ferr
	}
	return err
}

// destroy closes the replica and deletes its data: the shard was moved away.
func (s *shard) destroy() error {
	err := s.close()
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	return err
}

// write commits events through Raft and returns one status per event. It
// must be called on the leader; otherwise it fails with ErrNotLeader naming
// the leader. An error other than ErrNotLeader is ambiguous: the events may
// have been committed, and a retry will report them as duplicates.
func (s *shard) write(ctx context.Context, events []*cairnv1.Event) ([]cairnv1.EventStatus, error) {
	if !s.group.isLeader() {
		return nil, s.group.notLeader()
	}
	p := &proposal{events: events, done: make(chan proposalResult, 1)}
	for _, e := range events {
		p.size += len(e.Raw) + 128
	}
	select {
	case s.proposals <- p:
	case <-s.stop:
		return nil, ErrShuttingDown
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r.statuses, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batchLoop packs waiting proposals into Raft entries of up to BatchBytes,
// waiting up to BatchDelay for an entry to reach half of BatchBytes: few
// large entries commit far more events per second than many small ones
// (fewer fsyncs, AppendEntries and Pebble batches on every replica). Sending
// at once when nothing was in flight was measured too: it made more, smaller
// entries and cost a fifth of the 3-node ingest rate.
func (s *shard) batchLoop() {
	defer s.wg.Done()
	maxBytes := s.n.cfg.BatchBytes
	for {
		var first *proposal
		select {
		case first = <-s.proposals:
		case <-s.stop:
			s.failQueued()
			return
		}
		batch := []*proposal{first}
		size := first.size
		timer := time.NewTimer(s.n.cfg.BatchDelay)
	fill:
		for size < maxBytes {
			select {
			case p := <-s.proposals:
				batch = append(batch, p)
				size += p.size
				continue
			default:
			}
			if size >= maxBytes/2 {
				break
			}
			select {
			case p := <-s.proposals:
				batch = append(batch, p)
				size += p.size
			case <-timer.C:
				break fill
			case <-s.stop:
				break fill
			}
		}
		timer.Stop()
		select {
		case s.inflight <- struct{}{}:
		case <-s.stop:
			finish(batch, nil, ErrShuttingDown)
			s.failQueued()
			return
		}
		s.wg.Add(1)
		go s.commit(batch, s.entryFormat())
	}
}

// entryFormat is how a leader writes an entry.
type entryFormat struct {
	// compress: the payload is compressed with MinLZ.
	compress bool
	// recordValues: events carry their record value (cairnv1.Event.record)
	// instead of their raw record.
	recordValues bool
}

// entryFormat returns the format of the entry this leader proposes next,
// from what every replica of the shard, in its Raft configuration and in its
// placement, registered: a replica of an earlier version could not apply
// what it does not know. An entry that stays on this node (a shard with one
// replica) is not compressed: compressing and decompressing it would cost
// more CPU than the smaller log write saves. It is asked for every entry;
// both lookups are reads of in-memory state.
func (s *shard) entryFormat() entryFormat {
	conf, err := s.group.configuration()
	if err != nil {
		return entryFormat{}
	}
	var ids []string
	for _, srv := range conf.Servers {
		ids = append(ids, string(srv.ID))
	}
	var f entryFormat
	s.n.metaFSM.view(func(st *cairnv1.MetaState) {
		if p := shardPlacement(st, s.id); p != nil {
			ids = append(ids, p.Replicas...)
		}
		f.compress = slices.ContainsFunc(ids, func(id string) bool { return id != s.n.cfg.ID }) &&
			haveFeature(st, ids, featureEntryMinLZ)
		f.recordValues = haveFeature(st, ids, featureRecordValues)
	})
	return f
}

func (s *shard) failQueued() {
	for {
		select {
		case p := <-s.proposals:
			p.done <- proposalResult{err: ErrShuttingDown}
		default:
			return
		}
	}
}

// commit proposes one entry and hands each proposal its statuses.
func (s *shard) commit(batch []*proposal, format entryFormat) {
	defer s.wg.Done()
	defer func() { <-s.inflight }()
	var events []*cairnv1.Event
	for _, p := range batch {
		events = append(events, p.events...)
	}
	if format.recordValues {
		events = withRecordValues(events)
	}
	data, err := encodeIngestCommand(&cairnv1.IngestBatch{
		LeaderTimeUnixNano: time.Now().UnixNano(),
		Events:             events,
	}, format.compress)
	if err != nil {
		finish(batch, nil, err)
		return
	}
	start := time.Now()
	done := s.fsm.propose(data, events)
	defer done()
	f := s.group.raft.Apply(data, 15*time.Second)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			err = fmt.Errorf("%w (%v)", s.group.notLeader(), err)
		}
		finish(batch, nil, err)
		return
	}
	s.n.metrics.applyLatency.Observe(time.Since(start).Seconds())
	compression := "none"
	if format.compress {
		compression = "minlz"
	}
	s.n.metrics.entries.WithLabelValues(compression).Inc()
	s.n.metrics.entryBytes.WithLabelValues(compression).Add(float64(len(data)))
	record := "raw"
	if format.recordValues {
		record = "value"
	}
	s.n.metrics.entryEvents.WithLabelValues(record).Add(float64(len(events)))
	statuses, _ := f.Response().([]cairnv1.EventStatus)
	if len(statuses) != len(events) {
		finish(batch, nil, fmt.Errorf("shard %d: apply returned %d results for %d events", s.id, len(statuses), len(events)))
		return
	}
	finish(batch, statuses, nil)
}

func finish(batch []*proposal, statuses []cairnv1.EventStatus, err error) {
	off := 0
	for _, p := range batch {
		if err != nil {
			p.done <- proposalResult{err: err}
			continue
		}
		p.done <- proposalResult{statuses: statuses[off : off+len(p.events)]}
		off += len(p.events)
	}
}

// lastSnapshotIndex reads the index of the latest snapshot from raft's stats
// (raft exposes it nowhere else).
func lastSnapshotIndex(r *raft.Raft) uint64 {
	v, _ := strconv.ParseUint(r.Stats()["last_snapshot_index"], 10, 64)
	return v
}

// localStatus reports the replica's raft and storage state.
func (s *shard) localStatus() *cairnv1.LocalShard {
	db, release := s.fsm.DB()
	defer release()
	return &cairnv1.LocalShard{
		Id:           s.id,
		RaftState:    s.group.raft.State().String(),
		Leader:       s.group.leader(),
		AppliedIndex: db.AppliedIndex(),
		CommitIndex:  s.group.raft.CommitIndex(),
		Events:       db.EventCount(),
		Term:         s.group.raft.CurrentTerm(),

		SnapshotsInstalled: s.fsm.restores.Load(),
		LastSnapshotIndex:  lastSnapshotIndex(s.group.raft),
	}
}
