package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-lake/cairn/node/snapstore"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
)

// shardFSM applies a shard group's log to its Pebble DB. It is thin: decode
// the envelope, call one storage method. Apply is deterministic: the entry
// carries every input (events, leader clock); nothing reads a clock, a random
// source or iterates a map.
//
// The DB records the applied index itself, and raft runs with
// NoSnapshotRestoreOnStart: at start the DB is simply reopened and entries at
// or below its applied index are skipped when raft replays them.
type shardFSM struct {
	shard uint32
	dir   string // the DB's directory
	opts  storage.Options

	// mu guards db against the swap in Restore; Apply and readers hold it
	// shared.
	mu sync.RWMutex
	db *storage.DB

	// proposed holds the events of the ingest entries this replica proposed
	// as leader and still waits for, keyed by the entry's data, which raft
	// hands back to Apply on the proposer: Apply then need not decompress and
	// decode what the proposer just encoded. It is a cache: an entry applied
	// without it (on a follower, or replayed) decodes to the same events.
	proposedMu sync.Mutex
	proposed   map[*byte]proposedEntry

	// restores counts snapshots installed since start.
	restores atomic.Uint64
	// cutDeleted, when set, counts the events retention cuts delete.
	cutDeleted interface{ Add(float64) }
}

func openShardFSM(shard uint32, dir string, opts storage.Options) (*shardFSM, error) {
	// A crash during Restore may leave the previous DB aside; finish the swap.
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if _, err := os.Stat(dir + ".old"); err == nil {
			if err := os.Rename(dir+".old", dir); err != nil {
				return nil, fmt.Errorf("cannot recover shard %d db: %w", shard, err)
			}
		}
	}
	db, err := storage.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot open shard %d db: %w", shard, err)
	}
	return &shardFSM{shard: shard, dir: dir, opts: opts, db: db}, nil
}

// DB returns the current DB and a release func; the DB must not be used after
// release. Restore waits for every holder to release.
func (f *shardFSM) DB() (*storage.DB, func()) {
	f.mu.RLock()
	return f.db, f.mu.RUnlock
}

type proposedEntry struct {
	size   int // of the data
	events []*cairnv1.Event
}

// propose records that data, an encoded ingest entry, holds events, until
// the returned function is called. The caller must not change data or
// events meanwhile.
func (f *shardFSM) propose(data []byte, events []*cairnv1.Event) (done func()) {
	key := unsafe.SliceData(data)
	f.proposedMu.Lock()
	defer f.proposedMu.Unlock()
	if f.proposed == nil {
		f.proposed = make(map[*byte]proposedEntry)
	}
	f.proposed[key] = proposedEntry{size: len(data), events: events}
	return func() {
		f.proposedMu.Lock()
		defer f.proposedMu.Unlock()
		delete(f.proposed, key)
	}
}

// proposedEvents returns the events of data if this replica proposed it.
func (f *shardFSM) proposedEvents(data []byte) ([]*cairnv1.Event, bool) {
	f.proposedMu.Lock()
	defer f.proposedMu.Unlock()
	p, ok := f.proposed[unsafe.SliceData(data)]
	if !ok || p.size != len(data) {
		return nil, false
	}
	return p.events, true
}

