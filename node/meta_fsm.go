package node

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// metaFSM is the state machine of the meta group: the node registry, the
// shard map and the ingest tokens. The state is small and kept in memory; a
// snapshot is the whole message. Apply is deterministic: it only reads the
// entry and the state.
type metaFSM struct {
	mu    sync.RWMutex
	state *cairnv1.MetaState
	// tokens indexes state.Tokens by id, for the check on every ingest
	// batch; it is rebuilt on Restore.
	tokens map[string]*cairnv1.IngestToken
	// changed is closed and replaced on every applied change, so watchers
	// wake up without polling.
	changed chan struct{}
}

func newMetaFSM() *metaFSM {
	return &metaFSM{state: &cairnv1.MetaState{}, tokens: map[string]*cairnv1.IngestToken{}, changed: make(chan struct{})}
}

// State returns a copy of the current state; callers may keep it.
func (f *metaFSM) State() *cairnv1.MetaState {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return proto.Clone(f.state).(*cairnv1.MetaState)
}

// view calls fn with the current state under the read lock, without copying
// it: for hot paths that read a field or two. fn must not keep, modify or
// block on the state.
func (f *metaFSM) view(fn func(st *cairnv1.MetaState)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.state)
}

// viewToken calls fn with the token of this id, or nil, under the read lock,
// without copying it; the same rules as view apply.
func (f *metaFSM) viewToken(id string, fn func(t *cairnv1.IngestToken)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.tokens[id])
}

// retentionRules returns the retention rules in force (empty, not nil, when
// none were ever set). Apply replaces them whole and never modifies them, so
// they are shared, not copied: ingest asks for them on every batch. Callers
// must not modify them.
func (f *metaFSM) retentionRules() *cairnv1.RetentionRules {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.state.Retention == nil {
		return &cairnv1.RetentionRules{}
	}
	return f.state.Retention
}

// Changed returns a channel closed at the next applied change.
func (f *metaFSM) Changed() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed
}

func (f *metaFSM) Apply(l *raft.Log) any {
	var cmd cairnv1.Command
	if err := proto.Unmarshal(l.Data, &cmd); err != nil {
		panic(fmt.Sprintf("meta: cannot decode raft entry %d: %v", l.Index, err))
	}
	f.mu.Lock()
	defer func() {
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}()
	switch cmd.Type {
	case cairnv1.CommandType_COMMAND_TYPE_META_INIT:
		var m cairnv1.MetaInit
		mustDecode(l, &cmd, &m)
		return f.applyInit(&m)
	case cairnv1.CommandType_COMMAND_TYPE_META_REGISTER_NODE:
		var m cairnv1.NodeInfo
		mustDecode(l, &cmd, &m)
		return f.applyRegister(&m)
	case cairnv1.CommandType_COMMAND_TYPE_META_SET_PLACEMENT:
		var m cairnv1.MetaPlacement
		mustDecode(l, &cmd, &m)
		f.applyPlacement(m.Placement)
		return nil
	case cairnv1.CommandType_COMMAND_TYPE_META_REMOVE_NODE:
		var m cairnv1.MetaRemoveNode
		mustDecode(l, &cmd, &m)
		for _, n := range f.state.Nodes {
			if n.Id == m.Id {
				n.Removed = true
			}
		}
		f.applyPlacement(m.Placement)
		return nil
	case cairnv1.CommandType_COMMAND_TYPE_META_CREATE_TOKEN:
		var m cairnv1.MetaCreateToken
		mustDecode(l, &cmd, &m)
		return f.applyCreateToken(m.Token)
	case cairnv1.CommandType_COMMAND_TYPE_META_SET_RETENTION:
		var m cairnv1.RetentionRules
		mustDecode(l, &cmd, &m)
		f.state.Retention = &m
		return nil
	case cairnv1.CommandType_COMMAND_TYPE_META_REVOKE_TOKEN:
		var m cairnv1.MetaRevokeToken
		mustDecode(l, &cmd, &m)
		return f.applyRevokeToken(&m)
	default:
		panic(fmt.Sprintf("meta: raft entry %d has unknown command type %v", l.Index, cmd.Type))
	}
}

func (f *metaFSM) applyInit(m *cairnv1.MetaInit) error {
	if f.state.Shards != 0 {
		return fmt.Errorf("cluster already initialized with %d shards", f.state.Shards)
	}
	f.state.Shards = m.Shards
	f.state.Replicas = m.Replicas
	for _, n := range m.Nodes {
		f.applyRegister(n)
	}
	f.state.Placement = clonePlacement(m.Placement)
	f.state.InitialPlacement = clonePlacement(m.Placement)
	if m.AdminToken != nil {
		return f.applyCreateToken(m.AdminToken)
	}
	return nil
}

