// Package node runs one Cairn node: the meta Raft group, this node's shard
// replicas, the ingest and cluster gRPC services, and the reconcilers that
// make the shard groups follow the placement recorded in the meta group.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"

	"github.com/cairn-lake/cairn/node/raftmux"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
)

// Node is one member of a Cairn cluster. Start it once, Close it once.
type Node struct {
	cfg Config
	log *slog.Logger

	mux     *raftmux.Mux
	cache   *pebble.Cache
	meta    *raftGroup
	metaFSM *metaFSM
	peers   *peerPool
	metrics *metrics
	leaders leaderCache

	// retentionMu serialises retention changes on the meta leader: each
	// checks its impact against the rules it replaces.
	retentionMu sync.Mutex

	mu     sync.RWMutex
	shards map[uint32]*shard

	grpcLis    net.Listener
	grpcServer *grpc.Server
	httpLis    net.Listener
	httpServer *http.Server

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

// New checks the configuration; Start brings the node up.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Node{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.ID),
		shards:  map[uint32]*shard{},
		peers:   newPeerPool(),
		metrics: newMetrics(),
		ctx:     ctx,
		cancel:  cancel,
	}, nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// GRPCAddr returns the address the gRPC server listens on.
func (n *Node) GRPCAddr() string { return n.grpcLis.Addr().String() }

// HTTPAddr returns the address of the HTTP server ("" when disabled).
func (n *Node) HTTPAddr() string {
	if n.httpLis == nil {
		return ""
	}
	return n.httpLis.Addr().String()
}

// Start opens the data dir, binds the listeners, starts the meta group and
// the background work, and returns. The node becomes ready (see Ready) once
// the cluster is formed and its local shard replicas have leaders.
func (n *Node) Start() error {
	// 1. Data dir, and the identity recorded in it.
	if err := n.checkIdentity(); err != nil {
		return err
	}
	// 2. Listeners: gRPC first so that the advertised addresses are known
	// when ports are chosen by the OS (tests bind port 0).
	var err error
	if n.grpcLis, err = net.Listen("tcp", n.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("cannot listen on --grpc-addr %s: %w", n.cfg.GRPCAddr, err)
	}
	if n.cfg.AdvertiseGRPC == "" || strings.HasSuffix(n.cfg.AdvertiseGRPC, ":0") {
		n.cfg.AdvertiseGRPC = n.grpcLis.Addr().String()
	}
	var adv net.Addr
	if n.cfg.AdvertiseRaft != "" && !strings.HasSuffix(n.cfg.AdvertiseRaft, ":0") {
		if adv, err = net.ResolveTCPAddr("tcp", n.cfg.AdvertiseRaft); err != nil {
			return fmt.Errorf("cannot resolve raft advertise address %s: %w", n.cfg.AdvertiseRaft, err)
		}
	}
	if n.mux, err = raftmux.Listen(n.cfg.RaftAddr, adv, n.log); err != nil {
		return fmt.Errorf("cannot listen on --raft-addr %s: %w", n.cfg.RaftAddr, err)
	}
	n.cfg.AdvertiseRaft = n.mux.Addr().String()
	if n.cfg.HTTPAddr != "" {
		if n.httpLis, err = net.Listen("tcp", n.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("cannot listen on --http-addr %s: %w", n.cfg.HTTPAddr, err)
		}
		if n.cfg.AdvertiseHTTP == "" || strings.HasSuffix(n.cfg.AdvertiseHTTP, ":0") {
			n.cfg.AdvertiseHTTP = n.httpLis.Addr().String()
		}
	}
	// 3. The block cache shared by every shard DB of this node: the block
	// budget plus the memtables of as many DBs as there are shards.
	n.cache = storage.NewCache(n.cfg.CacheBytes + int64(n.cfg.Shards)*n.storageOptions().MemTableReservation())
	// 4. The meta group.
	if err := n.startMeta(); err != nil {
		return err
	}
	// 5. Servers.
	n.startGRPC()
	if n.httpLis != nil {
		n.startHTTP()
	}
	// 6. Background work: meta duties, reconciliation, joining.
	n.goLoop(n.metaLoop)
	n.goLoop(n.reconcileLoop)
	n.goLoop(n.cutLoop)
	if n.cfg.Join != "" {
		n.goLoop(n.joinLoop)
	}
	n.log.Info("node started", "grpc", n.cfg.AdvertiseGRPC, "raft", n.cfg.AdvertiseRaft, "http", n.cfg.AdvertiseHTTP, "data_dir", n.cfg.DataDir)
	return nil
}

