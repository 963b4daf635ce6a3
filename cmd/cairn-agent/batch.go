package main

import (
	"context"
	"errors"
	"io"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
)

// Size limits of what the agent sends. A gRPC server accepts messages up to
// 4 MiB unless configured otherwise; AWS caps one event at 256 KB.
const (
	maxBatchBytes  = 3 << 20
	maxRecordBytes = 1 << 20
)

// batcher groups a source's records into batches of at most size records
// and maxBytes bytes.
type batcher struct {
	src        source.Reader
	size       int
	maxBytes   int
	onTooLarge func(rec []byte) // a record over maxRecordBytes, not sent
}

// run sends batches to out until the source ends or ctx is done, then
// closes out. It returns the source's error, if any.
func (b *batcher) run(ctx context.Context, out chan<- *deliver.Batch) error {
	defer close(out)
	cur := &deliver.Batch{}
	curBytes := 0
	flush := func() error {
		if len(cur.Events) == 0 {
			return nil
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur, curBytes = &deliver.Batch{}, 0
		return nil
	}
	for {
		rec, err := b.src.Next()
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return err
		}
		if len(rec) > maxRecordBytes {
			b.onTooLarge(rec)
			continue
		}
		if curBytes+len(rec) > b.maxBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		cur.Events = append(cur.Events, rec)
		curBytes += len(rec)
		if len(cur.Events) >= b.size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
