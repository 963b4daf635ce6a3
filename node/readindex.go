package node

import (
	"fmt"
	"time"
)

// readWait bounds how long a read waits for its leader to be ready.
const readWait = 10 * time.Second

// readIndex returns once every write acknowledged before the call is applied
// on this replica, which must lead the shard: the read-index protocol. It
// notes the commit index, confirms leadership with a heartbeat round (no
// disk write) and waits until the FSM has applied up to that index.
//
// The commit index covers every acknowledged write only once the leader has
// committed an entry of its own term. The first read of each term therefore
// runs a full barrier instead (a no-op entry committed and applied), which
// also applies whatever earlier leaders committed.
func (s *shard) readIndex() error {
	r := s.group.raft
	term := r.CurrentTerm()
	s.readMu.Lock()
	fresh := s.readTerm == term
	s.readMu.Unlock()
	if !fresh {
		if err := r.Barrier(readWait).Error(); err != nil {
			return fmt.Errorf("shard %d barrier: %w", s.id, err)
		}
		s.readMu.Lock()
		s.readTerm = term
		s.readMu.Unlock()
		return nil
	}
	commit := r.CommitIndex()
	if err := r.VerifyLeader().Error(); err != nil {
		return fmt.Errorf("shard %d: %w (%v)", s.id, s.group.notLeader(), err)
	}
	deadline := time.Now().Add(readWait)
	for wait := 50 * time.Microsecond; r.AppliedIndex() < commit; wait = min(2*wait, 5*time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("shard %d: applied index %d did not reach commit index %d within %s", s.id, r.AppliedIndex(), commit, readWait)
		}
		time.Sleep(wait)
	}
	return nil
}
