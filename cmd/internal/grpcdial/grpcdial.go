// Package grpcdial connects the command-line clients (cairnctl, cairn-agent)
// to a Cairn server and says why in a few words when it cannot.
package grpcdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
)

// Connect connects to addr (host:port) over plain TCP and waits, at most
// timeout, until the connection is ready. A failure says why in a few words:
// "connection refused", "timed out after 3s", or the DNS error, rather than
// "dial tcp 127.0.0.1:7400: connect: connection refused". When ctx is
// canceled while waiting, the error is context.Canceled. The caller must
// Close the returned connection.
//
// opts are added after Connect's own options (insecure transport
// credentials and a TCP dialer); later options win.
func Connect(ctx context.Context, addr string, timeout time.Duration, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	d := &recordingDialer{}
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()), // TLS comes later
		grpc.WithContextDialer(d.dial),
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, append(base, opts...)...)
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
			return nil, d.failure("connection failed", timeout)
		}
		if !conn.WaitForStateChange(ctx, state) {
			_ = conn.Close()
			if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
				return nil, context.Canceled
			}
			return nil, d.failure(fmt.Sprintf("timed out after %s", timeout), timeout)
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

// failure returns the last dial error reduced to its cause, or fallback when
// no dial failed.
func (r *recordingDialer) failure(fallback string, timeout time.Duration) error {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if last == nil {
		return errors.New(fallback)
	}
	return reason(last, timeout)
}

// reason reduces a dial error to its cause: "connection refused" rather
// than "dial tcp 127.0.0.1:7400: connect: connection refused". The result
// still matches the cause with errors.Is and errors.As (syscall.Errno,
// *net.DNSError).
func reason(err error, timeout time.Duration) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Errorf("timed out after %s", timeout)
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) {
		return sysErr.Err // "connection refused"
	}
	return err
}

// SplitServers splits a comma-separated list of host:port addresses, as
// given to --server or CAIRN_SERVER, trimming spaces and dropping empty
// entries. It returns nil when no address is left.
func SplitServers(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
