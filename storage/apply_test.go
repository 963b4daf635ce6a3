package storage

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func TestApplyIngestStoresAndDeduplicates(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	if db.AppliedIndex() != 0 || db.EventCount() != 0 {
		t.Fatalf("new DB: applied %d, events %d; want 0, 0", db.AppliedIndex(), db.EventCount())
	}

	e1 := ev("111111111111", "us-east-1", "id-1", day0.Add(time.Hour))
	e2 := ev("111111111111", "eu-west-1", "id-2", day0.Add(2*time.Hour))
	e1again := ev("111111111111", "us-east-1", "id-1", day0.Add(time.Hour))
	e1otherAccount := ev("222222222222", "us-east-1", "id-1", day0.Add(time.Hour))
	got := mustApply(t, db, 5, e1, e2, e1again, e1otherAccount)
	if want := []cairnv1.EventStatus{stored, stored, duplicate, stored}; !slices.Equal(got, want) {
		t.Fatalf("entry 5 statuses = %v, want %v", got, want)
	}
	if db.AppliedIndex() != 5 || db.EventCount() != 3 {
		t.Fatalf("after entry 5: applied %d, events %d; want 5, 3", db.AppliedIndex(), db.EventCount())
	}

	// A later entry re-sends e2 (an agent retry) with different bytes: it is a
	// duplicate, and the first bytes stay.
	e2resent := ev("111111111111", "eu-west-1", "id-2", day0.Add(2*time.Hour))
	e2resent.Raw = []byte(`{"resent":true}`)
	e3 := ev("111111111111", "us-east-1", "id-3", day0.Add(3*time.Hour))
	got = mustApply(t, db, 6, e2resent, e3)
	if want := []cairnv1.EventStatus{duplicate, stored}; !slices.Equal(got, want) {
		t.Fatalf("entry 6 statuses = %v, want %v", got, want)
	}
	if db.AppliedIndex() != 6 || db.EventCount() != 4 {
		t.Fatalf("after entry 6: applied %d, events %d; want 6, 4", db.AppliedIndex(), db.EventCount())
	}

	for _, e := range []*cairnv1.Event{e1, e2, e1otherAccount, e3} {
		raw, err := db.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano)
		if err != nil {
			t.Fatalf("GetRaw(%s, %s): %v", e.Account, e.EventId, err)
		}
		if !bytes.Equal(raw, e.Raw) {
			t.Errorf("GetRaw(%s, %s) = %q, want %q", e.Account, e.EventId, raw, e.Raw)
		}
	}
	if want := keysOf([]*cairnv1.Event{e1, e2, e1otherAccount, e3}); !slices.Equal(mustEventKeys(t, db), want) {
		t.Errorf("stored keys = %v, want %v", mustEventKeys(t, db), want)
	}
}

func TestApplyIngestKeepsRawBytesExactly(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	var events []*cairnv1.Event
	for i, raw := range [][]byte{
		[]byte("{\n  \"pretty\": \"printed\",\r\n\t\"trailing\": \"space\"   }\n"),
		{0x00, 0x01, 0xfe, 0xff, 0x00},             // binary, with 0x00 bytes
		[]byte("\xc3\x28 not utf-8 \xa0"),          // invalid UTF-8
		{},                                         // empty
		bytes.Repeat([]byte(`{"k":"v"},`), 25_000), // 250 KB, near AWS's cap
	} {
		e := ev("123456789012", "us-east-1", "raw-"+string(rune('a'+i)), day0.Add(time.Duration(i)*time.Second))
		e.Raw = raw
		events = append(events, e)
	}
	mustApply(t, db, 1, events...)
	mustFlush(t, db) // read back from sstables, not the memtable
	for _, e := range events {
		raw, err := db.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano)
		if err != nil {
			t.Fatalf("GetRaw(%s): %v", e.EventId, err)
		}
		if !bytes.Equal(raw, e.Raw) {
			t.Errorf("GetRaw(%s) returned %d bytes that differ from the %d stored", e.EventId, len(raw), len(e.Raw))
		}
	}
}

