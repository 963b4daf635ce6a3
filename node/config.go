package node

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config is everything a node needs to start. cmd/cairnd fills it from flags.
type Config struct {
	// ID names the node in the cluster; stable across restarts.
	ID string
	// DataDir holds the node's Raft logs, snapshots and Pebble DBs.
	DataDir string
	// GRPCAddr is bound for clients and peers; RaftAddr for Raft traffic of
	// every group; HTTPAddr for /metrics, /healthz and /readyz ("" = none).
	GRPCAddr, RaftAddr, HTTPAddr string
	// AdvertiseGRPC, AdvertiseRaft and AdvertiseHTTP are the addresses peers
	// and clients use when they differ from the bind addresses; "" = bind.
	AdvertiseGRPC, AdvertiseRaft, AdvertiseHTTP string
	// Bootstrap lists every initial member (id → raft address). Every member
	// gets the same list. Empty unless forming a new cluster.
	Bootstrap []Peer
	// Join is the gRPC address of a running cluster member to join through.
	Join string
	// Shards and Replicas are used when the cluster is first formed.
	Shards, Replicas int
	// AllowAnonymous turns authentication off (development and lab
	// clusters): an ingest stream without a token may write any account and
	// admin calls need no token. A stream that presents a token is checked
	// and scoped either way.
	//
	// Otherwise ingest needs an ingest token and admin calls an admin token;
	// InitialAdminToken, a token string (cairnctl token new), becomes the
	// cluster's first admin token when this node forms the cluster.
	InitialAdminToken string
	AllowAnonymous    bool

	// Raft tuning; zero means the default noted. A shard entry carries up
	// to BatchBytes (1 MiB) of events, so the log keeps up to about
	// SnapshotThreshold + TrailingLogs MiB per shard: the defaults bound it
	// near 1.3 GiB, where 16384 + 4096 let it grow to 20 GiB, many times
	// the events' own size in Pebble. A snapshot is only
	// a flush and a marker (a follower that falls further behind gets a
	// streamed checkpoint), so taking them often costs little.
	SnapshotInterval  time.Duration // 2m
	SnapshotThreshold uint64        // 1024 entries
	TrailingLogs      uint64        // 256 entries
	// RaftSegmentBytes is the size of a Raft log segment file (64 MiB). The
	// log is reclaimed a whole segment at a time.
	RaftSegmentBytes int
	// BatchBytes caps the events packed into one Raft entry (1 MiB).
	BatchBytes int
	// BatchDelay is how long a shard leader waits to fill an entry (20ms).
	// It bounds the latency it adds to a write.
	BatchDelay time.Duration
	// CacheBytes is the block-cache budget shared by the node's Pebble DBs
	// (256 MiB). Pebble charges memtables to the same cache, so the node sizes
	// the cache as CacheBytes plus the memtable reservation of every shard.
	CacheBytes int64
	// MemTableBytes is the size of one memtable of a shard DB (64 MiB).
	// Pebble grows a new DB's memtables from 256 KiB, so idle shards use
	// little; under sustained ingest smaller memtables mean more flushes and
	// compactions (16 MiB cost a fifth of the ingest rate).
	MemTableBytes uint64
	// RetentionInterval is how often each shard leader deletes the events
	// the retention policies expire (1h, jittered by up to a tenth).
	RetentionInterval time.Duration
	// RaftLogLevel is the level of hashicorp/raft's own log ("warn").
	RaftLogLevel string

	Logger *slog.Logger
}

// Peer is one entry of a bootstrap list.
type Peer struct {
	ID       string
	RaftAddr string
}

// ParsePeers parses "id=host:port,id=host:port".
func ParsePeers(s string) ([]Peer, error) {
	var peers []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("cannot parse bootstrap member %q: want id=raft-host:port", part)
		}
		if seen[id] {
			return nil, fmt.Errorf("bootstrap list names %q twice", id)
		}
		seen[id] = true
		peers = append(peers, Peer{ID: id, RaftAddr: addr})
	}
	return peers, nil
}

func (c *Config) setDefaults() {
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 2 * time.Minute
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 1024
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 256
	}
	if c.RaftSegmentBytes == 0 {
		c.RaftSegmentBytes = 64 << 20
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.BatchDelay == 0 {
		c.BatchDelay = 20 * time.Millisecond
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = 256 << 20
	}
	if c.MemTableBytes == 0 {
		c.MemTableBytes = 64 << 20
	}
	if c.Shards == 0 {
		c.Shards = 8
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.RaftLogLevel == "" {
		c.RaftLogLevel = "warn"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AdvertiseGRPC == "" {
		c.AdvertiseGRPC = c.GRPCAddr
	}
	if c.AdvertiseRaft == "" {
		c.AdvertiseRaft = c.RaftAddr
	}
	if c.AdvertiseHTTP == "" {
		c.AdvertiseHTTP = c.HTTPAddr
	}
}

func (c *Config) validate() error {
	if c.ID == "" {
		return fmt.Errorf("a node id is required (--id)")
	}
	if strings.ContainsAny(c.ID, "=, \t") {
		return fmt.Errorf("node id %q must not contain '=', ',' or spaces", c.ID)
	}
	if c.DataDir == "" {
		return fmt.Errorf("a data directory is required (--data-dir)")
	}
	if len(c.Bootstrap) > 0 && c.Join != "" {
		return fmt.Errorf("--bootstrap and --join exclude each other: bootstrap forms a new cluster, join enters a running one")
	}
	if len(c.Bootstrap) > 0 {
		found := false
		for _, p := range c.Bootstrap {
			if p.ID == c.ID {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("the bootstrap list does not name this node (%s)", c.ID)
		}
	}
	if c.InitialAdminToken != "" {
		if _, ok := parseToken(c.InitialAdminToken); !ok {
			return fmt.Errorf("--initial-admin-token is not a Cairn token (cairn_<16 hex>_<64 hex>); make one with cairnctl token new")
		}
	}
	if c.Shards < 1 || c.Shards > 4096 {
		return fmt.Errorf("--shards %d is out of range 1..4096", c.Shards)
	}
	if c.Replicas < 1 || c.Replicas > 7 {
		return fmt.Errorf("--replicas %d is out of range 1..7", c.Replicas)
	}
	return nil
}
