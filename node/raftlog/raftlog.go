// Package raftlog opens the Raft log of a group: a hashicorp/raft-wal WAL
// with a repair for one of its bugs.
//
// raft-wal v0.4.0 (the latest release) marks the tail segment sealed when
// raft truncates the log's suffix (a follower dropping entries a new leader
// does not have) but never writes the segment's index block. The WAL works
// until it is reopened; then every read of that segment fails with "sealed
// segment has no index block", and raft.NewRaft panics on it: the node
// cannot restart. (Fixed upstream after the release, in
// hashicorp/raft-wal#33, which no release contains.) Open's filer reads such
// a segment the way the WAL reads its unsealed tail after a crash: by
// scanning its frames, which are all intact.
package raftlog

import (
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// Open opens the WAL in dir with its metadata in meta, in segments of
// segmentBytes (0 = the WAL's default).
func Open(dir string, meta *metadb.BoltMetaDB, segmentBytes int) (*wal.WAL, error) {
	return wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(segmentBytes),
		wal.WithSegmentFiler(filer{segment.NewFiler(dir, fs.New())}))
}

// filer is raft-wal's segment filer, opening sealed segments without an
// index block by scanning them.
type filer struct{ *segment.Filer }

func (f filer) Open(info types.SegmentInfo) (types.SegmentReader, error) {
	if info.IndexStart != 0 {
		return f.Filer.Open(info)
	}
	// RecoverTail scans the frames and keeps their offsets in memory. The
	// WAL only reads through the result: it never appends to a sealed
	// segment, and asks it only for indexes up to the segment's MaxIndex
	// (the entries truncated away after it are still in the file).
	return f.Filer.RecoverTail(info)
}