// The dedup identity is the event's key: the same eventID and account at
// another time or in another region is another record, and is stored; so
// is the same eventID of another account. GetRaw, which is given a day,
// returns the first of that day's events in (eventTime, region) order.
func TestApplyIngestDedupIdentityIsEventKey(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	first := ev("123456789012", "us-east-1", "id", day0.Add(time.Hour))
	sameDayOtherTime := ev("123456789012", "us-east-1", "id", day0.Add(5*time.Hour))
	otherRegion := ev("123456789012", "eu-west-1", "id", day0.Add(time.Hour))
	otherAccount := ev("210987654321", "us-east-1", "id", day0.Add(time.Hour))
	nextDay := ev("123456789012", "us-east-1", "id", day0.Add(25*time.Hour))
	got := mustApply(t, db, 1, sameDayOtherTime, first, otherRegion, otherAccount, nextDay, first)
	if want := []cairnv1.EventStatus{stored, stored, stored, stored, stored, duplicate}; !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	got = mustApply(t, db, 2, otherRegion, nextDay, sameDayOtherTime, first, otherAccount)
	if want := slices.Repeat([]cairnv1.EventStatus{duplicate}, 5); !slices.Equal(got, want) {
		t.Fatalf("re-sent: statuses = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		account string
		at      time.Time
		want    *cairnv1.Event
	}{
		{"123456789012", day0.Add(23 * time.Hour), otherRegion}, // eu-west-1 before us-east-1
		{"123456789012", day0.Add(25 * time.Hour), nextDay},
		{"210987654321", day0, otherAccount},
	} {
		raw, err := db.GetRaw(tc.account, "id", tc.at.UnixNano())
		if err != nil || !bytes.Equal(raw, tc.want.Raw) {
			t.Errorf("GetRaw(%s, id, %v) = %q, %v; want %q", tc.account, tc.at, raw, err, tc.want.Raw)
		}
	}
}

// Events before 1970 are stored and found like any other.
func TestApplyIngestNegativeEventTime(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	old := ev("123456789012", "us-east-1", "old", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC))
	mustApply(t, db, 1, old)
	if got := mustApply(t, db, 2, old); got[0] != duplicate {
		t.Errorf("re-sent pre-1970 event: status %v, want duplicate", got[0])
	}
	raw, err := db.GetRaw(old.Account, old.EventId, old.EventTimeUnixNano)
	if err != nil || !bytes.Equal(raw, old.Raw) {
		t.Errorf("GetRaw = %q, %v; want %q", raw, err, old.Raw)
	}
}

func TestApplyIngestAllDuplicatesChangesOnlyAppliedIndex(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	e := ev("123456789012", "us-east-1", "id", day0)
	mustApply(t, db, 1, e)
	before := mustDigest(t, db)
	if got := mustApply(t, db, 2, e, e); !slices.Equal(got, []cairnv1.EventStatus{duplicate, duplicate}) {
		t.Fatalf("statuses = %v, want two duplicates", got)
	}
	after := mustDigest(t, db)
	if after.applied != 2 || after.events != before.events || after.digest != before.digest {
		t.Errorf("after an all-duplicate entry: %+v, before: %+v; want only the applied index to move", after, before)
	}
}

func TestApplyIngestEmptyEntry(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	if got := mustApply(t, db, 3); len(got) != 0 {
		t.Errorf("statuses = %v, want none", got)
	}
	if db.AppliedIndex() != 3 {
		t.Errorf("applied index = %d, want 3", db.AppliedIndex())
	}
}

func TestApplyIngestRejectsStaleIndex(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	mustApply(t, db, 7, ev("123456789012", "us-east-1", "a", day0))
	before := mustDigest(t, db)
	for _, index := range []uint64{0, 6, 7} {
		_, err := db.ApplyIngest(index, []*cairnv1.Event{ev("123456789012", "us-east-1", "b", day0)})
		if !errors.Is(err, ErrStaleIndex) {
			t.Errorf("ApplyIngest(%d) error = %v, want ErrStaleIndex", index, err)
		}
		if err := db.SetAppliedIndex(index); !errors.Is(err, ErrStaleIndex) {
			t.Errorf("SetAppliedIndex(%d) error = %v, want ErrStaleIndex", index, err)
		}
	}
	if after := mustDigest(t, db); after != before {
		t.Errorf("stale entries changed the DB: %+v, was %+v", after, before)
	}
}

