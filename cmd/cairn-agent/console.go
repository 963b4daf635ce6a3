package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
)

// console writes messages and the progress line to stderr. On a terminal
// the progress line is redrawn in place; elsewhere it is one line per
// second. It is safe for concurrent use.
type console struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	lineOpen bool // a progress line is on screen without its newline
}

func newConsole(w io.Writer) *console {
	c := &console{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.tty = true
		}
	}
	return c
}

// errorf prints one message line, prefixed with the program name.
func (c *console) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLine()
	fmt.Fprintf(c.w, "cairn-agent: "+format+"\n", args...)
}

func (c *console) clearLine() {
	if c.lineOpen {
		fmt.Fprint(c.w, "\r\x1b[K")
		c.lineOpen = false
	}
}

func (c *console) progressLine(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty {
		fmt.Fprint(c.w, "\r"+line+"\x1b[K")
		c.lineOpen = true
		return
	}
	fmt.Fprintln(c.w, line)
}

type progress struct {
	stats           deliver.Stats
	rejectedLocally int64
}

// startProgress prints a progress line every second until the returned
// function is called; with quiet it prints nothing.
func (c *console) startProgress(quiet bool, read func() progress) (stop func()) {
	if quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last, lastAt := int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				p := read()
				s := p.stats
				resolved := s.Stored + s.Duplicate + s.Rejected
				rate := float64(resolved-last) / now.Sub(lastAt).Seconds()
				last, lastAt = resolved, now
				c.progressLine(fmt.Sprintf("sent %d stored %d duplicate %d rejected %d (%.0f events/s)",
					s.Sent+p.rejectedLocally, s.Stored, s.Duplicate, s.Rejected+p.rejectedLocally, rate))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		c.mu.Lock()
		c.clearLine()
		c.mu.Unlock()
	}
}

// rejectLog prints the first limit rejected events with their reasons and
// counts the rest. It is safe for concurrent use.
type rejectLog struct {
	con    *console
	limit  int
	mu     sync.Mutex
	shown  int
	hidden int
	tooBig int64
}

func newRejectLog(con *console, limit int) *rejectLog {
	return &rejectLog{con: con, limit: limit}
}

// add records a rejection by the cluster.
func (r *rejectLog) add(rej deliver.Rejection) {
	id := rej.EventID
	if id == "" {
		id = "record " + excerpt(rej.Record)
	}
	r.print(fmt.Sprintf("rejected %s: %s", id, rej.Reason))
}

// tooLarge records a record the agent did not send because of its size.
func (r *rejectLog) tooLarge(rec []byte) {
	r.mu.Lock()
	r.tooBig++
	r.mu.Unlock()
	r.print(fmt.Sprintf("rejected record %s: %d bytes, over the %d-byte limit", excerpt(rec), len(rec), maxRecordBytes))
}

func (r *rejectLog) print(msg string) {
	r.mu.Lock()
	show := r.shown < r.limit
	if show {
		r.shown++
	} else {
		r.hidden++
	}
	r.mu.Unlock()
	if show {
		r.con.errorf("%s", msg)
	}
}

// local is the number of records rejected by the agent itself.
func (r *rejectLog) local() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tooBig
}

// flush reports how many rejections were not printed.
func (r *rejectLog) flush() {
	r.mu.Lock()
	hidden := r.hidden
	r.mu.Unlock()
	if hidden > 0 {
		r.con.errorf("… and %d more rejected events not shown", hidden)
	}
}

// excerpt returns the start of a record, on one line, for messages.
func excerpt(rec []byte) string {
	const n = 60
	rec = bytes.Join(bytes.Fields(rec), []byte(" "))
	if len(rec) > n {
		return fmt.Sprintf("%q…", rec[:n])
	}
	return fmt.Sprintf("%q", rec)
}
