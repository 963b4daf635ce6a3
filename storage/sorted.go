package storage

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// sortedWrites collects the writes of one batch and adds them to it in key
// order.
//
// Pebble inserts a batch into the memtable skiplist in batch order, and
// starts each insert's search from where the previous one ended: an insert
// that lands near the previous one takes a few steps, one in random order a
// search from the top of a skiplist of up to a million entries, with a cache
// miss at most of its steps. An entry's events come from many accounts, days
// and API calls, so their keys arrive in random order; sorted, neighbouring
// writes land near each other.
type sortedWrites struct {
	buf    []byte // keys, and the values that set copied
	writes []pendingWrite
}

type pendingWrite struct {
	key   span
	value span   // in buf, when ref is nil
	ref   []byte // the value, when it is not copied
	seq   int    // order of the call, which breaks ties of equal keys
}

type span struct{ start, end int }

func (w *sortedWrites) reset() {
	w.buf = w.buf[:0]
	w.writes = w.writes[:0]
}

// set copies key and value.
func (w *sortedWrites) set(key []byte, value []byte) {
	k := w.appendBytes(key)
	w.writes = append(w.writes, pendingWrite{key: k, value: w.appendBytes(value), seq: len(w.writes)})
}

// setString copies key and value.
func (w *sortedWrites) setString(key []byte, value string) {
	k := w.appendBytes(key)
	start := len(w.buf)
	w.buf = append(w.buf, value...)
	w.writes = append(w.writes, pendingWrite{key: k, value: span{start, len(w.buf)}, seq: len(w.writes)})
}

// setRef copies key and keeps value, which must stay unchanged until flush.
func (w *sortedWrites) setRef(key []byte, value []byte) {
	w.writes = append(w.writes, pendingWrite{key: w.appendBytes(key), ref: value, seq: len(w.writes)})
}

func (w *sortedWrites) appendBytes(p []byte) span {
	start := len(w.buf)
	w.buf = append(w.buf, p...)
	return span{start, len(w.buf)}
}

func (w *sortedWrites) bytes(s span) []byte { return w.buf[s.start:s.end] }

// flush adds the writes to b in key order (equal keys in the order they were
// set, so the last one wins, as in a batch), and resets w.
func (w *sortedWrites) flush(b *pebble.Batch) error {
	slices.SortFunc(w.writes, func(x, y pendingWrite) int {
		if c := bytes.Compare(w.bytes(x.key), w.bytes(y.key)); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	for _, pw := range w.writes {
		value := pw.ref
		if value == nil {
			value = w.bytes(pw.value)
		}
		if err := b.Set(w.bytes(pw.key), value, nil); err != nil {
			return err
		}
	}
	w.reset()
	return nil
}