func TestApplyIngestRejectsInvalidEventsWritingNothing(t *testing.T) {
	valid := ev("123456789012", "us-east-1", "ok", day0)
	for name, bad := range map[string]*cairnv1.Event{
		"nil":              nil,
		"empty account":    ev("", "us-east-1", "id", day0),
		"empty eventID":    ev("123456789012", "us-east-1", "", day0),
		"0x00 in account":  ev("1234\x00", "us-east-1", "id", day0),
		"0x00 in region":   ev("123456789012", "us-\x00east-1", "id", day0),
		"0x00 in eventID":  ev("123456789012", "us-east-1", "i\x00d", day0),
		"0x00 at the end":  ev("123456789012", "us-east-1", "id\x00", day0),
		"only 0x00 region": ev("123456789012", "\x00", "id", day0),
		"raw and record":   withRecord(ev("123456789012", "us-east-1", "id", day0), "{}", true),
		"record with a cut past its body": withRecord(ev("123456789012", "us-east-1", "id", day0),
			"\x01\x01\x1c{}", false), // eventID 3 bytes into a body of 2
		"record with a cut the key cannot fill": withRecord(ev("123456789012", "us-east-1", "id", day0.Add(1)),
			"\x01\x01\x00{}", false),
	} {
		t.Run(name, func(t *testing.T) {
			if err := ValidateEvent(bad); !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("ValidateEvent error = %v, want ErrInvalidEvent", err)
			}
			db := mustOpen(t, t.TempDir(), Options{})
			_, err := db.ApplyIngest(1, []*cairnv1.Event{valid, bad})
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("ApplyIngest error = %v, want ErrInvalidEvent", err)
			}
			if db.AppliedIndex() != 0 || db.EventCount() != 0 || len(mustEventKeys(t, db)) != 0 {
				t.Errorf("a rejected entry wrote: applied %d, events %d, keys %v",
					db.AppliedIndex(), db.EventCount(), mustEventKeys(t, db))
			}
			// The FSM can still record the entry as applied.
			if err := db.SetAppliedIndex(1); err != nil || db.AppliedIndex() != 1 {
				t.Errorf("SetAppliedIndex(1) = %v, applied %d", err, db.AppliedIndex())
			}
		})
	}
	if err := ValidateEvent(valid); err != nil {
		t.Errorf("ValidateEvent(valid) = %v", err)
	}
	if err := ValidateEvent(ev("123456789012", "", "id", day0)); err != nil {
		t.Errorf("ValidateEvent with empty region = %v, want nil (region may be absent)", err)
	}
}

// withRecord sets e.Record to record, and clears e.Raw unless keepRaw.
func withRecord(e *cairnv1.Event, record string, keepRaw bool) *cairnv1.Event {
	e.Record = []byte(record)
	if !keepRaw {
		e.Raw = nil
	}
	return e
}

// An event that carries its record value instead of its raw record is
// stored the same: the replicas of a shard hold the same bytes whichever the
// entry carried.
func TestApplyIngestRecordValuesAreRawCut(t *testing.T) {
	ents := entries(11, 3, 50)
	raws, withValues := mustOpen(t, t.TempDir(), Options{}), mustOpen(t, t.TempDir(), Options{})
	cut := 0
	for i, events := range ents {
		mustApply(t, raws, uint64(i+1), events...)
		values := RecordValues(events)
		carried := make([]*cairnv1.Event, len(events))
		for j, e := range events {
			carried[j] = &cairnv1.Event{Record: values[j], Account: e.Account, EventSource: e.EventSource, EventName: e.EventName,
				Region: e.Region, EventId: e.EventId, EventTimeUnixNano: e.EventTimeUnixNano, Username: e.Username,
				AccessKeyId: e.AccessKeyId, ReadOnly: e.ReadOnly, ErrorCode: e.ErrorCode, SourceIp: e.SourceIp,
				EventCategory: e.EventCategory, Resources: e.Resources, Columns: e.Columns}
			if len(values[j]) < len(e.Raw) {
				cut++
			}
		}
		mustApply(t, withValues, uint64(i+1), carried...)
	}
	if cut != 150 {
		t.Errorf("%d of 150 record values are shorter than their record", cut)
	}
	if got, want := mustDigest(t, withValues), mustDigest(t, raws); got != want {
		t.Errorf("digest with record values %+v, with raw records %+v", got, want)
	}
	for _, e := range ents[1] {
		raw, err := withValues.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano)
		if err != nil || !bytes.Equal(raw, e.Raw) {
			t.Fatalf("GetRaw(%s) = %q, %v; want %q", e.EventId, raw, err, e.Raw)
		}
	}
}

