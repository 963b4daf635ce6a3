package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Defaults of DirOptions.
const (
	defaultPoll   = 2 * time.Second
	defaultSettle = 2 * time.Second
)

// DirOptions says how a Dir reads its tree. The zero value reads every file
// once, from its start.
type DirOptions struct {
	// Follow keeps watching for new files after the existing ones are read.
	Follow bool
	// Poll is how often the tree is walked for new files when following;
	// 0 means 2s.
	Poll time.Duration
	// Settle is how long, when following, a file's size and mtime must stay
	// unchanged before it is read, so that a file still being written is not
	// read half-way; 0 means 2s. Without Follow every file is read at once.
	Settle time.Duration
	// Done reports files already delivered (paths relative to the root,
	// slash-separated); they are skipped silently. Nil means none.
	Done func(rel string) bool
	// Resume names a partly read file: its first Resume.Records records are
	// passed over, if the file is found below the root and is not Done.
	Resume Position
	// Note receives one human-readable line for each file skipped, unreadable
	// or not parsed to its end. It is called from the goroutine that calls
	// Next (or OpenDir). Nil discards the lines.
	Note func(msg string)
}

// DirStats counts what a Dir has done so far.
type DirStats struct {
	FilesRead      int64 // read to their end, including empty ones
	FilesFailed    int64 // could not be opened, or stopped at a parse error
	DigestsSkipped int64 // CloudTrail-Digest files
	OthersSkipped  int64 // not CloudTrail log files, judged by name or by content
	AlreadyDone    int64 // reported by DirOptions.Done
	Records        int64 // returned by Next
}

// Skipped is the number of files skipped with a note.
func (s DirStats) Skipped() int64 { return s.DigestsSkipped + s.OthersSkipped }

// Dir reads the CloudTrail log files below a root directory, recursively,
// and implements Reader and Tracker. Any layout will do; the one CloudTrail
// writes to S3 is AWSLogs/[o-orgid/]<account>/CloudTrail/<region>/YYYY/MM/DD/.
//
// Which files are read:
//   - Hidden files and directories (a name starting with '.') are ignored
//     without a note or a count: sync tools keep their partial files there.
//   - CloudTrail digest files are skipped with a note: those below a
//     "CloudTrail-Digest" directory or with "_CloudTrail-Digest_" in the name.
//   - Files named *.json, *.gz, *.jsonl, *.ndjson or *.log (in any case) are
//     read, gzip or plain, in any format Splitter accepts; others (.csv, .txt,
//     README, …) are skipped with a note.
//   - A file whose first record is a top-level object with none of the keys
//     eventVersion, eventID, eventTime, eventName or eventSource (a digest
//     body, a CloudWatch Logs envelope) is skipped with a note, and nothing of
//     it returned.
//   - A file that cannot be opened or parsed to its end is noted with the
//     number of records read before the error; those records are returned.
//   - Directory symlinks and special files are not followed, with a note.
//
// The file name is never read for an account or a region: the cluster takes
// those from each record.
//
// Files are read in delivery order: by the time CloudTrail stamps in a log
// file's name (_YYYYMMDDTHHMMZ_), else by the file's mtime, then by path.
// When following, each poll reads the files that are new since the last, in
// the same order among themselves. Every poll walks the whole tree; a file
// seen before costs one directory entry, a new one a stat per poll until it
// settles. A file is read once: one that changes after it was read is not
// read again.
//
// Next, Position, Completed and Close must be called from one goroutine;
// Stats may be called from any. The caller must call Close.
type Dir struct {
	ctx  context.Context
	root string // the directory walked: the one given, a symlink resolved
	opts DirOptions

	// The tree, as far as it has been walked.
	scans       int                    // walks so far
	queue       []candidate            // files found and not yet started, in delivery order
	seen        map[string]bool        // files taken from the tree: queued, read, skipped or done
	pending     map[string]observation // files found while following that have not settled
	noted       map[string]bool        // paths whose problem (unreadable, not a file) was noted
	resumeFound bool                   // the walk has come across opts.Resume.File
	timer       *time.Timer            // between walks when following

	// The file being read; split is nil between files.
	f      *os.File
	split  *Splitter
	curRel string
	read   int64 // records read from the file, including those passed over
	skip   int64 // records to pass over when resuming

	pos       Position
	completed []string
	stats     struct {
		filesRead, filesFailed, digests, others, done, records atomic.Int64
	}
}

// OpenDir returns a Dir reading the files below root. Files are found by the
// first call to Next, not here. Next returns ctx.Err() once ctx is done.
func OpenDir(ctx context.Context, root string, opts DirOptions) (*Dir, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("cannot open records directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("cannot open records directory %s: it is not a directory; give the directory that holds the log files", root)
	}
	walkRoot, err := filepath.EvalSymlinks(root) // WalkDir would not enter a symlinked root
	if err != nil {
		return nil, fmt.Errorf("cannot open records directory: %w", err)
	}
	if opts.Poll <= 0 {
		opts.Poll = defaultPoll
	}
	if opts.Settle <= 0 {
		opts.Settle = defaultSettle
	}
	return &Dir{
		ctx:     ctx,
		root:    walkRoot,
		opts:    opts,
		seen:    make(map[string]bool),
		pending: make(map[string]observation),
		noted:   make(map[string]bool),
		pos:     opts.Resume,
	}, nil
}

