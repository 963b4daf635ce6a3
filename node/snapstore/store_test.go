package snapstore

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"
)

func TestLiveMarkerRoundTrip(t *testing.T) {
	for _, idx := range []uint64{0, 1, 12345, 1<<64 - 1} {
		b := marker(idx)
		if len(b) != markerLen {
			t.Fatalf("marker is %d bytes, want %d", len(b), markerLen)
		}
		got, err := ReadLiveMarker(bytes.NewReader(b))
		if err != nil || got != idx {
			t.Fatalf("ReadLiveMarker = %d, %v; want %d", got, err, idx)
		}
		got, rest, err := parseLiveMarker(append(appendLiveMarker(nil, idx), "rest"...))
		if err != nil || got != idx || string(rest) != "rest" {
			t.Fatalf("parseLiveMarker = %d, %q, %v", got, rest, err)
		}
	}

	b := marker(7)
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if _, err := ReadLiveMarker(bytes.NewReader(bad)); err == nil {
			t.Fatalf("flipping byte %d: ReadLiveMarker succeeded", i)
		}
	}
	if _, err := ReadLiveMarker(bytes.NewReader(b[:markerLen-1])); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short marker: err = %v, want ErrCorrupt", err)
	}
}

func TestOpenMarkerStreamsCheckpoint(t *testing.T) {
	live := sampleTree(t)
	dir := t.TempDir()
	s := mustNew(t, dir, copyCheckpointer(live))
	id := mustSnapshot(t, s, 42, 3, marker(42))

	metas, err := s.List()
	mustNoErr(t, err)
	if len(metas) != 1 || metas[0].ID != id || metas[0].Index != 42 || metas[0].Term != 3 ||
		metas[0].Size != int64(markerLen) || metas[0].ConfigurationIndex != 1 ||
		len(metas[0].Configuration.Servers) != 1 {
		t.Fatalf("List = %+v", metas[0])
	}

	meta, rc, err := s.Open(id)
	mustNoErr(t, err)
	if len(tempEntries(t, dir)) != 1 {
		t.Fatalf("want one checkpoint temp dir while open, have %v", tempEntries(t, dir))
	}
	data := readAllClose(t, rc)
	if int64(len(data)) != meta.Size {
		t.Fatalf("streamed %d bytes, meta.Size = %d", len(data), meta.Size)
	}
	if meta.Index != 42 || meta.Term != 3 || meta.ID != id {
		t.Fatalf("Open meta = %+v", meta)
	}
	if tmp := tempEntries(t, dir); len(tmp) != 0 {
		t.Fatalf("checkpoint temp dirs left after Close: %v", tmp)
	}
	if !bytes.Equal(data, archiveOf(t, live)) {
		t.Fatal("streamed archive differs from the archive of the live dir")
	}

	out := filepath.Join(t.TempDir(), "restored")
	mustNoErr(t, Extract(bytes.NewReader(data), out))
	sameTree(t, out, live)
	mustNotExist(t, out+tmpSuffix)

	// A follower stores the archive as received; Open returns it as stored.
	fdir := t.TempDir()
	fs := mustNew(t, fdir, func(string) error { t.Fatal("follower must not checkpoint"); return nil })
	fid := mustSnapshot(t, fs, 42, 3, data)
	fmeta, frc, err := fs.Open(fid)
	mustNoErr(t, err)
	got := readAllClose(t, frc)
	if fmeta.Size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("stored archive: Size %d, %d bytes read; want %d", fmeta.Size, len(got), len(data))
	}
}

func TestOpenCloseEarlyAndConcurrently(t *testing.T) {
	live := sampleTree(t)
	dir := t.TempDir()
	s := mustNew(t, dir, copyCheckpointer(live))
	id := mustSnapshot(t, s, 5, 1, marker(5))

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			meta, rc, err := s.Open(id)
			if err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 { // stop early
				buf := make([]byte, 100)
				_, _ = io.ReadFull(rc, buf)
				_ = rc.Close()
				return
			}
			n, err := io.Copy(io.Discard, rc)
			if err != nil || n != meta.Size {
				t.Errorf("read %d of %d bytes: %v", n, meta.Size, err)
			}
			_ = rc.Close()
			_ = rc.Close() // idempotent
		})
	}
	wg.Wait()
	if tmp := tempEntries(t, dir); len(tmp) != 0 {
		t.Fatalf("checkpoint temp dirs left: %v", tmp)
	}
}

