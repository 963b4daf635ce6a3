package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func mustOpen(t *testing.T, dir string, opts Options) (*Spool, *Recovered) {
	t.Helper()
	s, rec, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

// crash releases the spool as a killed process would: no sync, no cleanup.
func crash(s *Spool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.closeFiles()
	_ = unlockDir(s.lock)
}

func batch(n int, events ...string) *Batch {
	b := &Batch{Mark: fmt.Appendf(nil, `{"records":%d}`, n)}
	for _, e := range events {
		b.Events = append(b.Events, []byte(e))
	}
	return b
}

func mustAppend(t *testing.T, s *Spool, b *Batch) uint64 {
	t.Helper()
	if err := s.Append(b); err != nil {
		t.Fatal(err)
	}
	return b.ID
}

func mustAck(t *testing.T, s *Spool, id uint64) {
	t.Helper()
	if err := s.Ack(id); err != nil {
		t.Fatal(err)
	}
}

func ids(bs []*Batch) []uint64 {
	var out []uint64
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

func TestFrameRoundTrip(t *testing.T) {
	for _, b := range []*Batch{
		{ID: 1},
		{ID: 7, Events: [][]byte{[]byte(`{"a":1}`), {}, []byte("x")}, Mark: []byte(`{"file":"a"}`)},
		{ID: 1 << 40, Completed: []string{"a/b.json.gz", "ü"}},
	} {
		frame := appendFrame(nil, b)
		got, rest, err := parseFrame(append(frame, 0xFF))
		if err != nil {
			t.Fatalf("batch %d: %v", b.ID, err)
		}
		if !bytes.Equal(rest, []byte{0xFF}) {
			t.Errorf("batch %d: rest %x", b.ID, rest)
		}
		if got.ID != b.ID || len(got.Events) != len(b.Events) || !bytes.Equal(got.Mark, b.Mark) || !slices.Equal(got.Completed, b.Completed) {
			t.Errorf("batch %d: got %+v, want %+v", b.ID, got, b)
		}
		for i := range b.Events {
			if !bytes.Equal(got.Events[i], b.Events[i]) {
				t.Errorf("batch %d event %d: %q", b.ID, i, got.Events[i])
			}
		}
		for cut := 0; cut < len(frame); cut++ {
			if _, _, err := parseFrame(frame[:cut]); !errors.Is(err, errTorn) {
				t.Fatalf("batch %d cut at %d: %v, want torn", b.ID, cut, err)
			}
		}
		frame[len(frame)-1] ^= 1
		if _, _, err := parseFrame(frame); !errors.Is(err, errTorn) {
			t.Errorf("batch %d flipped bit: %v, want torn", b.ID, err)
		}
	}
}

func TestRecoverAfterCrashResendsOnlyUnacked(t *testing.T) {
	dir := t.TempDir()
	s, rec := mustOpen(t, dir, Options{})
	if rec.Source != nil || rec.Mark != nil || len(rec.Unacked) != 0 {
		t.Fatalf("new spool recovered %+v", rec)
	}
	if err := s.SetSource([]byte(`{"generate":{"seed":1}}`)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		mustAppend(t, s, batch(i*2, fmt.Sprintf("e%da", i), fmt.Sprintf("e%db", i)))
	}
	for _, id := range []uint64{1, 2, 4, 6} { // out of order, as a window answers
		mustAck(t, s, id)
	}
	crash(s)

	s, rec = mustOpen(t, dir, Options{})
	defer s.Close()
	if got := ids(rec.Unacked); !slices.Equal(got, []uint64{3, 5}) {
		t.Fatalf("unacked %v, want [3 5]", got)
	}
	if got := string(rec.Unacked[1].Events[1]); got != "e5b" {
		t.Errorf("batch 5 event 1 = %q", got)
	}
	if string(rec.Mark) != `{"records":12}` {
		t.Errorf("mark %s", rec.Mark)
	}
	if string(rec.Source) != `{"generate":{"seed":1}}` {
		t.Errorf("source %s", rec.Source)
	}
	if id := mustAppend(t, s, batch(14, "e7")); id != 7 {
		t.Errorf("next id %d, want 7", id)
	}
	if st := s.Stats(); st.Unacked != 3 {
		t.Errorf("stats %+v, want 3 unacked", st)
	}
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, Options{})
	mustAppend(t, s, batch(1, "a"))
	mustAppend(t, s, batch(2, "b"))
	crash(s)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	// Half of a third frame, as a write cut short leaves it.
	frame := appendFrame(nil, &Batch{ID: 3, Events: [][]byte{[]byte("c")}})
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(frame[:len(frame)/2])
	_ = f.Close()

	s, rec := mustOpen(t, dir, Options{})
	if got := ids(rec.Unacked); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("unacked %v, want [1 2]", got)
	}
	if string(rec.Mark) != `{"records":2}` {
		t.Errorf("mark %s", rec.Mark)
	}
	if id := mustAppend(t, s, batch(3, "c")); id != 3 {
		t.Errorf("next id %d, want 3", id)
	}
	crash(s)
	_, rec = mustOpen(t, dir, Options{})
	if got := ids(rec.Unacked); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("after cut and append: unacked %v, want [1 2 3]", got)
	}
}

func TestSyncDeletesAckedSegmentsAndKeepsCompletions(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, Options{SegmentBytes: 64})
	for i := 1; i <= 20; i++ {
		b := batch(i, fmt.Sprintf("event-%02d-with-some-bytes", i))
		b.Completed = []string{fmt.Sprintf("f%02d.json", i)}
		mustAppend(t, s, b)
	}
	empty := &Batch{Mark: []byte(`{"records":21}`), Completed: []string{"empty.json"}}
	mustAppend(t, s, empty)
	if st := s.Stats(); st.Segments < 10 || st.Unacked != 20 {
		t.Fatalf("stats %+v", st)
	}
	for i := uint64(1); i <= 19; i++ {
		mustAck(t, s, i)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Unacked != 1 || st.Segments > 2 {
		t.Errorf("after sync: %+v, want 1 unacked in at most 2 segments", st)
	}
	crash(s)

	s, rec := mustOpen(t, dir, Options{SegmentBytes: 64})
	if got := ids(rec.Unacked); !slices.Equal(got, []uint64{20}) {
		t.Fatalf("unacked %v, want [20]", got)
	}
	for _, f := range []string{"f01.json", "f19.json", "f20.json", "empty.json"} {
		if !rec.Done[f] {
			t.Errorf("%s not recorded as done", f)
		}
	}
	if string(rec.Mark) != `{"records":21}` {
		t.Errorf("mark %s", rec.Mark)
	}
	mustAck(t, s, 20) // acknowledged after the restart, into its old segment
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec = mustOpen(t, dir, Options{})
	defer s.Close()
	if len(rec.Unacked) != 0 || len(rec.Done) != 21 || string(rec.Mark) != `{"records":21}` {
		t.Errorf("after close: %d unacked, %d done, mark %s", len(rec.Unacked), len(rec.Done), rec.Mark)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 1 {
		t.Errorf("segments left: %v, want only the new one", segs)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, Options{})
	defer s.Close()
	_, _, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestAckUnknownBatch(t *testing.T) {
	s, _ := mustOpen(t, t.TempDir(), Options{})
	defer s.Close()
	mustAppend(t, s, batch(1, "a"))
	if err := s.Ack(9); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("ack 9: %v", err)
	}
}
