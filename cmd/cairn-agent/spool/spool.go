// Package spool keeps the agent's batches on local disk from the moment they
// are read from a source until the cluster acknowledges them, so that an
// agent killed at any point resends, after a restart, exactly the batches
// that were not acknowledged, and resumes its source where it stood instead
// of reading it again from the start.
//
// A spool directory holds:
//
//	lock             held (flock) by the one agent using the spool
//	state.json       the source description, the next batch id and the
//	                 source position after the last batch spooled
//	NNNN.seg         batches, appended in id order (see record.go); a new
//	                 segment starts at every Open and whenever one grows
//	                 past Options.SegmentBytes
//	NNNN.ack         the ids of that segment's acknowledged batches
//	files.log        the files read to their end, one path per line
//
// Durability: Append and Ack each finish with one write(2), so everything
// they recorded survives the process being killed. Sync makes it survive a
// machine crash too (fsync), moves file completions into files.log and only
// then deletes segments whose every batch was acknowledged.
package spool

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Batch is one spooled batch.
type Batch struct {
	// ID is assigned by Append, increasing from 1 over the life of the spool.
	ID uint64
	// Events are the raw records.
	Events [][]byte
	// Mark is the source's position after this batch, opaque to the spool.
	Mark []byte
	// Completed names the files whose every record is in this batch or an
	// earlier one.
	Completed []string
}

// Options tune a spool. Zero fields take the defaults shown.
type Options struct {
	// SegmentBytes is the size past which a new segment starts (16 MiB).
	SegmentBytes int64
}

// Recovered is what Open found in an existing spool.
type Recovered struct {
	// Source is the description last given to SetSource; nil for a new spool.
	Source []byte
	// Unacked are the batches spooled but not acknowledged, in id order:
	// they must be sent again before anything new.
	Unacked []*Batch
	// Done holds every file recorded as read to its end.
	Done map[string]bool
	// Mark is the source position after the last batch ever spooled; nil
	// when nothing was spooled yet.
	Mark []byte
}

// Errors.
var (
	// ErrLocked: another process holds the spool.
	ErrLocked = errors.New("spool is in use by another cairn-agent")
	// ErrUnknownBatch: Ack named a batch the spool does not hold.
	ErrUnknownBatch = errors.New("no such spooled batch")
)

// Spool is an open spool directory. Its methods are safe for concurrent use.
// The caller must call Close.
type Spool struct {
	dir  string
	opts Options
	lock *os.File

	mu          sync.Mutex
	segs        []*segment // by first id; the last one takes appends
	nextID      uint64
	source      []byte
	mark        []byte
	pendingDone []string // completions not yet in files.log
	stateDirty  bool     // nextID or mark changed since state.json was written
	buf         []byte
	closed      bool
}

// segment is one .seg file and its .ack file.
type segment struct {
	first   uint64
	last    uint64 // highest id in it; first-1 while empty
	seg     *os.File
	ack     *os.File // opened on the first ack
	size    int64
	batches int // batches with events
	acked   int // of those, acknowledged
	dirty   bool
}

type state struct {
	Source json.RawMessage `json:"source,omitempty"`
	NextID uint64          `json:"next_id"`
	Mark   []byte          `json:"mark,omitempty"`
}

// Open opens the spool in dir, creating it if needed, and recovers what an
// earlier run left there.
func Open(dir string, opts Options) (*Spool, *Recovered, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 16 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cannot create spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	s := &Spool{dir: dir, opts: opts, lock: lock, nextID: 1}
	rec, err := s.recover()
	if err == nil {
		err = s.startSegment()
	}
	if err != nil {
		s.closeFiles()
		_ = unlockDir(lock)
		return nil, nil, err
	}
	return s, rec, nil
}

