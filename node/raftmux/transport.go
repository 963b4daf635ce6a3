package raftmux

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

const (
	// DefaultTimeout is the transport I/O timeout used when Transport gets 0.
	// It is generous because one AppendEntries may carry several MB of
	// micro-batched events; InstallSnapshot scales it by the snapshot size.
	DefaultTimeout = 10 * time.Second

	// transportMaxPool is how many idle connections a transport keeps per peer.
	transportMaxPool = 3

	// transportMaxInFlight of 1 turns raft's pipelined replication off. In
	// hashicorp/raft v1.8.0 the pipeline can deadlock: when a follower answers
	// Success=false the decoder goroutine exits, the next send parks on the
	// pipeline's unbuffered in-progress channel while the response reader parks
	// on the done channel nobody reads, and the pipeline's Close is deferred
	// behind that send. The follower then gets heartbeats but never another
	// entry, and raft.Shutdown waits for the stuck goroutine forever. Entries
	// are batched per Raft log entry and the group batches appends, so one
	// outstanding AppendEntries per follower costs little.
	transportMaxInFlight = 1
)

// Transport returns a raft.NetworkTransport for group over Layer(group).
// timeout is the I/O deadline of one RPC (0 = DefaultTimeout). The transport's
// logs go to the mux's slog logger with "raft_group" set. Closing the
// transport closes its layer and unregisters the group.
func (m *Mux) Transport(group uint32, timeout time.Duration) (*raft.NetworkTransport, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	l, err := m.Layer(group)
	if err != nil {
		return nil, fmt.Errorf("cannot create raft transport: %w", err)
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:          l,
		MaxPool:         transportMaxPool,
		MaxRPCsInFlight: transportMaxInFlight,
		Timeout:         timeout,
		Logger: &hcLogger{
			base:   m.logger.With("raft_group", group),
			name:   "raft-net",
			demote: isShutdownNoise,
		},
	}), nil
}

// isShutdownNoise reports whether a NetworkTransport log line is only the
// sound of a transport, layer or peer shutting down, which happens every time
// a shard group moves away from this node.
func isShutdownNoise(_ string, args []any) bool {
	for _, a := range args {
		err, ok := a.(error)
		if !ok {
			continue
		}
		if errors.Is(err, raft.ErrTransportShutdown) || errors.Is(err, ErrLayerClosed) ||
			errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, syscall.ECONNRESET) {
			return true
		}
	}
	return false
}
