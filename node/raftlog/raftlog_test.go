package raftlog

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

func open(t *testing.T, dir string, repaired bool) (*wal.WAL, func()) {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	var w *wal.WAL
	var err error
	if repaired {
		w, err = Open(dir, meta, 0)
	} else {
		w, err = wal.Open(dir, wal.WithMetaStore(meta))
	}
	if err != nil {
		t.Fatal(err)
	}
	return w, func() { w.Close(); meta.Close() }
}

func entries(from, to uint64, term uint64) []*raft.Log {
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: term, Data: fmt.Appendf(nil, "entry %d of term %d", i, term)})
	}
	return logs
}

// TestTailTruncationSurvivesReopen: after raft truncates the log's suffix
// and appends other entries, the reopened log reads every entry. Without
// the repair the reopened WAL cannot read the truncated segment.
func TestTailTruncationSurvivesReopen(t *testing.T) {
	for _, repaired := range []bool{false, true} {
		dir := t.TempDir()
		w, closeLog := open(t, dir, repaired)
		if err := w.StoreLogs(entries(1, 10, 1)); err != nil {
			t.Fatal(err)
		}
		// A new leader of term 2 does not have 8–10.
		if err := w.DeleteRange(8, 10); err != nil {
			t.Fatal(err)
		}
		if err := w.StoreLogs(entries(8, 12, 2)); err != nil {
			t.Fatal(err)
		}
		closeLog()

		w, closeLog = open(t, dir, repaired)
		var readErr error
		for i := uint64(1); i <= 12; i++ {
			var l raft.Log
			if err := w.GetLog(i, &l); err != nil {
				readErr = fmt.Errorf("entry %d: %w", i, err)
				break
			}
			term := uint64(1)
			if i >= 8 {
				term = 2
			}
			if want := fmt.Sprintf("entry %d of term %d", i, term); string(l.Data) != want || l.Term != term {
				t.Fatalf("repaired=%v: entry %d is %q (term %d), want %q", repaired, i, l.Data, l.Term, want)
			}
		}
		closeLog()
		switch {
		case repaired && readErr != nil:
			t.Fatalf("repaired log: %v", readErr)
		case !repaired && readErr == nil:
			t.Log("raft-wal reads a tail-truncated segment after reopening: the repair may no longer be needed")
		}
	}
}