// recover reads state.json, files.log and every segment.
func (s *Spool) recover() (*Recovered, error) {
	rec := &Recovered{Done: map[string]bool{}}
	st, err := s.readState()
	if err != nil {
		return nil, err
	}
	if len(st.Source) > 0 {
		s.source = st.Source
		rec.Source = st.Source
	}
	if st.NextID > s.nextID {
		s.nextID = st.NextID
	}
	s.mark = st.Mark
	if err := s.readDoneLog(rec.Done); err != nil {
		return nil, err
	}

	names, err := filepath.Glob(filepath.Join(s.dir, "*.seg"))
	if err != nil {
		return nil, err
	}
	type found struct {
		first uint64
		path  string
	}
	var segFiles []found
	for _, p := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(p), ".seg"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot recover spool: unexpected file %s", p)
		}
		segFiles = append(segFiles, found{first, p})
	}
	sort.Slice(segFiles, func(i, j int) bool { return segFiles[i].first < segFiles[j].first })

	var last *Batch
	for _, sf := range segFiles {
		sg, batches, err := s.recoverSegment(sf.first, sf.path)
		if err != nil {
			return nil, err
		}
		if len(batches) == 0 { // a run that spooled nothing
			if err := removeIfExists(sf.path); err != nil {
				return nil, err
			}
			if err := removeIfExists(s.ackPath(sf.first)); err != nil {
				return nil, err
			}
			continue
		}
		acked, err := readAcks(s.ackPath(sf.first))
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			for _, f := range b.Completed {
				if !rec.Done[f] {
					rec.Done[f] = true
					s.pendingDone = append(s.pendingDone, f)
				}
			}
			if len(b.Events) > 0 {
				sg.batches++
				if acked[b.ID] {
					sg.acked++
				} else {
					rec.Unacked = append(rec.Unacked, b)
				}
			}
			if b.ID >= s.nextID {
				s.nextID = b.ID + 1
			}
			last = b
		}
		s.segs = append(s.segs, sg)
	}
	if last != nil && last.ID+1 >= s.nextID {
		s.mark = last.Mark
	}
	rec.Mark = s.mark
	return rec, nil
}

// recoverSegment reads a segment's intact frames and cuts off a torn tail.
func (s *Spool) recoverSegment(first uint64, path string) (*segment, []*Batch, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot recover spool: %w", err)
	}
	sg := &segment{first: first, last: first - 1}
	var batches []*Batch
	rest := data
	for len(rest) > 0 {
		b, r, err := parseFrame(rest)
		if errors.Is(err, errTorn) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("cannot recover spool segment %s: %w", path, err)
		}
		batches = append(batches, b)
		sg.last = b.ID
		rest = r
	}
	good := int64(len(data) - len(rest))
	if good < int64(len(data)) {
		if err := os.Truncate(path, good); err != nil {
			return nil, nil, fmt.Errorf("cannot cut torn tail of %s: %w", path, err)
		}
	}
	sg.size = good
	return sg, batches, nil
}

func readAcks(path string) (map[uint64]bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot recover spool: %w", err)
	}
	acked := make(map[uint64]bool, len(data)/8)
	for ; len(data) >= 8; data = data[8:] { // a torn last id is not an ack
		acked[binary.BigEndian.Uint64(data)] = true
	}
	return acked, nil
}

func (s *Spool) readState() (state, error) {
	var st state
	data, err := os.ReadFile(filepath.Join(s.dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		return st, fmt.Errorf("cannot read spool state: %w", err)
	}
	return st, nil
}

func (s *Spool) readDoneLog(done map[string]bool) error {
	f, err := os.Open(filepath.Join(s.dir, "files.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read spool file log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if p, err := strconv.Unquote(sc.Text()); err == nil { // a torn last line is not a completion
			done[p] = true
		}
	}
	return sc.Err()
}

func (s *Spool) segPath(first uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.seg", first))
}

func (s *Spool) ackPath(first uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.ack", first))
}

// startSegment opens a new segment for appends, starting at the next id.
func (s *Spool) startSegment() error {
	if n := len(s.segs); n > 0 {
		cur := s.segs[n-1]
		if cur.seg != nil {
			if err := cur.seg.Sync(); err != nil {
				return fmt.Errorf("cannot sync spool: %w", err)
			}
			_ = cur.seg.Close()
			cur.seg = nil
		}
	}
	f, err := os.OpenFile(s.segPath(s.nextID), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create spool segment: %w", err)
	}
	s.segs = append(s.segs, &segment{first: s.nextID, last: s.nextID - 1, seg: f})
	return nil
}

// SetSource records the description of the source the spool belongs to.
func (s *Spool) SetSource(desc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.source = slices.Clone(desc)
	return s.writeState()
}

// Append spools b, assigning b.ID. A batch without events is recorded for
// its mark and completions and counts as acknowledged at once.
func (s *Spool) Append(b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool is closed")
	}
	cur := s.segs[len(s.segs)-1]
	if cur.size >= s.opts.SegmentBytes {
		if err := s.startSegment(); err != nil {
			return err
		}
		cur = s.segs[len(s.segs)-1]
	}
	b.ID = s.nextID
	s.buf = appendFrame(s.buf[:0], b)
	if _, err := cur.seg.Write(s.buf); err != nil {
		// A partial frame is a torn tail that recovery cuts off; nothing
		// after it may be appended to this segment.
		if serr := s.startSegment(); serr != nil {
			return errors.Join(fmt.Errorf("cannot spool batch: %w", err), serr)
		}
		return fmt.Errorf("cannot spool batch: %w", err)
	}
	s.nextID++
	cur.last = b.ID
	cur.size += int64(len(s.buf))
	cur.dirty = true
	if len(b.Events) > 0 {
		cur.batches++
	}
	s.mark = slices.Clone(b.Mark)
	s.stateDirty = true
	s.pendingDone = append(s.pendingDone, b.Completed...)
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	return nil
}

