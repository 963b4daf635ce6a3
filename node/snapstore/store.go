package snapstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Sentinel errors of the package.
var (
	// ErrCorrupt means snapshot data is truncated, altered, or not in a format
	// of this package. A received snapshot with this error is rejected and
	// raft sends it again.
	ErrCorrupt = errors.New("snapstore: snapshot data is corrupt or truncated")
	// ErrUnsupported means the data has a format version this build cannot read.
	ErrUnsupported = errors.New("snapstore: unsupported snapshot format version")
	// ErrStateBehind means the newest snapshot is a live marker for an index
	// the live DB has not reached: the DB lost writes it had declared durable.
	// The replica cannot recover locally: wipe its data and let it rejoin.
	ErrStateBehind = errors.New("snapstore: live DB is behind its own snapshot")
)

// Checkpointer makes a consistent on-disk copy of the live DB into dir, which
// must not exist (its parent does). For Pebble: db.Checkpoint(dir,
// pebble.WithFlushedWAL()), which hard-links the sstables and copies the WAL.
// It is called from raft's replication goroutines while the FSM applies
// entries, possibly several at once (one per follower being caught up), so it
// must be safe against Apply, Restore (which swaps the DB) and itself.
type Checkpointer func(dir string) error

const (
	// retain is how many finalized snapshots the store keeps.
	retain = 2

	tmpSuffix  = ".tmp"
	openPrefix = "open-"
	dataFile   = "data"
	metaFile   = "meta.json"

	kindMarker  = "live-marker"
	kindArchive = "archive"
)

// storedMeta is meta.json.
type storedMeta struct {
	raft.SnapshotMeta
	// Kind is kindMarker or kindArchive, found by parsing the data as it was
	// written; a snapshot is finalized only if its data parsed.
	Kind string `json:"kind"`
	// AppliedIndex is the index recorded in a live marker.
	AppliedIndex uint64 `json:"applied_index,omitempty"`
}

// Store implements raft.SnapshotStore. Methods are safe for concurrent use.
// One Store owns its directory: do not open two on the same one.
type Store struct {
	dir        string
	checkpoint Checkpointer
	logger     *slog.Logger

	mu sync.Mutex // serializes ID allocation and reaping
}

var _ raft.SnapshotStore = (*Store)(nil)

// New opens (creating it if needed) the store in dir, which should be used by
// nothing else, and removes temp dirs left by a crash. checkpoint is called
// by Open for snapshots that are live markers.
func New(dir string, checkpoint Checkpointer, logger *slog.Logger) (*Store, error) {
	if checkpoint == nil {
		return nil, errors.New("cannot open snapshot store: nil Checkpointer")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create snapshot dir: %w", err)
	}
	s := &Store{dir: dir, checkpoint: checkpoint, logger: logger.With("component", "snapstore")}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read snapshot dir: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), tmpSuffix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		s.logger.Info("removing stale snapshot temp dir", "path", p)
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("cannot remove stale snapshot temp dir: %w", err)
		}
	}
	return s, nil
}

// Create starts a snapshot at index and term. Only snapshot version 1 is
// supported. Peers (deprecated, for version 0 peers) is not recorded.
func (s *Store) Create(version raft.SnapshotVersion, index, term uint64,
	configuration raft.Configuration, configurationIndex uint64, _ raft.Transport) (raft.SnapshotSink, error) {
	if version != 1 {
		return nil, fmt.Errorf("cannot create snapshot: unsupported snapshot version %d", version)
	}
	id, tmp, err := s.allocate(term, index)
	if err != nil {
		return nil, err
	}
	sk, err := newSink(s, tmp, storedMeta{SnapshotMeta: raft.SnapshotMeta{
		Version:            version,
		ID:                 id,
		Index:              index,
		Term:               term,
		Configuration:      configuration,
		ConfigurationIndex: configurationIndex,
	}})
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	s.logger.Debug("creating snapshot", "id", id)
	return sk, nil
}

