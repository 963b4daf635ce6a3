package storage

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// ValidateEvent returns an error wrapping ErrInvalidEvent if storage cannot key
// e: e is nil, its account or eventID is empty, or its account, region or
// eventID contains a 0x00 byte. It is a pure function of e, so the ingest path
// can reject such events before proposing them, and every replica agrees.
func ValidateEvent(e *cairnv1.Event) error {
	switch {
	case e == nil:
		return fmt.Errorf("%w: nil event", ErrInvalidEvent)
	case e.GetAccount() == "":
		return fmt.Errorf("%w: empty account", ErrInvalidEvent)
	case e.GetEventId() == "":
		return fmt.Errorf("%w: empty eventID", ErrInvalidEvent)
	case strings.IndexByte(e.GetAccount(), 0) >= 0:
		return fmt.Errorf("%w: account contains a 0x00 byte", ErrInvalidEvent)
	case strings.IndexByte(e.GetRegion(), 0) >= 0:
		return fmt.Errorf("%w: region contains a 0x00 byte", ErrInvalidEvent)
	case strings.IndexByte(e.GetEventId(), 0) >= 0:
		return fmt.Errorf("%w: eventID contains a 0x00 byte", ErrInvalidEvent)
	case len(e.GetRaw()) > 0 && len(e.GetRecord()) > 0:
		return fmt.Errorf("%w: both raw and record are set", ErrInvalidEvent)
	}
	if len(e.GetRecord()) > 0 {
		k := eventRecordKey(e)
		if err := checkRecordValue(e.Record, &k); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
		}
	}
	return nil
}

// ApplyIngest applies the Raft entry at index: it stores events in one Pebble
// batch that also records index as the applied index and updates the event
// count, and returns one status per event, in input order.
//
// An event is EVENT_STATUS_DUPLICATE, and writes nothing, when its dedup
// identity (UTC day of eventTime, account, eventID) is already stored or
// repeats an earlier event of the same call; otherwise it is
// EVENT_STATUS_STORED and its record is stored: Record as given, or the
// record value of Raw, which is the same bytes (see record.go). Reading gives
// back Raw exactly.
//
// ApplyIngest keeps no reference to events, their strings or their bytes
// after it returns.
//
// ApplyIngest is deterministic: the same events applied to the same prior
// state leave the same keys and values and return the same statuses on every
// replica. It reads no clock and no randomness, and no map order reaches its
// output. (A replica may write an eventName index entry that it already
// stores, where another knew it stored and did not: see knownCalls.)
//
// Errors, after which nothing was written (not even the applied index):
//   - ErrStaleIndex: index <= AppliedIndex(). The FSM must skip such entries.
//   - ErrInvalidEvent: an event fails ValidateEvent. Every replica fails the
//     same way; the FSM decides what the entry means (for example: reject all
//     its events and call SetAppliedIndex).
//   - anything else: I/O failure or corruption. The replica cannot go on
//     applying entries and must stop.
func (db *DB) ApplyIngest(index uint64, events []*cairnv1.Event) ([]cairnv1.EventStatus, error) {
	release, err := db.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	db.applyMu.Lock()
	defer db.applyMu.Unlock()

	if err := db.checkIndex(index); err != nil {
		return nil, fmt.Errorf("cannot apply entry %d: %w", index, err)
	}
	size := 64
	for i, e := range events {
		if err := ValidateEvent(e); err != nil {
			return nil, fmt.Errorf("cannot apply entry %d: event %d: %w", index, i, err)
		}
		size += len(e.Raw) + len(e.Record) + 2*len(e.Account) + 2*len(e.EventId) + 2*len(e.Region) + 64
	}

	b := db.applyBatch(size)
	committed := false
	defer func() {
		if !committed { // a failed batch is not reused
			db.dropApplyBatch()
			db.counts.abort()
			db.calls.abort()
		}
	}()
	db.seenDays.pending = db.seenDays.pending[:0] // nothing of a failed batch
	statuses := make([]cairnv1.EventStatus, len(events))
	// inBatch holds the summary keys (the dedup identities) written by this
	// call. It is only probed, never iterated, so its order cannot reach the
	// output.
	inBatch := make(map[string]struct{}, len(events))
	w := &db.writes
	w.reset()
	var sumKey, idKey, key, value []byte
	var stored uint64
	for i, e := range events {
		sumKey = appendSummaryKey(sumKey[:0], e.Account, e.Region, e.EventTimeUnixNano, e.EventId)
		idKey = appendEventIDKey(idKey[:0], e.Account, e.Region, e.EventTimeUnixNano, e.EventId)
		dup, err := db.seen(sumKey, idKey, dayOf(e.EventTimeUnixNano), inBatch)
		if err != nil {
			return nil, fmt.Errorf("cannot apply entry %d: event %d: %w", index, i, err)
		}
		if dup {
			statuses[i] = cairnv1.EventStatus_EVENT_STATUS_DUPLICATE
			continue
		}
		inBatch[string(sumKey)] = struct{}{}

		key = appendRecordKey(key[:0], e.Account, e.EventSource, e.EventName, e.Region, e.EventTimeUnixNano, e.EventId)
		if e.Record != nil {
			w.setRef(key, e.Record)
		} else {
			k := eventRecordKey(e)
			w.setRecord(key, e.Raw, &k)
		}
		w.set(idKey, nil)
		value = writeIndexes(w, value, sumKey, e)
		if indexable(e.EventName) {
			key = appendCallKey(key[:0], dayOf(e.EventTimeUnixNano), e.EventName, e.Account, e.EventSource)
			if db.calls.add(key) {
				w.set(key, nil)
			}
		}
		db.counts.addEvent(e)
		statuses[i] = cairnv1.EventStatus_EVENT_STATUS_STORED
		stored++
	}
	if err := w.flush(b); err != nil {
		return nil, fmt.Errorf("cannot apply entry %d: %w", index, err)
	}
	if err := db.counts.write(db.pdb, b); err != nil {
		return nil, fmt.Errorf("cannot apply entry %d: %w", index, err)
	}

	count := db.events.Load() + stored
	if err := db.commitMeta(b, index, &count); err != nil {
		return nil, fmt.Errorf("cannot apply entry %d: %w", index, err)
	}
	committed = true
	// After the commit, so that a cache loaded meanwhile from a snapshot
	// that lacks these events still learns their accounts, and so that the
	// dedup memory and the count cache hold only what is committed.
	for i, e := range events {
		if statuses[i] != cairnv1.EventStatus_EVENT_STATUS_STORED {
			continue
		}
		if i == 0 || e.Account != events[i-1].Account {
			db.noteAccount(e.Account)
		}
	}
	db.seenDays.commit()
	db.counts.commit()
	db.calls.commit()
	return statuses, nil
}

