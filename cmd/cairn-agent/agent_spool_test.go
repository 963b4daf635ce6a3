package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func (f *fakeIngest) counts() (requests, stored int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, len(f.stored)
}

func (f *fakeIngest) ids() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for id := range f.stored {
		out[id] = true
	}
	return out
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An agent stopped while batches are unacknowledged resends, from its spool,
// exactly those batches, and then continues the source where it stood.
func TestSpoolResumesWithUnackedBatchesOnly(t *testing.T) {
	spoolDir := t.TempDir()
	first, addr1 := startFake(t)
	first.stallAfter = 5 // answers 5 batches, then none

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out1, err1 bytes.Buffer
	args := []string{"--generate", "5000", "--accounts", "3", "--start", "2026-01-01", "--days", "2",
		"--batch", "100", "--window", "4", "--spool", spoolDir, "--quiet"}
	go func() { done <- run(ctx, append([]string{"--server", addr1}, args...), &out1, &err1) }()
	waitFor(t, "the window to fill", func() bool { r, _ := first.counts(); return r >= 9 })
	cancel()
	if code := <-done; code != exitFailure || !strings.Contains(err1.String(), "rerun with the same --spool") {
		t.Fatalf("interrupted run: exit %d, stderr %q; want exit 1 and a hint", code, err1.String())
	}
	stored1 := first.ids()
	if len(stored1) != 500 {
		t.Fatalf("first server stored %d events, want 500 (5 batches)", len(stored1))
	}

	second, addr2 := startFake(t)
	code, out, errOut := runAgent(t, append([]string{"--server", addr2}, args...)...)
	if code != exitOK || !strings.HasPrefix(out, "sent 4500 stored 4500 duplicate 0 ") {
		t.Fatalf("resumed run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	stored2 := second.ids()
	for id := range stored1 {
		if stored2[id] {
			t.Fatalf("event %s was acknowledged before the stop and sent again", id)
		}
	}

	// The union is exactly what one uninterrupted run sends.
	whole, addr3 := startFake(t)
	if code, out, _ := runAgent(t, append([]string{"--server", addr3}, args[:len(args)-3]...)...); code != exitOK {
		t.Fatalf("reference run: exit %d, %s", code, out)
	}
	want := whole.ids()
	if len(want) != 5000 || len(stored1)+len(stored2) != 5000 {
		t.Fatalf("reference %d events; resumed runs %d + %d", len(want), len(stored1), len(stored2))
	}
	for id := range want {
		if !stored1[id] && !stored2[id] {
			t.Fatalf("event %s never delivered", id)
		}
	}

	// Nothing left: a third run sends nothing.
	code, out, _ = runAgent(t, append([]string{"--server", addr2}, args...)...)
	if code != exitOK || !strings.HasPrefix(out, "sent 0 stored 0 duplicate 0 ") {
		t.Fatalf("third run: exit %d, stdout %q", code, out)
	}
}

func writeGzip(t *testing.T, path string, content string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(content))
	_ = zw.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func logFile(ids ...string) string {
	var recs []string
	for _, id := range ids {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2026-03-01T10:00:00Z"}`, id))
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

// A directory run with a spool reads each file once: a second run sends
// only the files that arrived since.
func TestDirWithSpoolSendsNewFilesOnly(t *testing.T) {
	f, addr := startFake(t)
	root := t.TempDir()
	spoolDir := filepath.Join(t.TempDir(), "spool")
	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	base := filepath.Join(root, "AWSLogs", "111122223333", "CloudTrail", "eu-west-1", "2026", "03", "01")
	writeGzip(t, filepath.Join(base, "111122223333_CloudTrail_eu-west-1_20260301T1000Z_a.json.gz"), logFile("a1", "a2", "a3"))
	writeGzip(t, filepath.Join(base, "111122223333_CloudTrail_eu-west-1_20260301T1005Z_b.json.gz"), logFile("b1", ""))
	writeGzip(t, filepath.Join(base, "111122223333_CloudTrail_eu-west-1_20260301T1010Z_c.json.gz"), `{"Records":[`)
	args := []string{"--server", addr, "--dir", root, "--spool", spoolDir, "--rejects", rejects}

	code, out, errOut := runAgent(t, args...)
	if code != exitUnreadable || !strings.Contains(out, "files 2 (skipped 0, failed 1) sent 5 stored 4 duplicate 0 rejected 1 ") {
		t.Fatalf("first run: exit %d, stdout %q, stderr %q; want exit 4", code, out, errOut)
	}
	if !strings.Contains(errOut, "_c.json.gz") {
		t.Errorf("the corrupt file is not named on stderr:\n%s", errOut)
	}
	lines := readLines(t, rejects)
	if len(lines) != 1 {
		t.Fatalf("rejects file has %d lines, want 1: %q", len(lines), lines)
	}
	var line struct {
		Reason string          `json:"reason"`
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil || line.Reason != "eventID is missing" ||
		!strings.Contains(string(line.Record), `"eventID":""`) {
		t.Fatalf("rejects line %s (%v)", lines[0], err)
	}

	writeGzip(t, filepath.Join(base, "111122223333_CloudTrail_eu-west-1_20260301T1015Z_d.json.gz"), logFile("d1", "d2"))
	code, out, errOut = runAgent(t, append(args, "--quiet")...)
	if code != exitOK || !strings.Contains(out, "files 1 sent 2 stored 2 duplicate 0 rejected 0 ") {
		t.Fatalf("second run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := len(f.ids()); got != 6 {
		t.Fatalf("server holds %d events, want 6", got)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestSpoolRefusesAnotherSource(t *testing.T) {
	_, addr := startFake(t)
	spoolDir := t.TempDir()
	if code, out, errOut := runAgent(t, "--server", addr, "--generate", "10", "--spool", spoolDir, "--quiet"); code != exitOK {
		t.Fatalf("exit %d, %s %s", code, out, errOut)
	}
	code, _, errOut := runAgent(t, "--server", addr, "--generate", "10", "--seed", "2", "--spool", spoolDir, "--quiet")
	if code != exitUsage || !strings.Contains(errOut, "belongs to --generate (seed 1,") {
		t.Fatalf("exit %d, stderr %q; want a refusal naming the spool's source", code, errOut)
	}
}

func TestTokenIsSentOnEveryStream(t *testing.T) {
	f, addr := startFake(t)
	if code, out, errOut := runAgent(t, "--server", addr, "--generate", "10", "--token", "cairn_abc_def", "--quiet"); code != exitOK {
		t.Fatalf("exit %d, %s %s", code, out, errOut)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auth) != 1 || f.auth[0] != "Bearer cairn_abc_def" {
		t.Fatalf("authorization metadata %q", f.auth)
	}
}

// With --follow the agent sends files as they arrive, and on SIGTERM it
// stops reading, lets the cluster acknowledge what was sent and exits 0.
func TestFollowSendsNewFilesAndStopsOnSIGTERM(t *testing.T) {
	f, addr := startFake(t)
	root := t.TempDir()
	dir := filepath.Join(root, "AWSLogs", "111122223333", "CloudTrail", "us-east-1", "2026", "03", "01")
	writeGzip(t, filepath.Join(dir, "111122223333_CloudTrail_us-east-1_20260301T1000Z_a.json.gz"), logFile("f1", "f2"))

	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- run(context.Background(), []string{"--server", addr, "--dir", root, "--follow", "--poll", "50ms",
			"--spool", t.TempDir(), "--quiet"}, &out, &errOut)
	}()
	waitFor(t, "the first file", func() bool { _, n := f.counts(); return n == 2 })
	writeGzip(t, filepath.Join(dir, "111122223333_CloudTrail_us-east-1_20260301T1005Z_b.json.gz"), logFile("f3"))
	waitFor(t, "the second file", func() bool { _, n := f.counts(); return n == 3 })

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK || !strings.HasPrefix(out.String(), "files 2 sent 3 stored 3 ") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not stop on SIGTERM")
	}
}
