package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// candidate is a file found below the root, ready to be read.
type candidate struct {
	rel  string    // slash-separated, relative to the root
	path string    // for opening
	when time.Time // delivery time: from the name, else the mtime
}

// observation is what a walk saw of a file that has not settled yet.
type observation struct {
	size  int64
	mtime time.Time
	since time.Time // when this size and mtime were first seen
	scan  int       // the walk that last saw the file
}

// deliveryStamp is the delivery time CloudTrail puts in a log file's name:
// <account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<random>.json.gz.
var deliveryStamp = regexp.MustCompile(`_([0-9]{8}T[0-9]{4}Z)_`)

// scan walks the tree and returns, in delivery order (see Dir), the files
// that are new since the last walk and ready to read: every new one, or when
// following, those that have settled. Files reported by Done are marked seen
// and counted, not returned. Problems are noted once per path.
func (d *Dir) scan(now time.Time) []candidate {
	var ready []candidate
	_ = filepath.WalkDir(d.root, func(path string, de fs.DirEntry, err error) error {
		rel := d.rel(path)
		if err != nil { // the root or a directory could not be read
			name := rel
			if rel == "." {
				name = d.root
			}
			d.noteOnce(rel, "cannot read %s: %v", name, pathErr(err))
			return nil
		}
		if rel == "." {
			return nil
		}
		if strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() || d.seen[rel] {
			return nil
		}
		if rel == d.opts.Resume.File {
			d.resumeFound = true
		}
		if d.opts.Done != nil && d.opts.Done(rel) {
			d.seen[rel] = true
			d.stats.done.Add(1)
			return nil
		}
		info, err := fileInfo(path, de)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // gone since the directory was listed, or a dangling symlink
		case err != nil:
			d.noteOnce(rel, "cannot read %s: %v", rel, pathErr(err))
			return nil
		case info.IsDir():
			d.noteOnce(rel, "skipped %s: a symlink to a directory, which is not followed", rel)
			return nil
		case !info.Mode().IsRegular():
			d.noteOnce(rel, "skipped %s: not a regular file", rel)
			return nil
		}
		if d.opts.Follow && !d.settled(rel, info, now) {
			return nil
		}
		d.seen[rel] = true
		ready = append(ready, candidate{rel: rel, path: path, when: deliveryTime(de.Name(), info.ModTime())})
		return nil
	})
	for rel, o := range d.pending {
		if o.scan != d.scans {
			delete(d.pending, rel) // renamed or removed before it settled
		}
	}
	slices.SortFunc(ready, func(a, b candidate) int {
		if c := a.when.Compare(b.when); c != 0 {
			return c
		}
		return strings.Compare(a.rel, b.rel)
	})
	return ready
}

// settled reports whether the file's size and mtime have stayed as they are
// for opts.Settle, as far as the walks so far have seen.
func (d *Dir) settled(rel string, info fs.FileInfo, now time.Time) bool {
	o, ok := d.pending[rel]
	if !ok || o.size != info.Size() || !o.mtime.Equal(info.ModTime()) {
		d.pending[rel] = observation{size: info.Size(), mtime: info.ModTime(), since: now, scan: d.scans}
		return false
	}
	if now.Sub(o.since) < d.opts.Settle {
		o.scan = d.scans
		d.pending[rel] = o
		return false
	}
	delete(d.pending, rel)
	return true
}

// rel turns a path from the walk into a slash-separated path below the root.
func (d *Dir) rel(path string) string {
	rel, err := filepath.Rel(d.root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

func (d *Dir) noteOnce(rel, format string, args ...any) {
	if d.noted[rel] {
		return
	}
	d.noted[rel] = true
	d.note(format, args...)
}

// fileInfo describes the file at path, following a symlink.
func fileInfo(path string, de fs.DirEntry) (fs.FileInfo, error) {
	if de.Type()&fs.ModeSymlink != 0 {
		return os.Stat(path)
	}
	return de.Info()
}

// deliveryTime is the time stamped in a CloudTrail log file name, or else
// mtime.
func deliveryTime(name string, mtime time.Time) time.Time {
	if m := deliveryStamp.FindStringSubmatch(name); m != nil {
		if t, err := time.Parse("20060102T1504Z", m[1]); err == nil {
			return t
		}
	}
	return mtime
}
