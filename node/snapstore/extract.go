package snapstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Extract reads one archive produced by the store from r into dir, which must
// not exist (its parent is created if needed). It writes into dir+".tmp"
// (removing a leftover one from a crash), fsyncs every file and directory,
// verifies the SHA-256 trailer, and only then renames the result to dir. On
// any error, including a truncated or corrupt archive (ErrCorrupt), nothing
// is left at dir or dir+".tmp".
//
// r must end where the archive ends (Extract checks that nothing follows the
// trailer); Extract does not close r. Memory use is bounded: file contents are streamed.
func Extract(r io.Reader, dir string) (err error) {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("cannot extract snapshot archive into %s: %w", dir, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot extract snapshot archive into %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cannot create parent of %s: %w", dir, err)
	}
	tmp := dir + tmpSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("cannot remove stale %s: %w", tmp, err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()

	dirs := []string{tmp} // to fsync once their entries are in place
	mkdir := func(p string) error {
		if err := os.Mkdir(p, 0o755); err != nil {
			if errors.Is(err, fs.ErrExist) {
				if info, serr := os.Lstat(p); serr == nil && info.IsDir() {
					return nil
				}
			}
			return err
		}
		dirs = append(dirs, p)
		return nil
	}
	mkdirAll := func(rel string) error { return mkdirAllRel(rel, tmp, mkdir) }

	v := archiveVisitor{
		dir: func(rel string) error {
			if err := mkdirAll(rel); err != nil {
				return fmt.Errorf("cannot create directory %q: %w", rel, err)
			}
			return nil
		},
		file: func(rel string, size int64, content io.Reader) error {
			parentRel := filepath.ToSlash(filepath.Dir(filepath.FromSlash(rel)))
			if err := mkdirAll(parentRel); err != nil {
				return fmt.Errorf("cannot create directory %q: %w", parentRel, err)
			}
			if err := writeFileSynced(filepath.Join(tmp, filepath.FromSlash(rel)), size, content); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%w: file %q appears twice", ErrCorrupt, rel)
				}
				return fmt.Errorf("cannot write %q: %w", rel, err)
			}
			return nil
		},
	}
	if err := readArchive(bufio.NewReaderSize(r, 256<<10), v); err != nil {
		return fmt.Errorf("cannot extract snapshot archive into %s: %w", dir, err)
	}

	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return fmt.Errorf("cannot sync %s: %w", dirs[i], err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("cannot move extracted snapshot into place: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return fmt.Errorf("cannot sync %s: %w", parent, err)
	}
	return nil
}

// mkdirAllRel creates the slash-separated rel under root with mkdir, parents
// first.
func mkdirAllRel(rel, root string, mkdir func(string) error) error {
	if rel == "." || rel == "" {
		return nil
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if info, err := os.Lstat(p); err == nil && info.IsDir() {
		return nil
	}
	if err := mkdirAllRel(filepath.ToSlash(filepath.Dir(filepath.FromSlash(rel))), root, mkdir); err != nil {
		return err
	}
	return mkdir(p)
}

// writeFileSynced creates p (which must not exist), copies exactly size bytes
// of content into it and fsyncs it.
func writeFileSynced(p string, size int64, content io.Reader) (err error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.CopyN(f, content, size); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir fsyncs a directory, making the entries in it durable.
func syncDir(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