// maxRetainedBatch bounds the batch ApplyIngest keeps for the next entry.
// An entry's batch takes about 1.5 MB; allocating and zeroing that afresh for
// every entry on every replica cost more than keeping it.
const maxRetainedBatch = 4 << 20

// applyBatch returns the DB's empty batch for ApplyIngest. The caller holds
// applyMu.
func (db *DB) applyBatch(size int) *pebble.Batch {
	if db.batch == nil {
		db.batch = db.pdb.NewBatchWithSize(size, pebble.WithMaxRetainedSizeBytes(maxRetainedBatch))
	} else {
		db.batch.Reset()
	}
	return db.batch
}

// dropApplyBatch closes the batch applyBatch keeps, if any. The caller holds
// applyMu, or no call can use the DB any more.
func (db *DB) dropApplyBatch() {
	if db.batch != nil {
		db.batch.Close()
		db.batch = nil
	}
}

// writeIndexes adds e's summary, under sumKey, and its lookup index entries
// to w, using buf as scratch, and returns buf.
func writeIndexes(w *sortedWrites, buf, sumKey []byte, e *cairnv1.Event) []byte {
	buf = append(buf[:0], sumKey...)
	n := len(buf)
	buf = appendSummary(buf, e)
	w.set(buf[:n], buf[n:])
	for _, ix := range indexedAttrs {
		v := ix.ofEvent(e)
		if !indexable(v) {
			continue
		}
		buf = appendIndexKey(buf[:0], indexKey{attr: ix.attr, account: e.Account, value: v, eventTime: e.EventTimeUnixNano, region: e.Region})
		w.set(buf, nil)
	}
	return buf
}

// SetAppliedIndex records index as applied without other changes, for entries
// that change nothing in this DB. It returns ErrStaleIndex if index <=
// AppliedIndex().
func (db *DB) SetAppliedIndex(index uint64) error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()
	db.applyMu.Lock()
	defer db.applyMu.Unlock()

	if err := db.checkIndex(index); err != nil {
		return fmt.Errorf("cannot set applied index %d: %w", index, err)
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	if err := db.commitMeta(b, index, nil); err != nil {
		return fmt.Errorf("cannot set applied index %d: %w", index, err)
	}
	return nil
}

// checkIndex returns ErrStaleIndex unless index is above the applied index.
func (db *DB) checkIndex(index uint64) error {
	if applied := db.applied.Load(); index <= applied {
		return fmt.Errorf("%w: index %d, applied %d", ErrStaleIndex, index, applied)
	}
	return nil
}

// commitMeta adds the applied index (and the event count, if count is not nil)
// to b, commits b without sync (the Raft log is the WAL), and mirrors the new
// meta values in memory. The caller holds applyMu.
func (db *DB) commitMeta(b *pebble.Batch, index uint64, count *uint64) error {
	var buf [8]byte
	if err := b.Set(appliedIndexKey, appendUint64(buf[:0], index), nil); err != nil {
		return fmt.Errorf("cannot write applied index: %w", err)
	}
	if count != nil {
		if err := b.Set(eventCountKey, appendUint64(buf[:0], *count), nil); err != nil {
			return fmt.Errorf("cannot write event count: %w", err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("cannot commit batch: %w", err)
	}
	db.applied.Store(index)
	if count != nil {
		db.events.Store(*count)
	}
	return nil
}
