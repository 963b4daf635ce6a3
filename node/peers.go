package node

import (
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Forwarded writes carry up to megabytes per call over one connection per
// peer; HTTP/2's default 64 KiB flow-control windows made them wait on
// window updates.
const (
	maxMessageBytes   = 64 << 20
	streamWindowBytes = 8 << 20
	connWindowBytes   = 32 << 20
)

// peerPool keeps one gRPC connection per peer address. Connections are made
// lazily and reconnect on their own; close releases them all.
type peerPool struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newPeerPool() *peerPool { return &peerPool{conns: map[string]*grpc.ClientConn{}} }

func (p *peerPool) client(addr string) cairnv1.ClusterServiceClient {
	return cairnv1.NewClusterServiceClient(p.conn(addr))
}

func (p *peerPool) conn(addr string) *grpc.ClientConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return c
	}
	// NewClient does not dial; it fails only on a malformed target, which
	// then fails every call with a clear error.
	c, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
		grpc.WithInitialWindowSize(streamWindowBytes),
		grpc.WithInitialConnWindowSize(connWindowBytes),
		peerBuffers)
	if err != nil {
		c, _ = grpc.NewClient("passthrough:///invalid-address", grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	p.conns[addr] = c
	return c
}

func (p *peerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, c := range p.conns {
		c.Close()
		delete(p.conns, a)
	}
}
