package snapstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// errStreamClosed ends the archive writer when the reader is closed early.
var errStreamClosed = errors.New("snapstore: archive stream closed by reader")

// archiveStream is the reader Open returns for a live marker: an archive of
// a checkpoint, written on a goroutine into a pipe, so it is produced as fast
// as raft sends it and never held in memory. Read and Close are for one
// goroutine (raft's); Close may come before the end and is idempotent.
type archiveStream struct {
	pr      *io.PipeReader
	done    chan struct{}
	cleanup func() error

	closeOnce sync.Once
	closeErr  error
}

// newArchiveStream starts writing the archive of entries under root; size is
// the planned length. cleanup runs on Close, after the writer has stopped.
func newArchiveStream(root string, entries []archiveEntry, size int64, cleanup func() error) *archiveStream {
	pr, pw := io.Pipe()
	st := &archiveStream{pr: pr, done: make(chan struct{}), cleanup: cleanup}
	go func() {
		defer close(st.done)
		cw := &countingWriter{w: pw}
		bw := bufio.NewWriterSize(cw, 256<<10)
		err := writeArchive(bw, root, entries)
		if err == nil {
			err = bw.Flush()
		}
		if err == nil && cw.n != size {
			// Raft would send a stream of the wrong length: never let it end cleanly.
			err = fmt.Errorf("snapstore: internal error: archive is %d bytes, planned %d", cw.n, size)
		}
		_ = pw.CloseWithError(err)
	}()
	return st
}

func (st *archiveStream) Read(p []byte) (int, error) { return st.pr.Read(p) }

// Close stops the writer and removes the checkpoint.
func (st *archiveStream) Close() error {
	st.closeOnce.Do(func() {
		_ = st.pr.CloseWithError(errStreamClosed)
		<-st.done
		if err := st.cleanup(); err != nil {
			st.closeErr = fmt.Errorf("cannot remove snapshot checkpoint: %w", err)
		}
	})
	return st.closeErr
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
