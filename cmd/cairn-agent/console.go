package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
)

// console writes messages and the progress line to stderr. On a terminal
// the progress line is redrawn in place; elsewhere it is one line every
// progressEvery. Quiet leaves only errors. It is safe for concurrent use.
type console struct {
	mu       sync.Mutex
	w        io.Writer
	quiet    bool
	tty      bool
	lineOpen bool // a progress line is on screen without its newline
}

// progressEvery spaces progress lines when stderr is not a terminal.
const progressEvery = 5 * time.Second

func newConsole(w io.Writer, quiet bool) *console {
	c := &console{w: w, quiet: quiet}
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

// notef prints an informational line unless quiet.
func (c *console) notef(format string, args ...any) {
	if !c.quiet {
		c.errorf(format, args...)
	}
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

// startProgress prints a progress line (every second on a terminal, every
// progressEvery elsewhere) until the returned function is called. Quiet
// consoles print none.
func (c *console) startProgress(read func() figures) (stop func()) {
	if c.quiet {
		return func() {}
	}
	interval := progressEvery
	if c.tty {
		interval = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		last, lastAt := int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				f := read()
				resolved := f.stats.Resolved()
				rate := float64(resolved-last) / now.Sub(lastAt).Seconds()
				last, lastAt = resolved, now
				c.progressLine(progressText(f, rate))
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

func progressText(f figures, rate float64) string {
	s := f.stats
	return fmt.Sprintf("%ssent %d stored %d duplicate %d rejected %d backlog %d (%.0f events/s)",
		filesText(f), s.Sent+f.rejectedLocally, s.Stored, s.Duplicate, s.Rejected+f.rejectedLocally, f.backlog(), rate)
}

// filesText counts the files of a directory source, for the progress and
// summary lines; it is empty for other sources.
func filesText(f figures) string {
	d := f.files
	switch {
	case d == (source.DirStats{}):
		return ""
	case d.Skipped()+d.FilesFailed == 0:
		return fmt.Sprintf("files %d ", d.FilesRead)
	}
	return fmt.Sprintf("files %d (skipped %d, failed %d) ", d.FilesRead, d.Skipped(), d.FilesFailed)
}

// rejectLog reports rejected events: the first limit on the console, every
// one in the --rejects file when there is one. It is safe for concurrent use.
type rejectLog struct {
	con    *console
	limit  int
	file   *os.File // nil without --rejects
	mu     sync.Mutex
	shown  int
	hidden int
	tooBig int64
	err    error // the first error writing file
}

// newRejectLog opens path (if not empty) for appending.
func newRejectLog(con *console, path string, limit int) (*rejectLog, error) {
	r := &rejectLog{con: con, limit: limit}
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("cannot open rejects file: %w", err)
		}
		r.file = f
	}
	return r, nil
}

// rejectLine is one line of the --rejects file.
type rejectLine struct {
	Time    string          `json:"time"`
	EventID string          `json:"eventID,omitempty"`
	Reason  string          `json:"reason"`
	Record  json.RawMessage `json:"record,omitempty"`     // the record, when it is valid JSON
	Text    string          `json:"recordText,omitempty"` // the record otherwise
}

// add records a rejection by the cluster.
func (r *rejectLog) add(rej deliver.Rejection) {
	id := rej.EventID
	if id == "" {
		id = "record " + excerpt(rej.Record)
	}
	r.record(rej.EventID, rej.Reason, rej.Record, fmt.Sprintf("rejected %s: %s", id, rej.Reason))
}

// tooLarge records a record the agent did not send because of its size.
func (r *rejectLog) tooLarge(rec []byte) {
	r.mu.Lock()
	r.tooBig++
	r.mu.Unlock()
	reason := fmt.Sprintf("record of %d bytes is over the agent's %d-byte limit", len(rec), maxRecordBytes)
	r.record("", reason, rec, fmt.Sprintf("rejected record %s: %s", excerpt(rec), reason))
}

func (r *rejectLog) record(eventID, reason string, rec []byte, msg string) {
	r.mu.Lock()
	show := r.shown < r.limit
	if show {
		r.shown++
	} else {
		r.hidden++
	}
	if r.file != nil && r.err == nil {
		line := rejectLine{Time: time.Now().UTC().Format(time.RFC3339Nano), EventID: eventID, Reason: reason}
		if json.Valid(rec) {
			line.Record = rec
		} else {
			line.Text = string(rec)
		}
		data, err := json.Marshal(line)
		if err == nil {
			_, err = r.file.Write(append(data, '\n'))
		}
		if err != nil {
			r.err = fmt.Errorf("cannot write rejects file: %w", err)
			r.con.errorf("%v", r.err)
		}
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
		where := ""
		if r.file != nil {
			where = "; all are in " + r.file.Name()
		}
		r.con.errorf("… and %d more rejected events not shown%s", hidden, where)
	}
}

func (r *rejectLog) close() {
	if r.file != nil {
		if err := r.file.Close(); err != nil {
			r.con.errorf("cannot write rejects file: %v", err)
		}
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
