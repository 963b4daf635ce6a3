package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cairn-lake/cairn/cmd/internal/grpcdial"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// connectTimeout bounds the wait for one server to accept a connection.
const connectTimeout = 3 * time.Second

// client calls the cluster through the first server of a list that answers.
// It keeps one connection per address; the caller must call Close. It is
// safe for concurrent use.
type client struct {
	servers []string
	timeout time.Duration // per request
	token   string        // sent as "authorization: Bearer"; "" for none

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (g *globals) newClient() *client {
	token := g.token
	if token == "" {
		token = os.Getenv("CAIRN_TOKEN")
	}
	return &client{servers: g.servers(), timeout: g.timeout, token: strings.TrimSpace(token), conns: map[string]*grpc.ClientConn{}}
}

func (c *client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	clear(c.conns)
}

// conn returns the connection to addr, dialing it the first time and
// waiting at most connectTimeout for it to be ready. A failure says why in a
// few words ("connection refused").
func (c *client) conn(ctx context.Context, addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	conn, ok := c.conns[addr]
	c.mu.Unlock()
	if ok {
		return conn, nil
	}
	conn, err := grpcdial.Connect(ctx, addr, connectTimeout)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.conns[addr]; ok { // another goroutine won the race
		_ = conn.Close()
		return old, nil
	}
	c.conns[addr] = conn
	return conn, nil
}

// cluster runs fn with a ClusterService client of the first server that
// answers, trying the next server when one cannot be reached or answers
// Unavailable. Each call of fn gets its own --timeout deadline.
func (c *client) cluster(ctx context.Context, method string, fn func(context.Context, cairnv1.ClusterServiceClient) error) error {
	return c.any(ctx, method, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, cairnv1.NewClusterServiceClient(conn))
	})
}

// query runs fn with a QueryService client, as cluster does.
func (c *client) query(ctx context.Context, method string, fn func(context.Context, cairnv1.QueryServiceClient) error) error {
	return c.any(ctx, method, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, cairnv1.NewQueryServiceClient(conn))
	})
}

// any runs fn with the connection of the first server that answers, trying
// the next server when one cannot be reached or answers Unavailable.
func (c *client) any(ctx context.Context, method string, fn func(context.Context, *grpc.ClientConn) error) error {
	unreachable := &unreachableError{servers: c.servers}
	var lastRPC error
	for _, addr := range c.servers {
		conn, err := c.conn(ctx, addr)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			unreachable.reasons = append(unreachable.reasons, err)
			continue
		}
		err = c.callOn(ctx, func(ctx context.Context) error { return fn(ctx, conn) })
		if err == nil {
			return nil
		}
		lastRPC = &rpcError{addr: addr, method: method, timeout: c.timeout, err: err}
		if status.Code(err) != codes.Unavailable {
			return lastRPC
		}
	}
	if lastRPC != nil {
		return lastRPC
	}
	return unreachable
}

// node runs fn against the node at addr, without failing over.
func (c *client) node(ctx context.Context, addr, method string, fn func(context.Context, cairnv1.ClusterServiceClient) error) error {
	conn, err := c.conn(ctx, addr)
	if err != nil {
		return &unreachableError{servers: []string{addr}, reasons: []error{err}, node: true}
	}
	err = c.callOn(ctx, func(ctx context.Context) error {
		return fn(ctx, cairnv1.NewClusterServiceClient(conn))
	})
	if err != nil {
		return &rpcError{addr: addr, method: method, timeout: c.timeout, err: err}
	}
	return nil
}

// callOn runs fn with the --timeout deadline and the token.
func (c *client) callOn(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	return fn(ctx)
}
