package node

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/experimental"
)

// gRPC's default buffer pool clears every buffer it hands out, over its
// whole capacity. gRPC fills the buffer of a received message before anything
// reads it, so for ingest batches of hundreds of kilobytes the clearing is
// pure cost: about 2% of the CPU of the 3-node ingest benchmark. A node uses
// a pool that does not clear instead, for its server and its connections to
// peers (serverBuffers, peerBuffers), and the process for the proto codec,
// which only the default pool reaches.
var messageBuffers = &bufferPool{}

var (
	serverBuffers = experimental.BufferPool(messageBuffers)
	peerBuffers   = experimental.WithBufferPool(messageBuffers)
)

func init() {
	experimental.SetDefaultBufferPool(messageBuffers)
}

// Buffers of 2^minBufferTier to 2^maxBufferTier bytes are pooled, by power of
// two; others are allocated each time.
const (
	minBufferTier = 8
	maxBufferTier = 24
)

// bufferPool is a grpc mem.BufferPool that does not clear what it hands out.
type bufferPool struct {
	tiers [maxBufferTier + 1]sync.Pool // tier t holds buffers of capacity >= 2^t
}

func (p *bufferPool) Get(length int) *[]byte {
	t := max(bits.Len(uint(length-1)), minBufferTier) // 2^t >= length
	if length <= 0 || t > maxBufferTier {
		b := make([]byte, length)
		return &b
	}
	if b, ok := p.tiers[t].Get().(*[]byte); ok {
		*b = (*b)[:length]
		return b
	}
	b := make([]byte, length, 1<<t)
	return &b
}

func (p *bufferPool) Put(b *[]byte) {
	t := bits.Len(uint(cap(*b))) - 1 // 2^t <= cap
	if t < minBufferTier || t > maxBufferTier {
		return
	}
	p.tiers[t].Put(b)
}
