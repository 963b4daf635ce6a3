package snapstore

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Archive format, version 1. All integers are big-endian.
//
//	header   "CAIRNARC" (8 bytes) | version (1 byte)
//	entries  dir:  'd' | pathLen uint16 | path
//	         file: 'f' | pathLen uint16 | path | size uint64 | size bytes of content
//	end      'e' | entry count uint64 | total content bytes uint64
//	trailer  SHA-256 (32 bytes) of every byte above, header to end record
//
// Paths are slash-separated and relative to the archived directory; a
// directory always precedes its contents. Files are streamed with io.Copy, so
// writing or reading an archive holds no file in memory, and the exact length
// of an archive is known from the file sizes before the first byte is written
// (raft sends meta.Size as the stream length, see Open).
const (
	archiveMagic   = "CAIRNARC"
	archiveVersion = 1

	entryDir  = 'd'
	entryFile = 'f'
	entryEnd  = 'e'

	archiveHeaderLen = len(archiveMagic) + 1
	endRecordLen     = 1 + 8 + 8
	trailerLen       = sha256.Size

	// maxPathLen bounds one entry's path; checkpoints hold short names.
	maxPathLen = 4096
)

// archiveEntry is one directory or regular file of the archived tree.
type archiveEntry struct {
	rel  string // slash-separated, relative to the root
	dir  bool
	size int64 // of a file, as planned; the writer checks it did not change
}

func (e archiveEntry) encodedLen() int64 {
	n := int64(1 + 2 + len(e.rel))
	if !e.dir {
		n += 8 + e.size
	}
	return n
}

// planArchive walks root and returns its entries in archive order and the
// exact byte length of the archive writeArchive will produce. Only
// directories and regular files are allowed.
func planArchive(root string) ([]archiveEntry, int64, error) {
	var entries []archiveEntry
	size := int64(archiveHeaderLen + endRecordLen + trailerLen)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e := archiveEntry{rel: filepath.ToSlash(rel)}
		if len(e.rel) > maxPathLen {
			return fmt.Errorf("path %q is longer than %d bytes", e.rel, maxPathLen)
		}
		switch {
		case d.IsDir():
			e.dir = true
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			e.size = info.Size()
		default:
			return fmt.Errorf("%q is neither a regular file nor a directory (mode %v)", e.rel, d.Type())
		}
		entries = append(entries, e)
		size += e.encodedLen()
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("cannot plan snapshot archive of %s: %w", root, err)
	}
	return entries, size, nil
}

// writeArchive writes the archive of root's planned entries to w. It fails if
// a file's size differs from the plan, so the stream length always equals the
// planned size or the stream ends with an error.
func writeArchive(w io.Writer, root string, entries []archiveEntry) error {
	h := sha256.New()
	hw := io.MultiWriter(w, h)

	buf := make([]byte, 0, 64)
	buf = append(buf, archiveMagic...)
	buf = append(buf, archiveVersion)
	if _, err := hw.Write(buf); err != nil {
		return err
	}
	var total int64
	for _, e := range entries {
		buf = buf[:0]
		if e.dir {
			buf = append(buf, entryDir)
		} else {
			buf = append(buf, entryFile)
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(e.rel)))
		buf = append(buf, e.rel...)
		if !e.dir {
			buf = binary.BigEndian.AppendUint64(buf, uint64(e.size))
		}
		if _, err := hw.Write(buf); err != nil {
			return err
		}
		if e.dir {
			continue
		}
		if err := copyFile(hw, filepath.Join(root, filepath.FromSlash(e.rel)), e.size); err != nil {
			return fmt.Errorf("cannot archive %q: %w", e.rel, err)
		}
		total += e.size
	}
	buf = buf[:0]
	buf = append(buf, entryEnd)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(entries)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(total))
	if _, err := hw.Write(buf); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}

// copyFile copies exactly size bytes of the file at p to w.
func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() != size {
		return fmt.Errorf("file changed while archiving: size %d, planned %d", info.Size(), size)
	}
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("file shrank while archiving: read %d of %d bytes", n, size)
	}
	return nil
}

// archiveVisitor receives the entries of an archive as it is read. file must
// consume exactly size bytes from content (or return an error).
type archiveVisitor struct {
	dir  func(rel string) error
	file func(rel string, size int64, content io.Reader) error
}

