package raftmux

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// layer is the raft.StreamLayer of one group on a Mux.
//
// Accept, Dial, Addr and Close may be called concurrently. Close is
// idempotent; after it Accept and Dial return ErrLayerClosed.
type layer struct {
	mux   *Mux
	group uint32

	conns     chan net.Conn // routed connections, handed over by Accept
	closed    chan struct{}
	closeOnce sync.Once
}

var _ raft.StreamLayer = (*layer)(nil)

func newLayer(m *Mux, group uint32) *layer {
	return &layer{
		mux:    m,
		group:  group,
		conns:  make(chan net.Conn),
		closed: make(chan struct{}),
	}
}

// Accept waits for the next connection whose header names this layer's group.
func (l *layer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, fmt.Errorf("cannot accept on raft group %d: %w", l.group, ErrLayerClosed)
	}
}

// Dial connects to the mux at address and writes this layer's header, so the
// peer's mux hands the connection to the same group. timeout bounds both the
// connect and the header write.
func (l *layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, fmt.Errorf("cannot dial %s for raft group %d: %w", address, l.group, ErrLayerClosed)
	default:
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.Dial("tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("cannot dial %s for raft group %d: %w", address, l.group, err)
	}
	if timeout > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	}
	if _, err := conn.Write(appendHeader(nil, l.group)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("cannot write raftmux header to %s for raft group %d: %w", address, l.group, err)
	}
	if err := conn.SetWriteDeadline(time.Time{}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("cannot clear write deadline on %s: %w", address, err)
	}
	return conn, nil
}

// Addr returns the mux's advertised address.
func (l *layer) Addr() net.Addr { return l.mux.Addr() }

// Close unregisters the group from the mux and wakes Accept. Connections
// already accepted stay open (they belong to the transport).
func (l *layer) Close() error {
	l.mux.unregister(l)
	l.shut()
	return nil
}

// shut closes the layer without touching the mux's registry.
func (l *layer) shut() {
	l.closeOnce.Do(func() { close(l.closed) })
}

// deliver hands conn to Accept, or closes it if the layer closes first.
func (l *layer) deliver(conn net.Conn) {
	select {
	case l.conns <- conn:
	case <-l.closed:
		_ = conn.Close()
	}
}
