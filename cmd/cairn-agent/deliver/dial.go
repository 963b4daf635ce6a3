package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
)

// dial connects to one server and waits until the connection is ready, at
// most timeout. The error of a failed connection names the network cause
// ("connection refused", "timed out after 3s"). The caller must Close the
// returned connection.
func dial(ctx context.Context, addr string, timeout time.Duration, extra []grpc.DialOption) (*grpc.ClientConn, error) {
	d := &recordingDialer{}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(d.dial),
		// The Sender runs its own reconnect loop over the server list; keep
		// gRPC's internal backoff short so that it never hides a server that
		// came back.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: timeout,
		}),
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn.Connect()
	for {
		state := conn.GetState()
		switch state {
		case connectivity.Ready:
			return conn, nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			_ = conn.Close()
			if err := d.lastError(); err != nil {
				return nil, errors.New(netReason(err))
			}
			return nil, errors.New("connection failed")
		}
		if !conn.WaitForStateChange(ctx, state) {
			_ = conn.Close()
			if err := d.lastError(); err != nil {
				return nil, errors.New(netReason(err))
			}
			return nil, fmt.Errorf("timed out after %s", timeout)
		}
	}
}

// recordingDialer dials TCP and remembers the last error, which gRPC would
// otherwise only log.
type recordingDialer struct {
	d    net.Dialer
	mu   sync.Mutex
	last error
}

func (r *recordingDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := r.d.DialContext(ctx, "tcp", addr)
	if err != nil {
		r.mu.Lock()
		r.last = err
		r.mu.Unlock()
	}
	return c, err
}

func (r *recordingDialer) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// netReason reduces a dial error to its cause: "connection refused" rather
// than "dial tcp 127.0.0.1:7400: connect: connection refused".
func netReason(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timed out"
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) {
		return sysErr.Err.Error()
	}
	return err.Error()
}
