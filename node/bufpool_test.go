package node

import "testing"

// The pool hands out buffers of the length asked for, big enough, and hands
// back a buffer it was given when one of that size is asked for again.
func TestBufferPool(t *testing.T) {
	var p bufferPool
	for _, n := range []int{0, 1, 255, 256, 257, 700 << 10, 1 << 24, 1<<24 + 1} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d, cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
	}
	b := p.Get(700 << 10)
	(*b)[0] = 42
	p.Put(b)
	// sync.Pool may drop what it holds at a GC; try a few times.
	for range 10 {
		again := p.Get(600 << 10)
		if len(*again) != 600<<10 {
			t.Fatalf("Get(600 KiB): len %d", len(*again))
		}
		if &(*again)[0] == &(*b)[0] {
			if (*again)[0] != 42 {
				t.Fatal("a pooled buffer was cleared")
			}
			return
		}
		p.Put(b)
	}
	t.Fatal("a buffer put back was never handed out again")
}