// allocate picks an unused snapshot ID and creates its temp dir.
func (s *Store) allocate(term, index uint64) (id, tmp string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := fmt.Sprintf("%d-%d-%d", term, index, time.Now().UnixMilli())
	for n := 0; n < 1000; n++ {
		id = base
		if n > 0 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		if _, err := os.Lstat(filepath.Join(s.dir, id)); err == nil {
			continue
		}
		tmp = filepath.Join(s.dir, id+tmpSuffix)
		err := os.Mkdir(tmp, 0o755)
		if err == nil {
			return id, tmp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", fmt.Errorf("cannot create snapshot temp dir: %w", err)
		}
	}
	return "", "", fmt.Errorf("cannot create snapshot: no free id near %s", base)
}

// List returns the finalized snapshots, newest first (by term, then index,
// then ID, as raft.FileSnapshotStore does).
func (s *Store) List() ([]*raft.SnapshotMeta, error) {
	metas, err := s.list()
	if err != nil {
		return nil, err
	}
	out := make([]*raft.SnapshotMeta, len(metas))
	for i, m := range metas {
		out[i] = &m.SnapshotMeta
	}
	return out, nil
}

func (s *Store) list() ([]*storedMeta, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list snapshots: %w", err)
	}
	var metas []*storedMeta
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), tmpSuffix) {
			continue
		}
		m, err := s.readMeta(e.Name())
		if err != nil {
			s.logger.Warn("skipping unreadable snapshot", "id", e.Name(), "error", err)
			continue
		}
		metas = append(metas, m)
	}
	slices.SortFunc(metas, func(a, b *storedMeta) int { return -compareMeta(a, b) })
	return metas, nil
}

func compareMeta(a, b *storedMeta) int {
	switch {
	case a.Term != b.Term:
		return cmpUint(a.Term, b.Term)
	case a.Index != b.Index:
		return cmpUint(a.Index, b.Index)
	default:
		return strings.Compare(a.ID, b.ID)
	}
}

func cmpUint(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

func (s *Store) readMeta(id string) (*storedMeta, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, id, metaFile))
	if err != nil {
		return nil, err
	}
	m := &storedMeta{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", metaFile, err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("%s names snapshot %q", metaFile, m.ID)
	}
	if m.Kind != kindMarker && m.Kind != kindArchive {
		return nil, fmt.Errorf("unknown snapshot kind %q", m.Kind)
	}
	return m, nil
}

// Open returns the snapshot id as a stream of its full state, with a copy of
// its meta whose Size is the exact length of that stream (raft sends exactly
// Size bytes to a follower).
//
// For a live marker, Open checkpoints the live DB into a temp dir under the
// store and streams an archive of it; the checkpoint may be at a later
// applied index than meta.Index, which is correct because the restoring FSM
// skips entries at or below its restored applied index. For a full archive
// (received from a leader), Open returns the stored file.
//
// The caller must Close the reader; Close removes the checkpoint.
func (s *Store) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	if id == "" || id != filepath.Base(id) || strings.HasPrefix(id, ".") || strings.HasSuffix(id, tmpSuffix) {
		return nil, nil, fmt.Errorf("cannot open snapshot %q: not a snapshot id", id)
	}
	m, err := s.readMeta(id)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open snapshot %s: %w", id, err)
	}
	if m.Kind == kindArchive {
		return s.openArchive(m)
	}
	return s.openMarker(m)
}

func (s *Store) openArchive(m *storedMeta) (*raft.SnapshotMeta, io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(s.dir, m.ID, dataFile))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open snapshot %s: %w", m.ID, err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("cannot open snapshot %s: %w", m.ID, err)
	}
	meta := m.SnapshotMeta
	meta.Size = info.Size()
	return &meta, f, nil
}