func (f *shardFSM) Apply(l *raft.Log) any {
	events, proposed := f.proposedEvents(l.Data)
	var cmd cairnv1.Command
	if proposed {
		cmd.Type = cairnv1.CommandType_COMMAND_TYPE_INGEST
	} else if err := proto.Unmarshal(l.Data, &cmd); err != nil {
		panic(fmt.Sprintf("shard %d: cannot decode raft entry %d: %v", f.shard, l.Index, err))
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if l.Index <= f.db.AppliedIndex() {
		return nil // replayed after a restart: already in the DB
	}
	switch cmd.Type {
	case cairnv1.CommandType_COMMAND_TYPE_INGEST:
		if !proposed {
			events = mustDecodeIngest(l, &cmd)
		}
		st, err := f.db.ApplyIngest(l.Index, events)
		if errors.Is(err, storage.ErrInvalidEvent) {
			// Every replica judges the entry the same way: it stores nothing.
			if err := f.db.SetAppliedIndex(l.Index); err != nil {
				panic(fmt.Sprintf("shard %d: cannot record applied index %d: %v", f.shard, l.Index, err))
			}
			st = make([]cairnv1.EventStatus, len(events))
			for i := range st {
				st[i] = cairnv1.EventStatus_EVENT_STATUS_REJECTED
			}
			return st
		}
		if err != nil {
			// The replica cannot go on without this entry; stopping is the
			// only way not to diverge from the others.
			panic(fmt.Sprintf("shard %d: cannot apply raft entry %d: %v", f.shard, l.Index, err))
		}
		return st
	case cairnv1.CommandType_COMMAND_TYPE_RETENTION_CUT:
		var c cairnv1.RetentionCut
		mustDecode(l, &cmd, &c)
		st, err := f.db.ApplyCut(l.Index, storage.NewRetention(c.Rules, c.LeaderTimeUnixNano))
		if err != nil {
			panic(fmt.Sprintf("shard %d: cannot apply retention cut %d: %v", f.shard, l.Index, err))
		}
		if f.cutDeleted != nil {
			f.cutDeleted.Add(float64(st.Events))
		}
		return st
	default:
		panic(fmt.Sprintf("shard %d: raft entry %d has unknown command type %v", f.shard, l.Index, cmd.Type))
	}
}

// Snapshot is cheap: the state is the live DB. Persist flushes it so that the
// applied index in Pebble is at least the snapshot's index, and writes a
// marker; the snapshot store streams a checkpoint only when a follower needs
// one.
func (f *shardFSM) Snapshot() (raft.FSMSnapshot, error) {
	return &shardSnapshot{fsm: f}, nil
}

// checkpoint writes a consistent copy of the live DB into dir.
func (f *shardFSM) checkpoint(dir string) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.Checkpoint(dir)
}

// Restore replaces the DB with the checkpoint streamed from a leader.
func (f *shardFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	incoming := f.dir + ".restore"
	if err := os.RemoveAll(incoming); err != nil {
		return fmt.Errorf("cannot clear %s: %w", incoming, err)
	}
	if err := snapstore.Extract(rc, incoming); err != nil {
		return fmt.Errorf("cannot extract shard %d snapshot: %w", f.shard, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("cannot close shard %d db for restore: %w", f.shard, err)
	}
	old := f.dir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("cannot clear %s: %w", old, err)
	}
	if err := os.Rename(f.dir, old); err != nil {
		return fmt.Errorf("cannot set aside shard %d db: %w", f.shard, err)
	}
	if err := os.Rename(incoming, f.dir); err != nil {
		return fmt.Errorf("cannot install shard %d snapshot: %w", f.shard, err)
	}
	db, err := storage.Open(f.dir, f.opts)
	if err != nil {
		return fmt.Errorf("cannot open restored shard %d db: %w", f.shard, err)
	}
	f.db = db
	f.restores.Add(1)
	return os.RemoveAll(old)
}

// close closes the DB, which flushes it first. Flushing is not needed for
// safety (the Raft log replays what is missing) but makes the next start
// quick.
func (f *shardFSM) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.db.Close()
}

type shardSnapshot struct{ fsm *shardFSM }

func (s *shardSnapshot) Persist(sink raft.SnapshotSink) error {
	s.fsm.mu.RLock()
	err := s.fsm.db.Flush()
	applied := s.fsm.db.AppliedIndex()
	s.fsm.mu.RUnlock()
	if err == nil {
		err = snapstore.WriteLiveMarker(sink, applied)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("cannot persist shard %d snapshot: %w", s.fsm.shard, err)
	}
	return sink.Close()
}

func (s *shardSnapshot) Release() {}
