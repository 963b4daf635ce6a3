package raftmux

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("CAIRN_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func mustListen(t *testing.T) *Mux {
	t.Helper()
	m, err := Listen("127.0.0.1:0", nil, testLogger())
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func mustLayer(t *testing.T, m *Mux, group uint32) raft.StreamLayer {
	t.Helper()
	l, err := m.Layer(group)
	if err != nil {
		t.Fatalf("Layer(%d): %v", group, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// acceptWithin runs l.Accept and fails the test if it does not return in d.
func acceptWithin(t *testing.T, l raft.StreamLayer, d time.Duration) (net.Conn, error) {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(d):
		t.Fatalf("Accept did not return within %v", d)
		return nil, nil
	}
}

// expectClosedByPeer fails unless the peer closes c within d.
func expectClosedByPeer(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	if n != 0 || err == nil {
		t.Fatalf("read %d bytes, err %v; want the mux to close the connection", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v; want the mux to close it", d)
	}
}

func TestMessagesReachTheirGroup(t *testing.T) {
	a, b := mustListen(t), mustListen(t)
	groups := []uint32{0, 1, 2, 7, 1<<32 - 1}
	dialers := map[uint32]raft.StreamLayer{}
	acceptors := map[uint32]raft.StreamLayer{}
	for _, g := range groups {
		dialers[g] = mustLayer(t, a, g)
		acceptors[g] = mustLayer(t, b, g)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2*len(groups))
	for _, g := range groups {
		wg.Add(2)
		go func() { // dial side: send "group g" and wait for the echo
			defer wg.Done()
			c, err := dialers[g].Dial(raft.ServerAddress(b.Addr().String()), time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("hello group %010d", g)
			if _, err := io.WriteString(c, msg); err != nil {
				errs <- err
				return
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("group %d: read echo: %w", g, err)
				return
			}
			if string(got) != msg {
				errs <- fmt.Errorf("group %d: echo %q, want %q", g, got, msg)
			}
		}()
		go func() { // accept side: check the message names this group, echo it
			defer wg.Done()
			c, err := acceptors[g].Accept()
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			want := fmt.Sprintf("hello group %010d", g)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("group %d: read: %w", g, err)
				return
			}
			if string(got) != want {
				errs <- fmt.Errorf("group %d accepted %q, want %q", g, got, want)
				return
			}
			_, _ = c.Write(got)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLayerAddrIsAdvertised(t *testing.T) {
	adv := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 7000}
	m, err := Listen("127.0.0.1:0", adv, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := mustLayer(t, m, 3)
	if got := l.Addr().String(); got != adv.String() {
		t.Fatalf("layer Addr = %s, want %s", got, adv)
	}
	if got := m.Addr().String(); got != adv.String() {
		t.Fatalf("mux Addr = %s, want %s", got, adv)
	}
}

func TestListenRefusesUnspecifiedAdvertise(t *testing.T) {
	m, err := Listen("0.0.0.0:0", nil, testLogger())
	if err == nil {
		_ = m.Close()
		t.Fatal("Listen on 0.0.0.0 without advertise address succeeded; want error")
	}
}

func TestUnknownGroupAndBadMagicAreClosed(t *testing.T) {
	m := mustListen(t)
	known := mustLayer(t, m, 1)

	for _, tc := range []struct {
		name   string
		header []byte
	}{
		{"unknown group", appendHeader(nil, 42)},
		{"bad magic", []byte{'G', 'E', 'T', ' ', '/'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", m.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.header); err != nil {
				t.Fatal(err)
			}
			expectClosedByPeer(t, c, 2*time.Second)
		})
	}

	// The known group still works afterwards.
	c, err := known.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ac, err := acceptWithin(t, known, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = ac.Close()
}

func TestSilentClientDoesNotBlockOthers(t *testing.T) {
	m := mustListen(t)
	m.headerTimeout = 300 * time.Millisecond
	l := mustLayer(t, m, 5)

	silent, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	half, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	if _, err := half.Write(appendHeader(nil, 5)[:3]); err != nil { // a partial header
		t.Fatal(err)
	}

	// A well-behaved client is served while the two above are stuck.
	start := time.Now()
	c, err := l.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ac, err := acceptWithin(t, l, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = ac.Close()
	if d := time.Since(start); d >= m.headerTimeout {
		t.Fatalf("good client waited %v, as long as the header timeout", d)
	}

	expectClosedByPeer(t, silent, 3*time.Second)
	expectClosedByPeer(t, half, 3*time.Second)
}

func TestClosedLayer(t *testing.T) {
	m := mustListen(t)
	l, err := m.Layer(9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Layer(9); !errors.Is(err, ErrGroupTaken) {
		t.Fatalf("second Layer(9): err = %v, want ErrGroupTaken", err)
	}

	// Accept blocked in another goroutine wakes up on Close.
	acceptErr := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		acceptErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Accept block; the assertion holds either way
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-acceptErr:
		if !errors.Is(err, ErrLayerClosed) {
			t.Fatalf("Accept after Close: err = %v, want ErrLayerClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
	if _, err := l.Accept(); !errors.Is(err, ErrLayerClosed) {
		t.Fatalf("Accept on closed layer: err = %v, want ErrLayerClosed", err)
	}
	if _, err := l.Dial(raft.ServerAddress(m.Addr().String()), time.Second); !errors.Is(err, ErrLayerClosed) {
		t.Fatalf("Dial on closed layer: err = %v, want ErrLayerClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// The group is now unknown: its connections are dropped.
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(appendHeader(nil, 9))
	expectClosedByPeer(t, c, 2*time.Second)

	// A new layer for the same group works.
	l2 := mustLayer(t, m, 9)
	c3, err := l2.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if _, err := io.WriteString(c3, "x"); err != nil {
		t.Fatal(err)
	}
	ac, err := acceptWithin(t, l2, 2*time.Second)
	if err != nil {
		t.Fatalf("Accept on reopened layer: %v", err)
	}
	defer ac.Close()
	var b [1]byte
	if _, err := io.ReadFull(ac, b[:]); err != nil || b[0] != 'x' {
		t.Fatalf("reopened layer read %q, %v", b[:], err)
	}
}

func TestMuxClose(t *testing.T) {
	m, err := Listen("127.0.0.1:0", nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.Layer(1)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := net.Dial("tcp", m.Addr().String()) // never sends a header
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Close()
	time.Sleep(20 * time.Millisecond) // let the mux accept it

	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for a silent client")
	}
	if _, err := l.Accept(); !errors.Is(err, ErrLayerClosed) {
		t.Fatalf("Accept after mux Close: err = %v, want ErrLayerClosed", err)
	}
	if _, err := m.Layer(2); !errors.Is(err, ErrMuxClosed) {
		t.Fatalf("Layer after Close: err = %v, want ErrMuxClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	expectClosedByPeer(t, pending, 2*time.Second)
}