func (s *Store) openMarker(m *storedMeta) (*raft.SnapshotMeta, io.ReadCloser, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, m.ID, dataFile))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open snapshot %s: %w", m.ID, err)
	}
	applied, rest, err := parseLiveMarker(data)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%w: %d bytes after the live marker", ErrCorrupt, len(rest))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open snapshot %s: %w", m.ID, err)
	}

	start := time.Now()
	tmp, err := os.MkdirTemp(s.dir, openPrefix+"*"+tmpSuffix)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open snapshot %s: cannot create checkpoint dir: %w", m.ID, err)
	}
	root := filepath.Join(tmp, "checkpoint")
	if err := s.checkpoint(root); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, nil, fmt.Errorf("cannot open snapshot %s: cannot checkpoint live DB: %w", m.ID, err)
	}
	entries, size, err := planArchive(root)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, nil, fmt.Errorf("cannot open snapshot %s: %w", m.ID, err)
	}
	s.logger.Info("streaming checkpoint of live DB for snapshot",
		"id", m.ID, "snapshot_index", m.Index, "marker_applied_index", applied,
		"entries", len(entries), "bytes", size, "checkpoint_took", time.Since(start))

	meta := m.SnapshotMeta
	meta.Size = size
	return &meta, newArchiveStream(root, entries, size, func() error { return os.RemoveAll(tmp) }), nil
}

// PendingRestore is for FSM start-up with NoSnapshotRestoreOnStart, before
// raft.NewRaft. Raft will then treat the newest snapshot's index as applied
// without restoring it. That is right when the newest snapshot is a live
// marker (the DB holds at least that much), but not when it is an archive
// received from a leader whose restore did not finish before the process
// stopped. So: if the newest snapshot is newer than applied (the DB's own
// applied index) and is an archive, PendingRestore opens it and the caller
// must pass it to the FSM's Restore and Close it. If there is nothing to do
// it returns nil meta and reader. If the newest snapshot is a live marker
// newer than applied, it returns ErrStateBehind.
func (s *Store) PendingRestore(applied uint64) (*raft.SnapshotMeta, io.ReadCloser, error) {
	metas, err := s.list()
	if err != nil {
		return nil, nil, err
	}
	if len(metas) == 0 || metas[0].Index <= applied {
		return nil, nil, nil
	}
	m := metas[0]
	if m.Kind == kindMarker {
		// The marker records the DB's applied index when it was taken, which
		// is below the snapshot's index when the entries after it carried
		// no command for the FSM (Raft configuration changes, a new
		// leader's no-op). Only a DB behind that recorded index lost
		// writes.
		data, err := os.ReadFile(filepath.Join(s.dir, m.ID, dataFile))
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read snapshot %s: %w", m.ID, err)
		}
		marked, _, err := parseLiveMarker(data)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read snapshot %s: %w", m.ID, err)
		}
		if marked <= applied {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("%w: snapshot %s recorded the DB at index %d, the DB is only at %d; wipe this replica's data and let it rejoin",
			ErrStateBehind, m.ID, marked, applied)
	}
	s.logger.Warn("restoring snapshot that was received but not restored", "id", m.ID, "index", m.Index, "db_applied_index", applied)
	return s.openArchive(m)
}

// reap removes finalized snapshots beyond the newest retain, and every
// archive older than a live marker: once the node has snapshotted its own
// live DB, the received archive (a full copy of the DB) is dead weight.
func (s *Store) reap() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	metas, err := s.list()
	if err != nil {
		return err
	}
	markerSeen := false
	for i, m := range metas {
		keep := i < retain && !(m.Kind == kindArchive && markerSeen)
		markerSeen = markerSeen || m.Kind == kindMarker
		if keep {
			continue
		}
		p := filepath.Join(s.dir, m.ID)
		s.logger.Debug("reaping snapshot", "id", m.ID)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cannot reap snapshot %s: %w", m.ID, err)
		}
	}
	return nil
}

// encodeMeta returns meta.json's content.
func encodeMeta(m *storedMeta) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
