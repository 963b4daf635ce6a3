package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/spool"
)

// Size limits of what the agent sends. A gRPC server accepts messages up to
// 4 MiB unless configured otherwise; AWS caps one event at 256 KB.
const (
	maxBatchBytes  = 3 << 20
	maxRecordBytes = 1 << 20
)

// item is what the reader passes on: a record (nil when only completions
// are reported), where the source stood after it, and the files it
// completed before it.
type item struct {
	rec       []byte
	pos       source.Position
	completed []string
}

// readSource runs src on its own goroutine, so that a source that blocks
// (a followed directory, a pipe) never holds a partial batch back. It closes
// out when the source ends and returns the source's error, if any.
func readSource(ctx context.Context, src source.Reader, out chan<- item) error {
	defer close(out)
	tracker, _ := src.(source.Tracker)
	emit := func(it item) error {
		select {
		case out <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		rec, err := src.Next()
		var it item
		if tracker != nil {
			it.pos = tracker.Position()
			it.completed = tracker.Completed()
		}
		if err != nil {
			if len(it.completed) > 0 {
				if eerr := emit(it); eerr != nil {
					return eerr
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		it.rec = rec
		if err := emit(it); err != nil {
			return err
		}
	}
}

// batcher groups records into batches of at most size records and maxBytes
// bytes, spools each batch when there is a spool, and passes it on. A
// partial batch goes out after linger without new records.
type batcher struct {
	size       int
	maxBytes   int
	linger     time.Duration
	spool      *spool.Spool     // nil without --spool
	onTooLarge func(rec []byte) // a record over maxRecordBytes, not sent
	onSpooled  func(events int) // after each batch is spooled (or taken, without a spool)
}

// run first passes on the recovered batches, then the batches it makes
// from in, until in is closed; then it closes out.
func (b *batcher) run(ctx context.Context, recovered []*spool.Batch, in <-chan item, out chan<- *deliver.Batch) error {
	defer close(out)
	pass := func(db *deliver.Batch) error {
		select {
		case out <- db:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, rb := range recovered {
		if err := pass(&deliver.Batch{ID: rb.ID, Events: rb.Events}); err != nil {
			return err
		}
	}

	var (
		events    [][]byte
		bytes     int
		completed []string
		pos       source.Position
		moved     bool // pos or completed changed since the last flush
	)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	flush := func() error {
		linger.Stop()
		if len(events) == 0 && !moved {
			return nil
		}
		sb := &spool.Batch{Events: events, Completed: completed}
		if b.spool != nil {
			mark, err := json.Marshal(pos)
			if err != nil {
				return err
			}
			sb.Mark = mark
			if err := b.spool.Append(sb); err != nil {
				return err
			}
		}
		b.onSpooled(len(events))
		n := len(events)
		events, bytes, completed, moved = nil, 0, nil, false
		if n == 0 {
			return nil
		}
		return pass(&deliver.Batch{ID: sb.ID, Events: sb.Events})
	}
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-in:
		case <-linger.C:
			if err := flush(); err != nil {
				return err
			}
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return flush()
		}
		// Files completed before this record had all their records
		// returned before it: they belong with the batch being built.
		completed = append(completed, it.completed...)
		moved = true
		if it.rec == nil {
			pos = it.pos
			continue
		}
		if len(it.rec) > maxRecordBytes {
			pos = it.pos
			b.onTooLarge(it.rec)
			continue
		}
		if bytes+len(it.rec) > b.maxBytes && len(events) > 0 {
			// The record starts the next batch: this one ends where the
			// source stood before it.
			if err := flush(); err != nil {
				return err
			}
		}
		pos, moved = it.pos, true
		if len(events) == 0 {
			linger.Reset(b.linger)
		}
		events = append(events, it.rec)
		bytes += len(it.rec)
		if len(events) >= b.size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
