package storage

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

const (
	stored    = cairnv1.EventStatus_EVENT_STATUS_STORED
	duplicate = cairnv1.EventStatus_EVENT_STATUS_DUPLICATE
)

// day0 is a fixed eventTime base for hand-written events.
var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func mustOpen(tb testing.TB, dir string, opts Options) *DB {
	tb.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, ErrClosed) {
			tb.Errorf("Close(%s): %v", dir, err)
		}
	})
	return db
}

func mustApply(tb testing.TB, db *DB, index uint64, events ...*cairnv1.Event) []cairnv1.EventStatus {
	tb.Helper()
	statuses, err := db.ApplyIngest(index, events)
	if err != nil {
		tb.Fatalf("ApplyIngest(%d): %v", index, err)
	}
	if len(statuses) != len(events) {
		tb.Fatalf("ApplyIngest(%d) returned %d statuses for %d events", index, len(statuses), len(events))
	}
	return statuses
}

func mustFlush(tb testing.TB, db *DB) {
	tb.Helper()
	if err := db.Flush(); err != nil {
		tb.Fatalf("Flush: %v", err)
	}
}

type digestResult struct {
	applied, events uint64
	digest          string
}

func mustDigest(tb testing.TB, db *DB) digestResult {
	tb.Helper()
	applied, events, digest, err := db.Digest()
	if err != nil {
		tb.Fatalf("Digest: %v", err)
	}
	return digestResult{applied: applied, events: events, digest: string(digest)}
}

// mustEventKeys returns "account/eventID" of every stored event, in scan order.
func mustEventKeys(tb testing.TB, db *DB) []string {
	tb.Helper()
	var keys []string
	err := db.ScanEventKeys(func(account, eventID string) error {
		keys = append(keys, account+"/"+eventID)
		return nil
	})
	if err != nil {
		tb.Fatalf("ScanEventKeys: %v", err)
	}
	return keys
}

// ev returns a small hand-written event.
func ev(account, region, eventID string, at time.Time) *cairnv1.Event {
	return &cairnv1.Event{
		Raw: []byte(`{"eventID":"` + eventID + `","recipientAccountId":"` + account +
			`","awsRegion":"` + region + `","eventTime":"` + at.UTC().Format(time.RFC3339Nano) + `"}`),
		EventId:           eventID,
		EventTimeUnixNano: at.UnixNano(),
		Account:           account,
		Region:            region,
	}
}

// keysOf returns "account/eventID" of events, sorted as ScanEventKeys orders
// them: in the order of their summary keys.
func keysOf(events []*cairnv1.Event) []string {
	sorted := slices.Clone(events)
	key := func(e *cairnv1.Event) []byte {
		return appendSummaryKey(nil, e.Account, e.Region, e.EventTimeUnixNano, e.EventId)
	}
	slices.SortFunc(sorted, func(a, b *cairnv1.Event) int { return bytes.Compare(key(a), key(b)) })
	keys := make([]string, len(sorted))
	for i, e := range sorted {
		keys[i] = e.Account + "/" + e.EventId
	}
	return keys
}
