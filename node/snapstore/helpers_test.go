package snapstore

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("CAIRN_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// writeTree creates files (rel path → content) under dir; a rel path ending
// in "/" is an empty directory.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			mustNoErr(t, os.MkdirAll(p, 0o755))
			continue
		}
		mustNoErr(t, os.MkdirAll(filepath.Dir(p), 0o755))
		mustNoErr(t, os.WriteFile(p, content, 0o644))
	}
}

// sampleTree is a checkpoint-like tree: big and empty files, nested and
// empty directories.
func sampleTree(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(rng.UintN(256))
	}
	dir := filepath.Join(t.TempDir(), "live")
	writeTree(t, dir, map[string][]byte{
		"000001.sst":       big,
		"000002.log":       []byte("wal bytes"),
		"MANIFEST-000003":  bytes.Repeat([]byte("manifest "), 1000),
		"OPTIONS-000004":   {},
		"marker.format":    []byte("x"),
		"sub/dir/deep.bin": []byte("deep"),
		"empty/":           nil,
	})
	return dir
}

// treeOf returns rel path → content of every file under dir, and "<dir>" for
// directories.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "<dir>"
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	mustNoErr(t, err)
	return out
}

func sameTree(t *testing.T, got, want string) {
	t.Helper()
	g, w := treeOf(t, got), treeOf(t, want)
	if len(g) != len(w) {
		t.Fatalf("%s has %d entries, %s has %d", got, len(g), want, len(w))
	}
	for rel, wc := range w {
		gc, ok := g[rel]
		if !ok {
			t.Fatalf("%s lacks %q", got, rel)
		}
		if gc != wc {
			t.Fatalf("%q differs: %d bytes, want %d", rel, len(gc), len(wc))
		}
	}
}

// copyTree copies the tree at src into dst, which must not exist.
func copyTree(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fs.ErrExist
	}
	return os.CopyFS(dst, os.DirFS(src))
}

// copyCheckpointer is a Checkpointer whose "live DB" is the directory src.
func copyCheckpointer(src string) Checkpointer {
	return func(dir string) error { return copyTree(src, dir) }
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustNew(t *testing.T, dir string, cp Checkpointer) *Store {
	t.Helper()
	s, err := New(dir, cp, testLogger())
	mustNoErr(t, err)
	return s
}

var testConfig = raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "127.0.0.1:1"}}}

// mustSnapshot writes data as a snapshot at index/term in small writes, as
// raft's io.Copy would, and returns its ID.
func mustSnapshot(t *testing.T, s *Store, index, term uint64, data []byte) string {
	t.Helper()
	sk, err := s.Create(1, index, term, testConfig, 1, nil)
	mustNoErr(t, err)
	for chunk := range slicesChunk(data, 4096) {
		if _, err := sk.Write(chunk); err != nil {
			_ = sk.Cancel()
			t.Fatalf("Write: %v", err)
		}
	}
	mustNoErr(t, sk.Close())
	return sk.ID()
}

func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			c := b[:min(n, len(b))]
			b = b[len(c):]
			if !yield(c) {
				return
			}
		}
	}
}

func marker(index uint64) []byte {
	var b bytes.Buffer
	if err := WriteLiveMarker(&b, index); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// archiveOf returns the archive of the tree at dir, as Open streams it.
func archiveOf(t *testing.T, dir string) []byte {
	t.Helper()
	entries, size, err := planArchive(dir)
	mustNoErr(t, err)
	var b bytes.Buffer
	mustNoErr(t, writeArchive(&b, dir, entries))
	if int64(b.Len()) != size {
		t.Fatalf("archive is %d bytes, planned %d", b.Len(), size)
	}
	return b.Bytes()
}

// tempEntries lists the names under dir ending in ".tmp".
func tempEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	mustNoErr(t, err)
	var out []string
	for _, e := range es {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func mustNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists (err %v); want it absent", p, err)
	}
}

func readAllClose(t *testing.T, rc io.ReadCloser) []byte {
	t.Helper()
	b, err := io.ReadAll(rc)
	mustNoErr(t, err)
	mustNoErr(t, rc.Close())
	return b
}
