// Package raftmux carries the traffic of every Raft group of a node over one
// TCP listener (the node's --raft-addr), the way Consul and rqlite multiplex
// Raft over one port.
//
// Every connection starts with a 5-byte header written by the dialer:
//
//	[0]    magic byte 0xCA
//	[1:5]  group id, big-endian uint32 (meta = 0, shard i = i+1; the caller decides)
//
// After the header the connection belongs to the group's raft.NetworkTransport
// untouched: the mux hands over the raw *net.TCPConn, so nothing is buffered or
// copied in between (the kernel may even sendfile a snapshot straight from disk).
//
// A Mux accepts on one goroutine and reads each header on a goroutine of its
// own, under a deadline, so a silent or slow client never holds up the others.
// Layers (one per group) can be opened and closed at any time while the mux
// runs: shard groups come and go as placement changes.
package raftmux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Sentinel errors of the package.
var (
	// ErrMuxClosed is returned by Layer and Transport after Close.
	ErrMuxClosed = errors.New("raftmux: mux is closed")
	// ErrLayerClosed is returned by Accept and Dial of a closed layer.
	ErrLayerClosed = errors.New("raftmux: stream layer is closed")
	// ErrGroupTaken is returned by Layer when the group already has an open layer.
	ErrGroupTaken = errors.New("raftmux: group already has an open stream layer")
)

const (
	// headerMagic is the first byte of every multiplexed connection.
	headerMagic byte = 0xCA
	// headerLen is the magic byte plus the big-endian uint32 group id.
	headerLen = 5

	// defaultHeaderTimeout bounds how long an accepted connection may take to
	// send its header before it is dropped.
	defaultHeaderTimeout = 5 * time.Second
)

// Mux is one TCP listener shared by all Raft groups of a node.
// All methods are safe for concurrent use.
type Mux struct {
	ln            net.Listener
	advertise     net.Addr
	logger        *slog.Logger
	headerTimeout time.Duration

	mu      sync.Mutex
	closed  bool
	layers  map[uint32]*layer
	pending map[net.Conn]struct{} // accepted, header not yet read

	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// Listen binds addr and starts accepting. advertise is the address peers dial
// (it may differ from the bind address, e.g. bind 0.0.0.0:7000 and advertise
// host:7000); nil means the listener's own address, which must then be a
// concrete IP. The caller must call Close.
func Listen(addr string, advertise net.Addr, logger *slog.Logger) (*Mux, error) {
	if logger == nil {
		logger = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for raft on %q: %w", addr, err)
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	if tcp, ok := advertise.(*net.TCPAddr); ok && (tcp.IP == nil || tcp.IP.IsUnspecified()) {
		_ = ln.Close()
		return nil, fmt.Errorf("cannot advertise raft address %q: peers cannot dial an unspecified IP; pass an advertise address", advertise)
	}
	m := &Mux{
		ln:            ln,
		advertise:     advertise,
		logger:        logger.With("component", "raftmux"),
		headerTimeout: defaultHeaderTimeout,
		layers:        make(map[uint32]*layer),
		pending:       make(map[net.Conn]struct{}),
		done:          make(chan struct{}),
	}
	m.wg.Add(1)
	go m.acceptLoop()
	return m, nil
}

// Addr returns the advertised address: what peers dial and what every layer
// of this mux reports as its own address.
func (m *Mux) Addr() net.Addr { return m.advertise }

// Layer registers group and returns its raft.StreamLayer. Accept yields the
// connections whose header names group; Dial connects to a peer's mux and
// writes the header. Closing the layer unregisters the group, after which
// Layer(group) may be called again. Only one open layer per group is allowed:
// a second call returns ErrGroupTaken.
func (m *Mux) Layer(group uint32) (raft.StreamLayer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrMuxClosed
	}
	if _, ok := m.layers[group]; ok {
		return nil, fmt.Errorf("cannot open stream layer for raft group %d: %w", group, ErrGroupTaken)
	}
	l := newLayer(m, group)
	m.layers[group] = l
	return l, nil
}

// Close stops accepting, closes every layer and every connection whose header
// has not been read yet, and waits for the mux's goroutines. Connections
// already handed to a layer belong to its transport and are not touched.
// Close is idempotent.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	layers := m.layers
	m.layers = make(map[uint32]*layer)
	for c := range m.pending {
		_ = c.Close()
	}
	m.mu.Unlock()

	err := m.ln.Close()
	for _, l := range layers {
		l.shut()
	}
	m.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("cannot close raft listener: %w", err)
	}
	return nil
}

// unregister removes l if it is still the layer of its group.
func (m *Mux) unregister(l *layer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.layers[l.group] == l {
		delete(m.layers, l.group)
	}
}

func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	const baseDelay, maxDelay = 5 * time.Millisecond, time.Second
	var delay time.Duration
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, baseDelay), maxDelay)
			m.logger.Warn("cannot accept raft connection", "error", err, "retry_in", delay)
			select {
			case <-m.done:
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0

		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			_ = conn.Close()
			return
		}
		m.pending[conn] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.route(conn)
	}
}

// route reads the header of conn and hands conn to its group's layer, or
// closes it.
func (m *Mux) route(conn net.Conn) {
	defer m.wg.Done()
	group, err := m.readHeader(conn)

	m.mu.Lock()
	delete(m.pending, conn)
	closed := m.closed
	l := m.layers[group]
	m.mu.Unlock()

	switch {
	case closed:
		_ = conn.Close()
		return
	case err != nil:
		m.logger.Debug("dropping raft connection: bad header", "remote", conn.RemoteAddr().String(), "error", err)
		_ = conn.Close()
		return
	case l == nil:
		m.logger.Debug("dropping raft connection for unknown group", "remote", conn.RemoteAddr().String(), "group", group)
		_ = conn.Close()
		return
	}
	l.deliver(conn)
}

func (m *Mux) readHeader(conn net.Conn) (uint32, error) {
	var hdr [headerLen]byte
	if err := conn.SetReadDeadline(time.Now().Add(m.headerTimeout)); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return 0, fmt.Errorf("cannot read header: %w", err)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return 0, err
	}
	if hdr[0] != headerMagic {
		return 0, fmt.Errorf("bad magic byte 0x%02x (want 0x%02x): not a raftmux client", hdr[0], headerMagic)
	}
	return binary.BigEndian.Uint32(hdr[1:]), nil
}

// appendHeader appends the connection header for group to dst.
func appendHeader(dst []byte, group uint32) []byte {
	dst = append(dst, headerMagic)
	return binary.BigEndian.AppendUint32(dst, group)
}