func TestExtractRejectsDamagedArchive(t *testing.T) {
	live := sampleTree(t)
	good := archiveOf(t, live)
	n := len(good)
	sstStart := bytes.Index(good, []byte("000001.sst")) + len("000001.sst") + 8

	for _, tc := range []struct {
		name string
		data []byte
		want string // in the error message
	}{
		{"empty", nil, "truncated in header"},
		{"header only", good[:archiveHeaderLen], "truncated in entry 0"},
		{"inside a file", good[:sstStart+1000], `file "000001.sst": read 1000 of`},
		{"before trailer", good[:n-trailerLen], "truncated in checksum trailer"},
		{"one byte short", good[:n-1], "truncated in checksum trailer"},
		{"bit flip in content", flip(good, sstStart+12345), "checksum mismatch"},
		{"bit flip in trailer", flip(good, n-1), "checksum mismatch"},
		{"bit flip in magic", flip(good, 0), "not a snapshot archive"},
		{"garbage after trailer", append(bytes.Clone(good), 0), "data after the checksum trailer"},
		{"wrong size in end record", flip(good, n-trailerLen-1), "end record"},
		{"a live marker", marker(3), "not a snapshot archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "restored")
			err := Extract(bytes.NewReader(tc.data), out)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Extract err = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Extract err = %q, want it to mention %q", err, tc.want)
			}
			mustNotExist(t, out)
			mustNotExist(t, out+tmpSuffix)
		})
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x01
	return b
}

func TestExtractRejectsUnsafePathsAndExistingDir(t *testing.T) {
	for _, rel := range []string{"../escape", "/abs", "a/../../b", "a//b", "./a"} {
		var buf bytes.Buffer
		mustNoErr(t, writeArchive(&buf, t.TempDir(), []archiveEntry{{rel: rel, dir: true}}))
		out := filepath.Join(t.TempDir(), "restored")
		if err := Extract(&buf, out); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "unsafe path") {
			t.Fatalf("path %q: err = %v, want unsafe path", rel, err)
		}
		mustNotExist(t, out)
	}

	live := sampleTree(t)
	if err := Extract(bytes.NewReader(archiveOf(t, live)), live); err == nil {
		t.Fatal("Extract into an existing dir succeeded")
	}
	sameTree(t, live, live) // untouched and readable

	// A leftover dir+".tmp" from a crash is replaced.
	out := filepath.Join(t.TempDir(), "restored")
	writeTree(t, out+tmpSuffix, map[string][]byte{"junk": []byte("junk")})
	mustNoErr(t, Extract(bytes.NewReader(archiveOf(t, live)), out))
	sameTree(t, out, live)
}

func TestSinkRejectsBadData(t *testing.T) {
	live := sampleTree(t)
	good := archiveOf(t, live)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"garbage", []byte("this is not a snapshot at all")},
		{"too short", []byte("CAIR")},
		{"truncated archive", good[:len(good)-10]},
		{"corrupt archive", flip(good, len(good)/2)},
		{"archive with trailing data", append(bytes.Clone(good), "more"...)},
		{"marker with trailing data", append(marker(1), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustNew(t, dir, copyCheckpointer(live))
			sk, err := s.Create(1, 10, 1, testConfig, 1, nil)
			mustNoErr(t, err)
			var werr error
			for chunk := range slicesChunk(tc.data, 4096) {
				if _, werr = sk.Write(chunk); werr != nil {
					break
				}
			}
			if werr != nil {
				mustNoErr(t, sk.Cancel()) // what raft does when io.Copy fails
			} else if err := sk.Close(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Close err = %v, want ErrCorrupt", err)
			}
			metas, err := s.List()
			mustNoErr(t, err)
			if len(metas) != 0 {
				t.Fatalf("List has %d snapshots, want none", len(metas))
			}
			es, _ := os.ReadDir(dir)
			if len(es) != 0 {
				t.Fatalf("store dir not empty: %v", es)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, copyCheckpointer(t.TempDir()))
	sk, err := s.Create(1, 10, 1, testConfig, 1, nil)
	mustNoErr(t, err)
	_, err = sk.Write(marker(10)[:5])
	mustNoErr(t, err)
	mustNoErr(t, sk.Cancel())
	mustNoErr(t, sk.Cancel())
	mustNoErr(t, sk.Close()) // after Cancel: no-op
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("store dir not empty after Cancel: %v", es)
	}
	if _, err := s.Create(2, 1, 1, testConfig, 1, nil); err == nil {
		t.Fatal("Create with snapshot version 2 succeeded")
	}
}

func TestReapKeepsTwoAndListOrder(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, copyCheckpointer(t.TempDir()))
	var ids []string
	for i := uint64(1); i <= 5; i++ {
		ids = append(ids, mustSnapshot(t, s, i*10, 1, marker(i*10)))
	}
	metas, err := s.List()
	mustNoErr(t, err)
	if len(metas) != 2 || metas[0].ID != ids[4] || metas[1].ID != ids[3] {
		t.Fatalf("List = %v, want [%s %s]", metaIDs(metas), ids[4], ids[3])
	}
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Fatalf("store dir has %d entries, want 2", len(es))
	}

	// A higher term is newer even at a lower index.
	id := mustSnapshot(t, s, 5, 2, marker(5))
	metas, err = s.List()
	mustNoErr(t, err)
	if len(metas) != 2 || metas[0].ID != id || metas[1].ID != ids[4] {
		t.Fatalf("List = %v, want [%s %s]", metaIDs(metas), id, ids[4])
	}

	// Same term and index: the ID breaks the tie, and IDs are unique.
	a := mustSnapshot(t, s, 5, 2, marker(5))
	b := mustSnapshot(t, s, 5, 2, marker(5))
	if a == b || a == id {
		t.Fatalf("duplicate snapshot ids %s %s %s", id, a, b)
	}
	metas, err = s.List()
	mustNoErr(t, err)
	if len(metas) != 2 || metas[0].ID < metas[1].ID {
		t.Fatalf("List = %v, want ID descending", metaIDs(metas))
	}
}