func TestSetAppliedIndex(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	mustApply(t, db, 1, ev("123456789012", "us-east-1", "a", day0))
	before := mustDigest(t, db)
	if err := db.SetAppliedIndex(9); err != nil {
		t.Fatalf("SetAppliedIndex: %v", err)
	}
	after := mustDigest(t, db)
	if after.applied != 9 || db.AppliedIndex() != 9 {
		t.Errorf("applied index = %d (Digest), %d (AppliedIndex); want 9", after.applied, db.AppliedIndex())
	}
	if after.events != before.events || after.digest != before.digest {
		t.Errorf("SetAppliedIndex changed data: %+v, was %+v", after, before)
	}
}

func TestClosedDBReturnsErrClosed(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	mustApply(t, db, 1, ev("123456789012", "us-east-1", "a", day0))
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checks := map[string]error{
		"Close":         db.Close(),
		"SetApplied":    db.SetAppliedIndex(2),
		"Flush":         db.Flush(),
		"Checkpoint":    db.Checkpoint(t.TempDir() + "/ckpt"),
		"Compact":       db.Compact(),
		"ScanEventKeys": db.ScanEventKeys(func(string, string) error { return nil }),
	}
	_, checks["ApplyIngest"] = db.ApplyIngest(2, nil)
	_, _, _, checks["Digest"] = db.Digest()
	_, checks["GetRaw"] = db.GetRaw("123456789012", "a", day0.UnixNano())
	_, checks["DiskUsage"] = db.DiskUsage()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: error = %v, want ErrClosed", name, err)
		}
	}
	if m := db.Metrics(); m != nil {
		t.Error("Metrics after Close is not nil")
	}
	if db.AppliedIndex() != 1 {
		t.Errorf("AppliedIndex after Close = %d, want the last value, 1", db.AppliedIndex())
	}
}

// Readers may run while the FSM applies entries (run with -race).
func TestConcurrentReadsDuringApply(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{MemTableSize: 1 << 20})
	gen := newEventGen(7, day0)
	done := make(chan error, 1)
	go func() {
		for i := range 40 {
			if _, err := db.ApplyIngest(uint64(i+1), gen.batch(50)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("ApplyIngest: %v", err)
			}
			d := mustDigest(t, db)
			if d.applied != 40 || d.events != 2000 || uint64(len(mustEventKeys(t, db))) != d.events {
				t.Errorf("after 40 entries of 50: %+v", d)
			}
			return
		default:
		}
		// Every snapshot agrees with itself: the count matches the keys.
		applied, events, _, err := db.Digest()
		if err != nil {
			t.Fatalf("Digest: %v", err)
		}
		if applied > 40 || events != applied*50 {
			t.Fatalf("Digest saw applied %d with %d events; want 50 per entry", applied, events)
		}
	}
}

// Close waits for running calls; a call made meanwhile (here from a scan
// callback) fails with ErrClosed instead of deadlocking.
func TestCloseWaitsForRunningCalls(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	e := ev("123456789012", "us-east-1", "a", day0)
	mustApply(t, db, 1, e)
	closed := make(chan error, 1)
	err := db.ScanEventKeys(func(account, eventID string) error {
		go func() { closed <- db.Close() }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := db.GetRaw(account, eventID, e.EventTimeUnixNano)
			if errors.Is(err, ErrClosed) {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("GetRaw while Close waits: %v", err)
			}
		}
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) while a scan was running", err)
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanEventKeys: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}