// Next returns the next record. Without Follow it returns io.EOF after the
// last record of the last file; with Follow it waits for new files until ctx
// is done. Once ctx is done it returns ctx.Err().
func (d *Dir) Next() ([]byte, error) {
	for {
		if err := d.ctx.Err(); err != nil {
			d.closeFile()
			return nil, err
		}
		if d.split != nil {
			if rec, ok := d.readRecord(); ok {
				return rec, nil
			}
			continue
		}
		if len(d.queue) > 0 {
			c := d.queue[0]
			d.queue[0] = candidate{}
			d.queue = d.queue[1:]
			d.start(c)
			continue
		}
		if d.scans > 0 {
			if !d.opts.Follow {
				return nil, io.EOF
			}
			d.wait()
			if d.ctx.Err() != nil {
				continue
			}
		}
		d.queue = d.scan(time.Now())
		d.scans++
		if d.scans == 1 && d.opts.Resume.File != "" && !d.resumeFound {
			d.note("cannot resume %s after record %d: there is no such file below the directory; reading the others",
				d.opts.Resume.File, d.opts.Resume.Records)
		}
	}
}

// Position returns the file of the last record Next returned and how many of
// its records were returned, counting those passed over when resuming. Before
// the first record it is DirOptions.Resume.
func (d *Dir) Position() Position { return d.pos }

// Completed returns the files finished since the last call, in the order
// they were finished: read to their end, skipped with a note, or failed (the
// records before the failure were returned). Done and hidden files are not
// included. The list grows with every file until it is taken, so a caller
// that does not track positions should still call Completed now and then.
func (d *Dir) Completed() []string {
	c := d.completed
	d.completed = nil
	return c
}

// Stats returns the counts so far. It is safe to call from any goroutine.
func (d *Dir) Stats() DirStats {
	return DirStats{
		FilesRead:      d.stats.filesRead.Load(),
		FilesFailed:    d.stats.filesFailed.Load(),
		DigestsSkipped: d.stats.digests.Load(),
		OthersSkipped:  d.stats.others.Load(),
		AlreadyDone:    d.stats.done.Load(),
		Records:        d.stats.records.Load(),
	}
}

// Close closes the file being read, if any. Next must not be called after.
func (d *Dir) Close() error {
	if d.timer != nil {
		d.timer.Stop()
	}
	return d.closeFile()
}

// wait returns after opts.Poll or when ctx is done.
func (d *Dir) wait() {
	if d.timer == nil {
		d.timer = time.NewTimer(d.opts.Poll)
	} else {
		d.timer.Reset(d.opts.Poll)
	}
	select {
	case <-d.ctx.Done():
	case <-d.timer.C:
	}
}

// outcome is how a file was finished.
type outcome int

const (
	outcomeRead outcome = iota
	outcomeFailed
	outcomeDigest
	outcomeOther
)

// start begins the file c: it finishes it at once when it is skipped or
// cannot be opened, and otherwise makes it the file Next reads.
func (d *Dir) start(c candidate) {
	switch classifyName(c.rel) {
	case nameDigest:
		d.note("skipped %s: a CloudTrail digest file, not a log file", c.rel)
		d.finish(c.rel, outcomeDigest)
		return
	case nameOther:
		d.note("skipped %s: not a CloudTrail log file name (want %s)", c.rel, logExtensionList)
		d.finish(c.rel, outcomeOther)
		return
	}
	f, err := os.Open(c.path)
	if err != nil {
		d.note("cannot read %s: %v", c.rel, pathErr(err))
		d.finish(c.rel, outcomeFailed)
		return
	}
	s, err := NewSplitter(f)
	if err != nil {
		_ = f.Close()
		d.note("cannot read %s: %v", c.rel, err)
		d.finish(c.rel, outcomeFailed)
		return
	}
	d.f, d.split, d.curRel, d.read, d.skip = f, s, c.rel, 0, 0
	if c.rel == d.opts.Resume.File {
		d.skip = d.opts.Resume.Records
	}
}

// readRecord returns the next record of the current file to hand on, or
// false once the file is finished.
func (d *Dir) readRecord() ([]byte, bool) {
	for {
		rec, err := d.split.Next()
		if errors.Is(err, io.EOF) {
			if d.read < d.skip {
				d.note("cannot resume %s after record %d: it has only %d records now; nothing more is read from it",
					d.curRel, d.skip, d.read)
			}
			d.finish(d.curRel, outcomeRead)
			return nil, false
		}
		if err != nil {
			d.note("cannot read all of %s: %v; %s read before the error, the rest is skipped",
				d.curRel, err, plural(d.read, "record was", "records were"))
			d.finish(d.curRel, outcomeFailed)
			return nil, false
		}
		if d.read == 0 && d.split.bare && !looksLikeRecord(rec) {
			d.note("skipped %s: not CloudTrail records (its first object has no %q key and none of %s)",
				d.curRel, "Records", recordKeyList)
			d.finish(d.curRel, outcomeOther)
			return nil, false
		}
		d.read++
		if d.read <= d.skip {
			continue
		}
		d.pos = Position{File: d.curRel, Records: d.read}
		d.stats.records.Add(1)
		return rec, true
	}
}

// finish closes the current file, if any, counts the file's outcome and adds
// it to the completed list.
func (d *Dir) finish(rel string, o outcome) {
	_ = d.closeFile() // read-only: a close error loses nothing
	switch o {
	case outcomeRead:
		d.stats.filesRead.Add(1)
	case outcomeFailed:
		d.stats.filesFailed.Add(1)
	case outcomeDigest:
		d.stats.digests.Add(1)
	case outcomeOther:
		d.stats.others.Add(1)
	}
	d.completed = append(d.completed, rel)
}

func (d *Dir) closeFile() error {
	d.split = nil
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

func (d *Dir) note(format string, args ...any) {
	if d.opts.Note != nil {
		d.opts.Note(fmt.Sprintf(format, args...))
	}
}

// pathErr drops the path from an *fs.PathError, for messages that name the
// file themselves.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// plural renders n with the singular or plural phrase.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
