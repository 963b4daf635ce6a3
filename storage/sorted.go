package storage

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// sortedWrites collects the writes of one batch and adds them to it in key
// order. The order depends only on the keys and on the order of the calls,
// so the batch is the same on every replica.
//
// Pebble inserts a batch into the memtable skiplist in batch order. An insert
// whose key falls in the same gap as the previous one's (no key of the
// memtable between them) starts from where that one ended and takes a few
// steps; any other searches from the top of a skiplist of up to a million
// entries, with a cache miss at most steps. An entry's events come from many
// accounts, days and API calls, so their writes come in random order; in key
// order, an account's events of one API call that arrive in time order fall
// next to each other, after everything older.
type sortedWrites struct {
	buf    []byte // keys and values
	writes []pendingWrite
	order  []writeOrder // sorted, rather than the bigger writes
}

type pendingWrite struct {
	key   span
	value span   // in buf, when ref is nil
	ref   []byte // the value, when it is not copied
}

type writeOrder struct {
	head uint64 // the key's first 8 bytes, big-endian, zero-padded
	i    int    // index in writes, which breaks ties of equal keys
}

type span struct{ start, end int }

func (w *sortedWrites) reset() {
	w.buf = w.buf[:0]
	w.writes = w.writes[:0]
	w.order = w.order[:0]
}

// set copies key and value.
func (w *sortedWrites) set(key []byte, value []byte) {
	w.add(pendingWrite{key: appendSpan(w, key), value: appendSpan(w, value)})
}

// setString copies key and value.
func (w *sortedWrites) setString(key []byte, value string) {
	w.add(pendingWrite{key: appendSpan(w, key), value: appendSpan(w, value)})
}

// setRef copies key and keeps value, which must stay unchanged until flush.
func (w *sortedWrites) setRef(key []byte, value []byte) {
	w.add(pendingWrite{key: appendSpan(w, key), ref: value})
}

// setRecord copies key and sets it to the record value of raw (see
// appendRecordValue).
func (w *sortedWrites) setRecord(key []byte, raw []byte, k *recordKey[string]) {
	ks := appendSpan(w, key)
	start := len(w.buf)
	w.buf = appendRecordValue(w.buf, raw, k)
	w.add(pendingWrite{key: ks, value: span{start, len(w.buf)}})
}

func (w *sortedWrites) add(pw pendingWrite) {
	w.order = append(w.order, writeOrder{head: keyHead(w.bytes(pw.key)), i: len(w.writes)})
	w.writes = append(w.writes, pw)
}

// appendSpan copies p to w.buf and returns where it is.
func appendSpan[T string | []byte](w *sortedWrites, p T) span {
	start := len(w.buf)
	w.buf = append(w.buf, p...)
	return span{start, len(w.buf)}
}

func (w *sortedWrites) bytes(s span) []byte { return w.buf[s.start:s.end] }

// keyHead returns the first 8 bytes of key as a big-endian number, padded
// with zeros: most keys of a batch differ there, so most comparisons of the
// sort need not read the keys.
func keyHead(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// flush adds the writes to b in key order (equal keys in the order they were
// set, so the last one wins, as in a batch), and resets w.
func (w *sortedWrites) flush(b *pebble.Batch) error {
	slices.SortFunc(w.order, func(x, y writeOrder) int {
		if x.head != y.head {
			return cmp.Compare(x.head, y.head)
		}
		if c := bytes.Compare(w.bytes(w.writes[x.i].key), w.bytes(w.writes[y.i].key)); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	for _, o := range w.order {
		pw := &w.writes[o.i]
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
