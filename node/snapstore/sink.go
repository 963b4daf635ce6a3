package snapstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errSinkCanceled ends the sink's parser when the sink is canceled.
var errSinkCanceled = errors.New("snapstore: sink canceled")

// sink writes one snapshot into <id>.tmp/ and finalizes it atomically on
// Close. As data is written it is also parsed on a goroutine (live marker or
// full archive, checksum included), so a snapshot that is truncated or
// corrupt in transit is never finalized: Write or Close fails instead, and
// raft sends it again.
//
// Raft uses a sink from one goroutine: Write, then Close or Cancel. Close and
// Cancel are idempotent and may be called in either order.
type sink struct {
	store *Store
	tmp   string
	meta  storedMeta

	f  *os.File
	bw *bufio.Writer
	n  int64

	pw     *io.PipeWriter
	parsed chan parseResult // receives once, when the parser is done

	done bool
}

type parseResult struct {
	kind    string
	applied uint64
	err     error
}

func newSink(s *Store, tmp string, meta storedMeta) (*sink, error) {
	f, err := os.OpenFile(filepath.Join(tmp, dataFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create snapshot data file: %w", err)
	}
	pr, pw := io.Pipe()
	sk := &sink{
		store:  s,
		tmp:    tmp,
		meta:   meta,
		f:      f,
		bw:     bufio.NewWriterSize(f, 256<<10),
		pw:     pw,
		parsed: make(chan parseResult, 1),
	}
	go func() {
		res := parseData(pr)
		// Unblock and fail any further Write if parsing stopped early.
		_ = pr.CloseWithError(res.err)
		sk.parsed <- res
	}()
	return sk, nil
}

// parseData checks that r holds exactly one live marker or one archive.
func parseData(r io.Reader) parseResult {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(len(markerMagic))
	if err != nil {
		return parseResult{err: fmt.Errorf("%w: snapshot data is %d bytes, too short for a live marker or an archive", ErrCorrupt, len(magic))}
	}
	switch string(magic) {
	case markerMagic:
		applied, err := ReadLiveMarker(br)
		if err != nil {
			return parseResult{err: err}
		}
		if _, err := br.ReadByte(); err != io.EOF {
			return parseResult{err: fmt.Errorf("%w: data after the live marker", ErrCorrupt)}
		}
		return parseResult{kind: kindMarker, applied: applied}
	case archiveMagic:
		err := readArchive(br, archiveVisitor{
			dir: func(string) error { return nil },
			file: func(_ string, _ int64, content io.Reader) error {
				_, err := io.Copy(io.Discard, content)
				return err
			},
		})
		if err != nil {
			return parseResult{err: err}
		}
		return parseResult{kind: kindArchive}
	default:
		return parseResult{err: fmt.Errorf("%w: snapshot data starts with %q: neither a live marker (write one with WriteLiveMarker) nor an archive", ErrCorrupt, magic)}
	}
}

// ID returns the snapshot's ID, usable with Open once Close succeeded.
func (s *sink) ID() string { return s.meta.ID }

// Write appends p to the snapshot data.
func (s *sink) Write(p []byte) (int, error) {
	if s.done {
		return 0, errors.New("snapstore: write to a closed snapshot sink")
	}
	n, err := s.bw.Write(p)
	s.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("cannot write snapshot data: %w", err)
	}
	if _, err := s.pw.Write(p); err != nil {
		return 0, fmt.Errorf("cannot write snapshot data: %w", err)
	}
	return n, nil
}

// Close finalizes the snapshot: it checks the data parsed completely, fsyncs
// data and meta, renames <id>.tmp to <id>, fsyncs the store dir and reaps old
// snapshots. On error nothing is left behind.
func (s *sink) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	if err := s.finalize(); err != nil {
		_ = os.RemoveAll(s.tmp)
		s.store.logger.Error("cannot finalize snapshot", "id", s.meta.ID, "error", err)
		return fmt.Errorf("cannot finalize snapshot %s: %w", s.meta.ID, err)
	}
	if err := s.store.reap(); err != nil {
		s.store.logger.Warn("cannot reap old snapshots", "error", err)
	}
	return nil
}

func (s *sink) finalize() error {
	flushErr := s.bw.Flush()
	_ = s.pw.Close()
	res := <-s.parsed
	syncErr := s.f.Sync()
	closeErr := s.f.Close()
	if err := errors.Join(flushErr, syncErr, closeErr); err != nil {
		return err
	}
	if res.err != nil {
		return res.err
	}

	s.meta.Kind = res.kind
	s.meta.AppliedIndex = res.applied
	s.meta.Size = s.n
	b, err := encodeMeta(&s.meta)
	if err != nil {
		return err
	}
	if err := writeFileSynced(filepath.Join(s.tmp, metaFile), int64(len(b)), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("cannot write %s: %w", metaFile, err)
	}
	if err := syncDir(s.tmp); err != nil {
		return err
	}
	if err := os.Rename(s.tmp, filepath.Join(s.store.dir, s.meta.ID)); err != nil {
		return err
	}
	if err := syncDir(s.store.dir); err != nil {
		return err
	}
	s.store.logger.Debug("snapshot finalized", "id", s.meta.ID, "kind", res.kind, "bytes", s.n)
	return nil
}

// Cancel discards the snapshot.
func (s *sink) Cancel() error {
	if s.done {
		return nil
	}
	s.done = true
	_ = s.pw.CloseWithError(errSinkCanceled)
	<-s.parsed
	closeErr := s.f.Close()
	if err := os.RemoveAll(s.tmp); err != nil {
		return fmt.Errorf("cannot remove canceled snapshot %s: %w", s.meta.ID, err)
	}
	if closeErr != nil && !errors.Is(closeErr, os.ErrClosed) {
		s.store.logger.Warn("cannot close canceled snapshot file", "id", s.meta.ID, "error", closeErr)
	}
	return nil
}