// applyRegister adds a node or updates the addresses it reports. Empty
// fields do not overwrite known ones.
func (f *metaFSM) applyRegister(m *cairnv1.NodeInfo) error {
	for _, n := range f.state.Nodes {
		if n.Id != m.Id {
			continue
		}
		if n.Removed {
			return fmt.Errorf("node %s was removed from the cluster; start it with a new id and an empty data dir", m.Id)
		}
		if m.GrpcAddr != "" {
			n.GrpcAddr = m.GrpcAddr
		}
		if m.RaftAddr != "" {
			n.RaftAddr = m.RaftAddr
		}
		if m.HttpAddr != "" {
			n.HttpAddr = m.HttpAddr
		}
		n.Features = slices.Clone(m.Features)
		return nil
	}
	c := proto.Clone(m).(*cairnv1.NodeInfo)
	c.Removed = false
	f.state.Nodes = append(f.state.Nodes, c)
	return nil
}

func (f *metaFSM) applyPlacement(ps []*cairnv1.ShardPlacement) {
	for _, p := range ps {
		replaced := false
		for i, cur := range f.state.Placement {
			if cur.Shard == p.Shard {
				f.state.Placement[i] = proto.Clone(p).(*cairnv1.ShardPlacement)
				replaced = true
			}
		}
		if !replaced {
			f.state.Placement = append(f.state.Placement, proto.Clone(p).(*cairnv1.ShardPlacement))
		}
	}
}

// applyCreateToken adds a token; an id that exists already is refused, the
// same way on every replica.
func (f *metaFSM) applyCreateToken(t *cairnv1.IngestToken) error {
	if t == nil || t.Id == "" {
		return fmt.Errorf("cannot create token: no id")
	}
	if _, ok := f.tokens[t.Id]; ok {
		return fmt.Errorf("cannot create token: id %s exists already", t.Id)
	}
	c := proto.Clone(t).(*cairnv1.IngestToken)
	f.state.Tokens = append(f.state.Tokens, c)
	f.tokens[c.Id] = c
	return nil
}

// applyRevokeToken marks a token revoked; a revoked token keeps its first
// revocation time.
func (f *metaFSM) applyRevokeToken(m *cairnv1.MetaRevokeToken) error {
	t := f.tokens[m.Id]
	if t == nil {
		return fmt.Errorf("token %s: %w", m.Id, ErrUnknownToken)
	}
	if t.RevokedAtUnixNano == 0 {
		t.RevokedAtUnixNano = m.RevokedAtUnixNano
	}
	return nil
}

func clonePlacement(ps []*cairnv1.ShardPlacement) []*cairnv1.ShardPlacement {
	out := make([]*cairnv1.ShardPlacement, len(ps))
	for i, p := range ps {
		out[i] = proto.Clone(p).(*cairnv1.ShardPlacement)
	}
	return out
}

func (f *metaFSM) Snapshot() (raft.FSMSnapshot, error) {
	b, err := proto.Marshal(f.State())
	if err != nil {
		return nil, fmt.Errorf("cannot encode meta state: %w", err)
	}
	return metaSnapshot(b), nil
}

func (f *metaFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("cannot read meta snapshot: %w", err)
	}
	var st cairnv1.MetaState
	if err := proto.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("cannot decode meta snapshot: %w", err)
	}
	tokens := make(map[string]*cairnv1.IngestToken, len(st.Tokens))
	for _, t := range st.Tokens {
		tokens[t.Id] = t
	}
	f.mu.Lock()
	f.state = &st
	f.tokens = tokens
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return nil
}

type metaSnapshot []byte

func (s metaSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("cannot write meta snapshot: %w", err)
	}
	return sink.Close()
}

func (s metaSnapshot) Release() {}

// Helpers over a MetaState.

func findNode(st *cairnv1.MetaState, id string) *cairnv1.NodeInfo {
	for _, n := range st.Nodes {
		if n.Id == id {
			return n
		}
	}
	return nil
}

func shardPlacement(st *cairnv1.MetaState, shard uint32) *cairnv1.ShardPlacement {
	for _, p := range st.Placement {
		if p.Shard == shard {
			return p
		}
	}
	return nil
}

func initialReplicas(st *cairnv1.MetaState, shard uint32) []string {
	for _, p := range st.InitialPlacement {
		if p.Shard == shard {
			return p.Replicas
		}
	}
	return nil
}
