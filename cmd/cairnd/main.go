// Command cairnd runs one node of a Cairn cluster.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-lake/cairn/node"
)

type flags struct {
	id, dataDir                 string
	grpcAddr, raftAddr, httpAdr string
	advertise                   string
	bootstrap, join             string
	shards, replicas            int
	dev, noAuth                 bool
	logLevel, raftLogLevel      string
	logJSON                     bool
	snapshotThreshold           uint64
	trailingLogs                uint64
	snapshotInterval            time.Duration
	segmentBytes                int
	retentionInterval           time.Duration
	blockCacheMiB               int64
	adminTokenFile              string
}

func main() {
	var f flags
	cmd := &cobra.Command{
		Use:   "cairnd",
		Short: "Run one node of a Cairn cluster",
		Long: `cairnd runs one node of a Cairn cluster: the meta Raft group, the shard
replicas placed on it, and the ingest, query and admin gRPC services.

Start a single-node development cluster in ./data:
  cairnd --dev

Form a three-node cluster (every member gets the same --bootstrap list):
  cairnd --id n1 --data-dir /var/lib/cairn --bootstrap n1=10.0.0.1:7500,n2=10.0.0.2:7500,n3=10.0.0.3:7500

Add a node to a running cluster:
  cairnd --id n4 --data-dir /var/lib/cairn --join 10.0.0.1:7400

Ingest needs an ingest token and admin calls an admin token, except with --dev
or --no-auth. Give every member of a new cluster the same first admin token:
  cairnctl token new > admin.token
  cairnd … --bootstrap … --initial-admin-token-file admin.token`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.id, "id", "", "node id, stable across restarts (default n1 with --dev)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory for Raft logs, snapshots and event data (default ./data with --dev)")
	fl.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:7400", "address for clients and peers (gRPC)")
	fl.StringVar(&f.raftAddr, "raft-addr", "127.0.0.1:7500", "address for Raft traffic of every group")
	fl.StringVar(&f.httpAdr, "http-addr", "127.0.0.1:7600", "address for /metrics, /healthz and /readyz (empty to disable)")
	fl.StringVar(&f.advertise, "advertise", "", "host name or IP peers and clients use to reach this node, when it differs from the bind addresses (ports are those of the bind addresses)")
	fl.StringVar(&f.bootstrap, "bootstrap", "", "form a new cluster from this static member list: id=raft-host:port,... (the same list on every member)")
	fl.StringVar(&f.join, "join", "", "gRPC address (host:port) of a running member, to add this node to its cluster")
	fl.IntVar(&f.shards, "shards", 8, "number of shard groups (used when the cluster is formed)")
	fl.IntVar(&f.replicas, "replicas", 3, "replicas per shard (used when the cluster is formed; fewer when fewer nodes exist)")
	fl.BoolVar(&f.dev, "dev", false, "single-node development cluster (1 replica) in ./data with the default addresses; no tokens needed")
	fl.BoolVar(&f.noAuth, "no-auth", false, "authentication off: ingest and admin calls need no token (test and lab clusters); a stream that presents one is still checked")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log as JSON lines")
	fl.StringVar(&f.raftLogLevel, "raft-log-level", "warn", "log level of the Raft library")
	fl.Uint64Var(&f.snapshotThreshold, "raft-snapshot-threshold", 0, "Raft entries between snapshots (0 = 1024)")
	fl.Uint64Var(&f.trailingLogs, "raft-trailing-logs", 0, "Raft entries kept after a snapshot (0 = 256)")
	fl.DurationVar(&f.snapshotInterval, "raft-snapshot-interval", 0, "how often Raft checks whether to snapshot (0 = default)")
	fl.IntVar(&f.segmentBytes, "raft-segment-bytes", 0, "size of a Raft log segment file; the log is reclaimed a segment at a time (0 = 64 MiB)")
	fl.StringVar(&f.adminTokenFile, "initial-admin-token-file", "", "file holding the cluster's first admin token (make one with cairnctl token new), used when this node forms the cluster; CAIRN_INITIAL_ADMIN_TOKEN holds the token itself instead")
	fl.DurationVar(&f.retentionInterval, "retention-interval", time.Hour, "how often each shard leader deletes the events its retention policies expire (jittered by up to a tenth)")
	fl.Int64Var(&f.blockCacheMiB, "block-cache-mib", 256, "MiB of memory for cached storage blocks, shared by the node's shards (memtables come on top); queries that read many raw records are faster when those fit")
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "cairnd: %v\n", err)
		os.Exit(1)
	}
}

