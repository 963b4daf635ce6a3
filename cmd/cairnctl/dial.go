package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
)

// connectTimeout bounds the wait for one server to accept a connection.
const connectTimeout = 3 * time.Second

// dial connects to addr and waits, at most connectTimeout, until the
// connection is ready. A failure says why in a few words ("connection
// refused"). The caller must Close the connection.
func dial(ctx context.Context, addr string) (*grpc.ClientConn, error) {
	d := &recordingDialer{}
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()), // TLS comes later
		grpc.WithContextDialer(d.dial),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn.Connect()
	for {
		state := conn.GetState()
		switch state {
		case connectivity.Ready:
			return conn, nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			_ = conn.Close()
			return nil, d.failure("connection failed")
		}
		if !conn.WaitForStateChange(ctx, state) {
			_ = conn.Close()
			if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
				return nil, context.Canceled
			}
			return nil, d.failure(fmt.Sprintf("timed out after %s", connectTimeout))
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

// failure returns the last dial error reduced to its cause, or fallback.
func (r *recordingDialer) failure(fallback string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return errors.New(fallback)
	}
	var dnsErr *net.DNSError
	if errors.As(r.last, &dnsErr) {
		return dnsErr
	}
	var netErr net.Error
	if errors.As(r.last, &netErr) && netErr.Timeout() {
		return fmt.Errorf("timed out after %s", connectTimeout)
	}
	var sysErr *os.SyscallError
	if errors.As(r.last, &sysErr) {
		return sysErr.Err // "connection refused"
	}
	return r.last
}