// Ack records that every event of batch id has a final outcome.
func (s *Spool) Ack(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].last >= id })
	if i == len(s.segs) || id < s.segs[i].first {
		return fmt.Errorf("cannot acknowledge batch %d: %w", id, ErrUnknownBatch)
	}
	sg := s.segs[i]
	if sg.ack == nil {
		f, err := os.OpenFile(s.ackPath(sg.first), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("cannot record acknowledgement: %w", err)
		}
		sg.ack = f
	}
	if _, err := sg.ack.Write(binary.BigEndian.AppendUint64(nil, id)); err != nil {
		return fmt.Errorf("cannot record acknowledgement: %w", err)
	}
	sg.acked++
	sg.dirty = true
	return nil
}

// Sync makes everything recorded so far durable, records completed files in
// files.log and deletes the segments whose batches were all acknowledged.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.sync()
}

func (s *Spool) sync() error {
	for _, sg := range s.segs {
		if !sg.dirty {
			continue
		}
		if sg.seg != nil {
			if err := sg.seg.Sync(); err != nil {
				return fmt.Errorf("cannot sync spool: %w", err)
			}
		}
		if sg.ack != nil {
			if err := sg.ack.Sync(); err != nil {
				return fmt.Errorf("cannot sync spool: %w", err)
			}
		}
		sg.dirty = false
	}
	if len(s.pendingDone) > 0 {
		if err := s.appendDoneLog(s.pendingDone); err != nil {
			return err
		}
		s.pendingDone = nil
	}
	if s.stateDirty { // an idle agent does not rewrite state.json
		if err := s.writeState(); err != nil {
			return err
		}
	}
	// Every completion is in files.log and the mark in state.json: segments
	// whose batches were all acknowledged hold nothing more.
	kept := s.segs[:0]
	for i, sg := range s.segs {
		if i < len(s.segs)-1 && sg.acked == sg.batches {
			sg.close()
			if err := removeIfExists(s.segPath(sg.first)); err != nil {
				return err
			}
			if err := removeIfExists(s.ackPath(sg.first)); err != nil {
				return err
			}
			continue
		}
		kept = append(kept, sg)
	}
	clear(s.segs[len(kept):])
	s.segs = kept
	return nil
}

func (s *Spool) appendDoneLog(paths []string) error {
	var buf []byte
	for _, p := range paths {
		buf = strconv.AppendQuote(buf, p)
		buf = append(buf, '\n')
	}
	if err := writeSynced(filepath.Join(s.dir, "files.log"), os.O_APPEND, buf); err != nil {
		return fmt.Errorf("cannot record completed files: %w", err)
	}
	return nil
}

// writeState replaces state.json atomically.
func (s *Spool) writeState() error {
	data, err := json.Marshal(state{Source: s.source, NextID: s.nextID, Mark: s.mark})
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, "state.json")
	err = writeSynced(path+".tmp", os.O_TRUNC, data)
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("cannot write spool state: %w", err)
	}
	s.stateDirty = false
	return nil
}

// writeSynced writes data to the file at path, opened with os.O_CREATE |
// os.O_WRONLY | flag, and makes it durable before closing it.
func writeSynced(path string, flag int, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|flag, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Stats describes the spool's content.
type Stats struct {
	Bytes    int64 // size of the segments on disk
	Unacked  int   // batches with events not yet acknowledged
	Segments int
}

// Stats returns the current figures.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Segments: len(s.segs)}
	for _, sg := range s.segs {
		st.Bytes += sg.size
		st.Unacked += sg.batches - sg.acked
	}
	return st
}

// Close syncs the spool and releases it.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.sync()
	s.closed = true
	s.closeFiles()
	if uerr := unlockDir(s.lock); err == nil {
		err = uerr
	}
	return err
}

func (s *Spool) closeFiles() {
	for _, sg := range s.segs {
		sg.close()
	}
}

func (sg *segment) close() {
	if sg.seg != nil {
		_ = sg.seg.Close()
		sg.seg = nil
	}
	if sg.ack != nil {
		_ = sg.ack.Close()
		sg.ack = nil
	}
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot delete spent spool file: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
