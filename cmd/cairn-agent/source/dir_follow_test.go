package source

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// follower runs Next on its own goroutine, as the agent does, and hands the
// eventIDs on.
type follower struct {
	ids  chan string
	errc chan error
}

// follow starts a follower. It stops when Next fails or ctx is done; the
// test waits for that before the Dir is closed.
func follow(t *testing.T, ctx context.Context, d *Dir) *follower {
	fl := &follower{ids: make(chan string), errc: make(chan error, 1)}
	stopped := make(chan struct{})
	t.Cleanup(func() { <-stopped })
	go func() {
		defer close(stopped)
		for {
			rec, err := d.Next()
			if err != nil {
				fl.errc <- err
				return
			}
			var id struct{ EventID string }
			_ = json.Unmarshal(rec, &id)
			select {
			case fl.ids <- id.EventID:
			case <-ctx.Done():
				return
			}
		}
	}()
	return fl
}

// expect waits for the given eventIDs, in order.
func (fl *follower) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-fl.ids:
			if got != w {
				t.Fatalf("got record %s, want %s", got, w)
			}
		case err := <-fl.errc:
			t.Fatalf("Next: %v, want record %s", err, w)
		case <-time.After(10 * time.Second):
			t.Fatalf("no record %s after 10s", w)
		}
	}
}

func TestDirFollow(t *testing.T) {
	root := t.TempDir()
	dayDir := "AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/01/"
	writeFile(t, root, dayDir+"111111111111_CloudTrail_us-east-1_20260301T1000Z_First00000000000.json.gz", time.Now(),
		gzipBytes(t, logFile(rec("p1", "111111111111", "us-east-1"))))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var notes noteLog
	d := mustOpenDir(t, ctx, root, DirOptions{Follow: true, Poll: 10 * time.Millisecond, Settle: 150 * time.Millisecond, Note: notes.add})
	fl := follow(t, ctx, d)
	fl.expect(t, "p1")

	// A file synced the way the AWS CLI or rclone do it: written under a
	// temporary name, then renamed. The temporary name is not read, nor noted.
	final := filepath.Join(root, filepath.FromSlash(dayDir+"111111111111_CloudTrail_us-east-1_20260301T1005Z_Renamed0000000000.json.gz"))
	tmp := final + ".a1B2c3D4"
	mustWrite(t, tmp, gzipBytes(t, logFile(rec("r1", "111111111111", "us-east-1"), rec("r2", "111111111111", "us-east-1"))))
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	fl.expect(t, "r1", "r2")

	// A file written slowly in place, for longer than Settle with pauses
	// shorter than it: no record of it may come out before it is whole.
	slow, err := os.Create(filepath.Join(root, filepath.FromSlash(dayDir+"111111111111_CloudTrail_us-east-1_20260301T1010Z_Slow0000000000000.json")))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	var want []string
	mustWriteString(t, slow, `{"Records":[`)
	for i := range 30 {
		id := "s" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		want = append(want, id)
		if i > 0 {
			mustWriteString(t, slow, ",")
		}
		mustWriteString(t, slow, rec(id, "111111111111", "us-east-1"))
		time.Sleep(10 * time.Millisecond)
		select {
		case id := <-fl.ids:
			t.Fatalf("record %s read while its file was still being written", id)
		default:
		}
		_ = d.Stats() // from another goroutine than Next's, while it runs
	}
	mustWriteString(t, slow, `]}`)
	fl.expect(t, want...)

	// Next finishes the file when it goes past the last record, on its own time.
	wantStats := DirStats{FilesRead: 3, Records: 33}
	for deadline := time.Now().Add(10 * time.Second); d.Stats() != wantStats; {
		if time.Now().After(deadline) {
			t.Fatalf("Stats = %+v, want %+v", d.Stats(), wantStats)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-fl.errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel: %v, want context.Canceled", err)
		}
	case id := <-fl.ids:
		t.Fatalf("record %s after the last file", id)
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return within 10s of cancel")
	}
	notes.assert(t, nil)
}

func mustWriteString(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
