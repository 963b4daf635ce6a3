// Package snapstore is a raft.SnapshotStore for FSMs whose state lives in an
// on-disk DB (Pebble) that survives restarts. Local snapshots are cheap: the
// FSM's Persist makes the DB durable and writes only a live marker (see
// WriteLiveMarker). Only when raft opens a snapshot to send it to a follower
// does the store take a fresh checkpoint of the live DB and stream an archive
// of its files, never holding a file in memory. A follower stores the archive
// it receives as is, and its FSM's Restore unpacks it with Extract.
//
// # Contract with the FSM
//
//   - raft.Config.NoSnapshotRestoreOnStart = true. The FSM opens its own DB
//     at start and skips every entry with index <= the applied index it keeps
//     in the DB (Apply is called again for entries after the newest snapshot,
//     and after a restore for entries the checkpoint already holds).
//   - Before raft.NewRaft, call PendingRestore(dbApplied) and, if it returns a
//     reader, pass it to the FSM's Restore: a received snapshot whose restore
//     was cut short by a crash would otherwise be skipped.
//   - FSM.Snapshot captures the applied index; FSMSnapshot.Persist makes the
//     DB durable up to it (db.Flush, or a synced write), then
//     WriteLiveMarker(sink, index) and sink.Close (sink.Cancel on error).
//   - FSM.Restore(rc) calls Extract(rc, freshDir) with a dir that does not
//     exist, opens the DB there, reads its applied index, swaps it in for the
//     live DB under the same lock the Checkpointer takes, and removes the old
//     DB. It always closes rc.
//   - The Checkpointer (db.Checkpoint) runs concurrently with Apply. Give the
//     store a dir on the same filesystem as the DB so checkpoints are hard
//     links, and keep the FSM's own dirs out of it (New removes *.tmp there).
//
// # Layout under the store's directory
//
//	<term>-<index>-<msec>/meta.json   raft.SnapshotMeta + kind
//	<term>-<index>-<msec>/data        a live marker or a full archive
//	<id>.tmp/                         a snapshot being written (removed by New)
//	open-*.tmp/checkpoint/            a checkpoint being streamed (removed on Close, or by New)
//
// At most two finalized snapshots are kept, and a received archive only until
// the node takes its own snapshot after it.
package snapstore