func (n *Node) goLoop(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// checkIdentity refuses to start a data dir that belongs to another node id.
func (n *Node) checkIdentity() error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cannot create data dir: %w", err)
	}
	path := filepath.Join(n.cfg.DataDir, "NODE_ID")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if got := strings.TrimSpace(string(b)); got != n.cfg.ID {
			return fmt.Errorf("data dir %s belongs to node %q, not %q: use --id %s or another --data-dir", n.cfg.DataDir, got, n.cfg.ID, got)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		return os.WriteFile(path, []byte(n.cfg.ID+"\n"), 0o644)
	default:
		return fmt.Errorf("cannot read node identity: %w", err)
	}
}

func (n *Node) startMeta() error {
	dir := filepath.Join(n.cfg.DataDir, "meta")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create meta dir: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, n.raftConfig("meta").Logger)
	if err != nil {
		return fmt.Errorf("cannot open meta snapshots: %w", err)
	}
	trans, err := n.mux.Transport(metaGroupID, 10*time.Second)
	if err != nil {
		return fmt.Errorf("cannot open meta transport: %w", err)
	}
	var boot *raft.Configuration
	if len(n.cfg.Bootstrap) > 0 {
		boot = &raft.Configuration{}
		for _, p := range n.cfg.Bootstrap {
			addr := p.RaftAddr
			if p.ID == n.cfg.ID {
				addr = n.cfg.AdvertiseRaft
			}
			boot.Servers = append(boot.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(addr)})
		}
	}
	n.metaFSM = newMetaFSM()
	n.meta, err = n.startRaftGroup(raftGroupSpec{
		name: "meta", dir: dir, fsm: n.metaFSM, snaps: snaps, trans: trans,
		bootstrap: boot, restoreOnStart: true,
	})
	return err
}

// Ready reports whether the node can serve: the cluster is formed, the meta
// group and every local shard replica know a leader.
func (n *Node) Ready() error {
	if n.closed.Load() {
		return ErrShuttingDown
	}
	if n.meta.leader() == "" {
		return fmt.Errorf("meta group: %w", ErrNoLeader)
	}
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return ErrNotInitialized
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, p := range st.Placement {
		if !slices.Contains(p.Replicas, n.cfg.ID) {
			continue
		}
		s := n.shards[p.Shard]
		if s == nil {
			return fmt.Errorf("shard %d: replica not started yet", p.Shard)
		}
		if s.group.leader() == "" {
			return fmt.Errorf("shard %d: %w", p.Shard, ErrNoLeader)
		}
	}
	return nil
}

// Close shuts the node down gracefully: servers stop taking calls, shard
// leaderships are handed over, every group is shut down and every DB flushed.
// handOverShards transfers the leadership of every shard this node leads
// to another replica, all at once, waiting for the transfers to end.
func (n *Node) handOverShards() {
	var wg sync.WaitGroup
	for _, s := range n.localShards() {
		if conf, err := s.group.configuration(); err != nil || len(conf.Servers) < 2 {
			continue // nobody to hand over to
		}
		if s.group.isLeader() {
			wg.Go(func() {
				if err := s.group.raft.LeadershipTransfer().Error(); err != nil {
					n.log.Warn("leadership hand-over failed", "shard", s.id, "err", err)
				}
			})
		}
	}
	wg.Wait()
}

