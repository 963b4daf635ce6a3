package grpcdial

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// closedPort returns an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestConnectRefused(t *testing.T) {
	addr := closedPort(t)
	conn, err := Connect(t.Context(), addr, 3*time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("Connect(%s): got a connection, want connection refused", addr)
	}
	if err.Error() != "connection refused" {
		t.Errorf("Connect(%s): got error %q, want %q", addr, err, "connection refused")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Connect(%s): error %v does not match syscall.ECONNREFUSED", addr, err)
	}
}

func TestConnectReady(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	conn, err := Connect(t.Context(), ln.Addr().String(), 3*time.Second)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Check: got %v, want SERVING", resp.GetStatus())
	}
}

// silentListener accepts connections and never answers, so that gRPC never
// sees a server handshake.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().String()
}

func TestConnectTimeout(t *testing.T) {
	addr := silentListener(t)
	conn, err := Connect(t.Context(), addr, 200*time.Millisecond)
	if err == nil {
		_ = conn.Close()
		t.Fatal("Connect: got a connection from a server that never answers")
	}
	if want := "timed out after 200ms"; err.Error() != want {
		t.Errorf("Connect: got error %q, want %q", err, want)
	}
}

func TestConnectCanceled(t *testing.T) {
	addr := silentListener(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	conn, err := Connect(ctx, addr, 10*time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatal("Connect: got a connection from a server that never answers")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Connect: got error %v, want context.Canceled", err)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestReason(t *testing.T) {
	dnsErr := &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}
	other := errors.New("something else")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{"dns", &net.OpError{Op: "dial", Net: "tcp", Err: dnsErr}, "lookup nowhere.invalid: no such host"},
		{"timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, "timed out after 3s"},
		{"other", other, "something else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reason(tt.err, 3*time.Second).Error(); got != tt.want {
				t.Errorf("reason: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitServers(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" ", nil},
		{",, ,", nil},
		{"a:1", []string{"a:1"}},
		{"a:1,b:2", []string{"a:1", "b:2"}},
		{" a:1 , b:2 ", []string{"a:1", "b:2"}},
		{"a:1,,b:2,", []string{"a:1", "b:2"}},
	}
	for _, tt := range tests {
		if got := SplitServers(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SplitServers(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