func TestReapDropsArchiveOnceAMarkerIsNewer(t *testing.T) {
	live := sampleTree(t)
	s := mustNew(t, t.TempDir(), copyCheckpointer(live))
	m1 := mustSnapshot(t, s, 10, 1, marker(10))
	a := mustSnapshot(t, s, 20, 1, archiveOf(t, live)) // received from a leader
	metas, err := s.List()
	mustNoErr(t, err)
	if got := metaIDs(metas); len(got) != 2 || got[0] != a || got[1] != m1 {
		t.Fatalf("List = %v, want [%s %s]", got, a, m1)
	}
	m2 := mustSnapshot(t, s, 30, 1, marker(30)) // the node's own snapshot after restoring
	metas, err = s.List()
	mustNoErr(t, err)
	if got := metaIDs(metas); len(got) != 1 || got[0] != m2 {
		t.Fatalf("List = %v, want [%s]", got, m2)
	}
}

func metaIDs(ms []*raft.SnapshotMeta) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestNewRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, copyCheckpointer(t.TempDir()))
	id := mustSnapshot(t, s, 10, 1, marker(10))
	writeTree(t, dir, map[string][]byte{
		"1-20-99.tmp/data":                   []byte("half"),
		"open-123.tmp/checkpoint/000001.sst": []byte("sst"),
	})
	s = mustNew(t, dir, copyCheckpointer(t.TempDir()))
	if tmp := tempEntries(t, dir); len(tmp) != 0 {
		t.Fatalf("New left temp dirs: %v", tmp)
	}
	metas, err := s.List()
	mustNoErr(t, err)
	if len(metas) != 1 || metas[0].ID != id {
		t.Fatalf("List after New = %v, want [%s]", metaIDs(metas), id)
	}
}

func TestPendingRestore(t *testing.T) {
	live := sampleTree(t)
	s := mustNew(t, t.TempDir(), copyCheckpointer(live))

	meta, rc, err := s.PendingRestore(0)
	if meta != nil || rc != nil || err != nil {
		t.Fatalf("empty store: PendingRestore = %v, %v, %v", meta, rc, err)
	}

	archive := archiveOf(t, live)
	mustSnapshot(t, s, 10, 1, archive)
	meta, rc, err = s.PendingRestore(5)
	mustNoErr(t, err)
	if meta == nil || meta.Index != 10 || !bytes.Equal(readAllClose(t, rc), archive) {
		t.Fatalf("PendingRestore(5) = %+v", meta)
	}
	if meta, _, err := s.PendingRestore(10); meta != nil || err != nil {
		t.Fatalf("PendingRestore(10) = %+v, %v; want nothing to do", meta, err)
	}

	mustSnapshot(t, s, 20, 1, marker(20))
	if _, _, err := s.PendingRestore(15); !errors.Is(err, ErrStateBehind) {
		t.Fatalf("PendingRestore(15) behind a live marker: err = %v, want ErrStateBehind", err)
	}
	if meta, _, err := s.PendingRestore(25); meta != nil || err != nil {
		t.Fatalf("PendingRestore(25) = %+v, %v; want nothing to do", meta, err)
	}
	// A snapshot at index 30 whose last FSM command was at 18 (the entries
	// after it were Raft configuration changes): a DB at 18 lost nothing,
	// a DB at 17 did.
	mustSnapshot(t, s, 30, 1, marker(18))
	if meta, _, err := s.PendingRestore(18); meta != nil || err != nil {
		t.Fatalf("PendingRestore(18) below a marker recorded at 18 = %+v, %v; want nothing to do", meta, err)
	}
	if _, _, err := s.PendingRestore(17); !errors.Is(err, ErrStateBehind) {
		t.Fatalf("PendingRestore(17) behind a marker recorded at 18: err = %v, want ErrStateBehind", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	failing := errors.New("disk on fire")
	s := mustNew(t, dir, func(string) error { return failing })
	id := mustSnapshot(t, s, 10, 1, marker(10))
	if _, _, err := s.Open(id); !errors.Is(err, failing) {
		t.Fatalf("Open with failing checkpointer: err = %v", err)
	}
	if tmp := tempEntries(t, dir); len(tmp) != 0 {
		t.Fatalf("temp dirs left after failed Open: %v", tmp)
	}
	for _, bad := range []string{"", "../x", "nope", id + tmpSuffix} {
		if _, _, err := s.Open(bad); err == nil {
			t.Fatalf("Open(%q) succeeded", bad)
		}
	}
}