func (n *Node) Close() error {
	if !n.closed.CompareAndSwap(false, true) {
		return nil
	}
	n.log.Info("node stopping")
	// 1. Stop background loops, and hand shard leaderships over at once, so
	// that writes move to the other replicas while this node drains; calls
	// that still arrive here are forwarded to the new leaders.
	n.cancel()
	n.handOverShards()
	// 2. Stop the servers; in-flight calls get a few seconds to finish.
	if n.grpcServer != nil {
		stopped := make(chan struct{})
		go func() { n.grpcServer.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			n.grpcServer.Stop()
		}
	}
	if n.httpServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n.httpServer.Shutdown(ctx)
		cancel()
	}
	n.wg.Wait()
	// 3. Shut the shards down, handing over what leadership came back.
	n.mu.Lock()
	shards := n.shards
	n.shards = map[uint32]*shard{}
	n.mu.Unlock()
	var wg sync.WaitGroup
	var errs []error
	var errMu sync.Mutex
	for _, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.group.isLeader() {
				s.group.raft.LeadershipTransfer().Error()
			}
			if err := s.close(); err != nil {
				errMu.Lock()
				errs = append(errs, fmt.Errorf("shard %d: %w", s.id, err))
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 4. The meta group, the listener, the cache.
	if n.meta != nil {
		if n.meta.isLeader() {
			n.meta.raft.LeadershipTransfer().Error()
		}
		if err := n.meta.close(); err != nil {
			errs = append(errs, fmt.Errorf("meta: %w", err))
		}
	}
	if n.mux != nil {
		n.mux.Close()
	}
	n.peers.close()
	if n.cache != nil {
		n.cache.Unref()
	}
	n.log.Info("node stopped")
	return errors.Join(errs...)
}

// Kill stops the node abruptly, as a crash would, for tests: listeners and
// raft groups stop without handing over leadership or flushing DBs.
func (n *Node) Kill() {
	if !n.closed.CompareAndSwap(false, true) {
		return
	}
	n.cancel()
	if n.grpcServer != nil {
		n.grpcServer.Stop()
	}
	if n.httpServer != nil {
		n.httpServer.Close()
	}
	n.mux.Close()
	n.wg.Wait()
	n.mu.Lock()
	shards := n.shards
	n.shards = map[uint32]*shard{}
	n.mu.Unlock()
	for _, s := range shards {
		close(s.stop)
		s.wg.Wait()
		s.group.close()
		db, release := s.fsm.DB()
		db.CloseUnflushed() // unflushed state is lost, as in a crash
		release()
	}
	n.meta.close()
	n.peers.close()
	n.cache.Unref()
}

func (n *Node) storageOptions() storage.Options {
	return storage.Options{Cache: n.cache, MemTableSize: n.cfg.MemTableBytes, Logger: n.log}
}

// localShards returns the local replicas, in no particular order.
func (n *Node) localShards() []*shard {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*shard, 0, len(n.shards))
	for _, s := range n.shards {
		out = append(out, s)
	}
	return out
}

// shard returns the local replica of id, or nil.
func (n *Node) shard(id uint32) *shard {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.shards[id]
}

// MetaState returns a copy of the meta group's state as this node has applied it.
func (n *Node) MetaState() *cairnv1.MetaState { return n.metaFSM.State() }

// LocalStatus is this node's own view of its replicas (as the LocalStatus RPC).
func (n *Node) LocalStatus() *cairnv1.LocalStatusResponse { return n.localStatus() }

// CompactAll flushes and fully compacts every local shard replica and
// returns the bytes their Pebble files take and the events they hold. It is
// for benchmarks and operators measuring space; it is slow on large data.
func (n *Node) CompactAll() (bytes, events uint64, err error) {
	shards := n.localShards()
	for _, s := range shards {
		db, release := s.fsm.DB()
		err = db.Compact()
		if err == nil {
			var du uint64
			du, err = db.DiskUsage()
			bytes += du
			events += db.EventCount()
		}
		release()
		if err != nil {
			return 0, 0, fmt.Errorf("shard %d: %w", s.id, err)
		}
	}
	return bytes, events, nil
}