// readArchive reads one archive from r, calling v for each entry, and checks
// the end record, the SHA-256 trailer, and that nothing follows the trailer.
// Any fault in the archive is reported as ErrCorrupt.
func readArchive(r io.Reader, v archiveVisitor) error {
	h := sha256.New()
	hr := &hashReader{r: r, h: h}

	var hdr [archiveHeaderLen]byte
	if err := readFull(hr, hdr[:], "header"); err != nil {
		return err
	}
	if string(hdr[:len(archiveMagic)]) != archiveMagic {
		return fmt.Errorf("%w: not a snapshot archive (magic %q)", ErrCorrupt, hdr[:len(archiveMagic)])
	}
	if hdr[len(archiveMagic)] != archiveVersion {
		return fmt.Errorf("%w: archive version %d, this build reads version %d", ErrUnsupported, hdr[len(archiveMagic)], archiveVersion)
	}

	var (
		count, total uint64
		tag          [1]byte
		u16          [2]byte
		u64          [8]byte
		pathBuf      = make([]byte, maxPathLen)
	)
	for {
		if err := readFull(hr, tag[:], fmt.Sprintf("entry %d", count)); err != nil {
			return err
		}
		if tag[0] == entryEnd {
			break
		}
		if tag[0] != entryDir && tag[0] != entryFile {
			return fmt.Errorf("%w: entry %d has unknown type 0x%02x", ErrCorrupt, count, tag[0])
		}
		if err := readFull(hr, u16[:], fmt.Sprintf("entry %d", count)); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(u16[:]))
		if n == 0 || n > maxPathLen {
			return fmt.Errorf("%w: entry %d has path length %d", ErrCorrupt, count, n)
		}
		if err := readFull(hr, pathBuf[:n], fmt.Sprintf("entry %d", count)); err != nil {
			return err
		}
		rel := string(pathBuf[:n])
		if !validRel(rel) {
			return fmt.Errorf("%w: entry %d has unsafe path %q", ErrCorrupt, count, rel)
		}
		count++
		if tag[0] == entryDir {
			if err := v.dir(rel); err != nil {
				return err
			}
			continue
		}
		if err := readFull(hr, u64[:], fmt.Sprintf("file %q", rel)); err != nil {
			return err
		}
		size := binary.BigEndian.Uint64(u64[:])
		if size > 1<<62 {
			return fmt.Errorf("%w: file %q has impossible size %d", ErrCorrupt, rel, size)
		}
		lr := &io.LimitedReader{R: hr, N: int64(size)}
		if err := v.file(rel, int64(size), lr); err != nil {
			if hr.err != nil { // the archive ran out, not the destination
				return fmt.Errorf("%w: file %q: read %d of %d bytes: %w", ErrCorrupt, rel, int64(size)-lr.N, size, hr.err)
			}
			return err
		}
		if lr.N != 0 {
			return fmt.Errorf("%w: file %q: read %d of %d bytes", ErrCorrupt, rel, int64(size)-lr.N, size)
		}
		total += size
	}

	var end [endRecordLen - 1]byte
	if err := readFull(hr, end[:], "end record"); err != nil {
		return err
	}
	if c := binary.BigEndian.Uint64(end[:8]); c != count {
		return fmt.Errorf("%w: end record counts %d entries, archive has %d", ErrCorrupt, c, count)
	}
	if b := binary.BigEndian.Uint64(end[8:]); b != total {
		return fmt.Errorf("%w: end record counts %d content bytes, archive has %d", ErrCorrupt, b, total)
	}
	computed := h.Sum(nil)
	var stored [trailerLen]byte
	if _, err := io.ReadFull(r, stored[:]); err != nil {
		return fmt.Errorf("%w: truncated in checksum trailer: %w", ErrCorrupt, err)
	}
	if string(stored[:]) != string(computed) {
		return fmt.Errorf("%w: checksum mismatch: trailer %x, content %x", ErrCorrupt, stored, computed)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(r, extra[:]); n != 0 {
		return fmt.Errorf("%w: data after the checksum trailer", ErrCorrupt)
	}
	return nil
}

// readFull reads len(p) bytes of the archive, naming what in the error.
func readFull(r io.Reader, p []byte, what string) error {
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w: truncated in %s: %w", ErrCorrupt, what, err)
	}
	return nil
}

// validRel reports whether rel is a clean, local, slash-separated path.
func validRel(rel string) bool {
	return rel != "." && path.Clean(rel) == rel && filepath.IsLocal(filepath.FromSlash(rel)) &&
		!path.IsAbs(rel)
}

// hashReader feeds every byte read from r into h and remembers r's first
// error, so a visitor's error can be told apart from a short archive.
type hashReader struct {
	r   io.Reader
	h   hash.Hash
	err error
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	if err != nil && hr.err == nil {
		hr.err = err
		if err == io.EOF {
			hr.err = io.ErrUnexpectedEOF
		}
	}
	return n, err
}