func run(cmd *cobra.Command, f flags) error {
	// 1. Logging.
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if f.logJSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	log := slog.New(h)
	slog.SetDefault(log)

	// 2. Configuration.
	if f.blockCacheMiB < 1 {
		return fmt.Errorf("--block-cache-mib %d: want at least 1", f.blockCacheMiB)
	}
	cfg := node.Config{
		ID: f.id, DataDir: f.dataDir,
		GRPCAddr: f.grpcAddr, RaftAddr: f.raftAddr, HTTPAddr: f.httpAdr,
		Join: f.join, Shards: f.shards, Replicas: f.replicas,
		SnapshotThreshold: f.snapshotThreshold, TrailingLogs: f.trailingLogs, SnapshotInterval: f.snapshotInterval, RaftSegmentBytes: f.segmentBytes,
		RetentionInterval: f.retentionInterval, CacheBytes: f.blockCacheMiB << 20,
		RaftLogLevel: f.raftLogLevel, Logger: log,
		AllowAnonymous: f.dev || f.noAuth,
	}
	token, err := initialAdminToken(f.adminTokenFile)
	if err != nil {
		return err
	}
	cfg.InitialAdminToken = token
	if cfg.AllowAnonymous && token != "" {
		log.Warn("authentication is off (--dev or --no-auth): the initial admin token is stored but not needed")
	}
	if f.dev {
		if f.bootstrap != "" || f.join != "" {
			return errors.New("--dev runs a single-node cluster; it excludes --bootstrap and --join")
		}
		if cfg.ID == "" {
			cfg.ID = "n1"
		}
		if cfg.DataDir == "" {
			cfg.DataDir = "data"
		}
		if !cmd.Flags().Changed("replicas") {
			cfg.Replicas = 1
		}
		f.bootstrap = cfg.ID + "=" + f.raftAddr
		log.Info("development mode: single-node cluster", "data_dir", cfg.DataDir, "replicas", cfg.Replicas)
	}
	if f.bootstrap != "" {
		peers, err := node.ParsePeers(f.bootstrap)
		if err != nil {
			return err
		}
		cfg.Bootstrap = peers
	}
	if f.advertise != "" {
		cfg.AdvertiseGRPC = withHost(f.advertise, f.grpcAddr)
		cfg.AdvertiseRaft = withHost(f.advertise, f.raftAddr)
		if f.httpAdr != "" {
			cfg.AdvertiseHTTP = withHost(f.advertise, f.httpAdr)
		}
	}
	if len(cfg.Bootstrap) == 0 && cfg.Join == "" && !hasState(cfg.DataDir) {
		return errors.New("nothing to start: give --bootstrap to form a new cluster, --join to enter a running one, or --dev for a single-node cluster (a restart from an existing --data-dir needs neither)")
	}
	switch {
	case f.noAuth:
		log.Warn("authentication is off: ingest and admin calls need no token (--no-auth)")
	case f.dev:
		log.Warn("ingest is open: no token required (--dev)")
	default:
		log.Info("ingest requires a token: create one with cairnctl token create")
	}

	// 3. Start the node.
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		n.Close()
		return err
	}

	// 4. Run until SIGINT or SIGTERM, then shut down gracefully.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Info("signal received; shutting down", "signal", s.String())
	go func() {
		<-sig
		log.Error("second signal; exiting now")
		os.Exit(1)
	}()
	return n.Close()
}

// withHost replaces the host of a bind address with the advertised host.
func withHost(host, bind string) string {
	_, port, err := net.SplitHostPort(bind)
	if err != nil {
		return bind
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

func hasState(dir string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Stat(dir + "/NODE_ID")
	return err == nil
}

// initialAdminToken reads the first admin token from path, else from
// CAIRN_INITIAL_ADMIN_TOKEN; "" when neither is given.
func initialAdminToken(path string) (string, error) {
	if path == "" {
		return strings.TrimSpace(os.Getenv("CAIRN_INITIAL_ADMIN_TOKEN")), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read --initial-admin-token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
