package storage

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// TestOpenUpgradesLayout0 turns a DB into one of key layout 0 (the eventID
// index keyed 0x20 | day | account 0x00 | eventID, the errorCode index led by
// the account, no eventName index, no counts, records keyed like summaries
// under 0x10) and checks that Open upgrades it: the DB then holds the same
// keys and values as one written by the current code, finds re-sent events
// as duplicates, and keeps nothing under the retired prefixes.
func TestOpenUpgradesLayout0(t *testing.T) {
	db, dir, want, ents := loadedDB(t)

	b := db.pdb.NewBatch()
	retireEventIDIndex(t, db, b, prefixRetiredEventID)
	// The errorCode index of layout 0 leads with the account, and ends with
	// the eventID: one entry per event, built from the summaries.
	errIx := []byte{prefixIndex + byte(attrErrorCode)}
	if err := b.DeleteRange(errIx, keyUpperBound(errIx), nil); err != nil { // before the Sets below
		t.Fatal(err)
	}
	errors0 := 0
	eachSummary(t, db, func(k eventKey, sum *summary) {
		if len(sum.errorCode) == 0 {
			return
		}
		old := appendString(appendString(appendDay(slices.Clone(errIx), dayOf(k.eventTime)), k.account), string(sum.errorCode))
		old = append(appendTime(old, k.eventTime), k.eventID...)
		if err := b.Set(old, []byte(k.region), nil); err != nil {
			t.Fatal(err)
		}
		errors0++
	})
	if errors0 == 0 {
		t.Fatal("no errorCode index entries to rewrite; a poor test")
	}
	names, counts := []byte{prefixIndex + byte(attrEventName)}, []byte{prefixCounts}
	err := errors.Join(b.DeleteRange(names, keyUpperBound(names), nil),
		b.DeleteRange(counts, keyUpperBound(counts), nil), b.Delete(layoutVersionKey, nil))
	if err := errors.Join(err, b.Commit(pebble.NoSync)); err != nil {
		t.Fatal(err)
	}
	retireRecords(t, db, 120)
	checkUpgrade(t, db, dir, want, ents)
}

// TestOpenUpgradesLayout1 turns a DB into one of key layout 1 (records keyed
// like summaries under 0x10) and checks that Open upgrades it.
func TestOpenUpgradesLayout1(t *testing.T) {
	checkUpgradeFrom(t, 1, func(db *DB, _ *pebble.Batch) { retireRecords(t, db, 120) })
}

// TestOpenUpgradesLayout2 turns a DB into one of key layout 2 (raw records
// as values) and checks that Open upgrades it.
func TestOpenUpgradesLayout2(t *testing.T) {
	checkUpgradeFrom(t, 2, func(db *DB, b *pebble.Batch) {
		iter, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: recordKeyspace, UpperBound: keyUpperBound(recordKeyspace)})
		if err != nil {
			t.Fatal(err)
		}
		cut := 0
		for valid := iter.First(); valid; valid = iter.Next() {
			if iter.Value()[0] == recordCut {
				cut++
			}
			if err := b.Set(iter.Key(), rawRecord(t, iter.Key(), iter.Value()), nil); err != nil {
				t.Fatal(err)
			}
		}
		if cut != 120 {
			t.Fatalf("%d of 120 records have fields cut; the test proves little", cut)
		}
		if err := iter.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestOpenUpgradesLayout3 turns a DB into one of key layout 3 (lookup index
// entries keyed by eventID, one per event, the region as value) and checks
// that Open upgrades it.
func TestOpenUpgradesLayout3(t *testing.T) {
	checkUpgradeFrom(t, 3, func(db *DB, b *pebble.Batch) {
		ix := []byte{prefixIndex}
		if err := b.DeleteRange(ix, []byte{prefixIndex + 0x10}, nil); err != nil { // before the Sets below
			t.Fatal(err)
		}
		n := 0
		eachSummary(t, db, func(k eventKey, sum *summary) {
			for _, a := range []struct {
				attr  attr
				value []byte
			}{{attrEventName, sum.eventName}, {attrErrorCode, sum.errorCode}} {
				if len(a.value) == 0 {
					continue
				}
				old := appendIndexPrefix(nil, a.attr, dayOf(k.eventTime), string(a.value), k.account)
				old = append(appendTime(old, k.eventTime), k.eventID...)
				if err := b.Set(old, []byte(k.region), nil); err != nil {
					t.Fatal(err)
				}
				n++
			}
		})
		if n < 120 {
			t.Fatalf("wrote %d index entries of layout 3, want at least 120", n)
		}
	})
}

// TestOpenUpgradesLayout4 turns a DB into one of key layout 4 (eventID index
// entries keyed by eventID, one per event, the region and eventTime as
// value) and checks that Open upgrades it.
func TestOpenUpgradesLayout4(t *testing.T) {
	checkUpgradeFrom(t, 4, nil)
}

// TestOpenUpgradesLayout5 gives a DB the eventName index of layouts 4 and
// 5, one entry per (eventName, account, eventTime, region), and checks that
// Open replaces it by that of layout 6.
func TestOpenUpgradesLayout5(t *testing.T) {
	db, dir, want, ents := loadedDB(t)
	b := db.pdb.NewBatch()
	retireNameIndex(t, db, b)
	if err := errors.Join(b.Set(layoutVersionKey, appendUint64(nil, 5), nil), b.Commit(pebble.NoSync)); err != nil {
		t.Fatal(err)
	}
	checkUpgrade(t, db, dir, want, ents)
}

// retireNameIndex replaces, in b, db's eventName index by that of layouts 4
// and 5 (1 to 3 had the same, keyed by eventID): one entry per (eventName,
// account, eventTime, region).
func retireNameIndex(t *testing.T, db *DB, b *pebble.Batch) {
	t.Helper()
	calls := []byte{prefixCalls}
	if err := b.DeleteRange(calls, keyUpperBound(calls), nil); err != nil { // before the Sets below
		t.Fatal(err)
	}
	n := 0
	eachSummary(t, db, func(k eventKey, sum *summary) {
		key := appendIndexKey(nil, indexKey{attr: attrEventName, account: k.account, value: string(sum.eventName), eventTime: k.eventTime, region: k.region})
		if err := b.Set(key, nil, nil); err != nil {
			t.Fatal(err)
		}
		n++
	})
	if n != 120 {
		t.Fatalf("wrote %d eventName index entries, want 120", n)
	}
}

// checkUpgradeFrom loads a DB and turns it into one of layout version, from
// 1 to 4: the eventID index and the eventName index those layouts share,
// plus what retire does (writing into b, or to the DB itself); then checks
// that Open upgrades it.
func checkUpgradeFrom(t *testing.T, version uint64, retire func(db *DB, b *pebble.Batch)) {
	t.Helper()
	db, dir, want, ents := loadedDB(t)
	b := db.pdb.NewBatch()
	retireEventIDIndex(t, db, b, prefixEventID)
	retireNameIndex(t, db, b)
	if retire != nil {
		retire(db, b)
	}
	if err := errors.Join(b.Set(layoutVersionKey, appendUint64(nil, version), nil), b.Commit(pebble.NoSync)); err != nil {
		t.Fatal(err)
	}
	checkUpgrade(t, db, dir, want, ents)
}

// eachSummary calls fn with the key and summary of every event db stores.
func eachSummary(t *testing.T, db *DB, fn func(k eventKey, s *summary)) {
	t.Helper()
	iter, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: summaryKeyspace, UpperBound: keyUpperBound(summaryKeyspace)})
	if err != nil {
		t.Fatal(err)
	}
	defer iter.Close()
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := parseEventKey(iter.Key())
		if err != nil {
			t.Fatal(err)
		}
		sum, err := parseSummary(iter.Value())
		if err != nil {
			t.Fatal(err)
		}
		fn(k, &sum)
	}
}

// retireEventIDIndex replaces, in b, db's eventID index by that of an
// earlier layout, one entry per event with the region and eventTime as
// value: under prefix 0x21 that of layouts 1 to 4 (day | eventID 0x00 |
// account), under 0x20 that of layout 0 (day | account 0x00 | eventID).
func retireEventIDIndex(t *testing.T, db *DB, b *pebble.Batch, prefix byte) {
	t.Helper()
	if err := b.DeleteRange(eventIDKeyspace, keyUpperBound(eventIDKeyspace), nil); err != nil { // before the Sets below
		t.Fatal(err)
	}
	n := 0
	eachSummary(t, db, func(k eventKey, _ *summary) {
		old := appendDay([]byte{prefix}, dayOf(k.eventTime))
		if prefix == prefixRetiredEventID {
			old = append(appendString(old, k.account), k.eventID...)
		} else {
			old = append(appendString(old, k.eventID), k.account...)
		}
		if err := b.Set(old, appendTime(appendString(nil, k.region), k.eventTime), nil); err != nil {
			t.Fatal(err)
		}
		n++
	})
	if n != 120 {
		t.Fatalf("wrote %d eventID index entries of an earlier layout, want 120", n)
	}
}

// rawRecord returns the raw record of the record value under key.
func rawRecord(t *testing.T, key, value []byte) []byte {
	t.Helper()
	k, source, name, err := splitRecordKey(key)
	if err != nil {
		t.Fatal(err)
	}
	rk := recordKey[[]byte]{account: k.account, source: source, name: name, region: k.region, eventID: k.eventID, eventTime: k.eventTime}
	raw, err := appendRecord(nil, value, &rk)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// loadedDB returns a DB in dir holding ents (3 entries of 40 events), and the
// digest of a DB written with the same entries, to compare with once db's
// layout has been made older and upgraded again.
func loadedDB(t *testing.T) (db *DB, dir string, want digestResult, ents [][]*cairnv1.Event) {
	ents = entries(7, 3, 40)
	fresh := mustOpen(t, t.TempDir(), Options{})
	dir = t.TempDir()
	db = mustOpen(t, dir, Options{})
	for i, e := range ents {
		mustApply(t, fresh, uint64(i+1), e...)
		mustApply(t, db, uint64(i+1), e...)
	}
	return db, dir, mustDigest(t, fresh), ents
}

// retireRecords moves db's records to the key of layouts 0 and 1: their
// summary key under 0x10. It checks that it moved n.
func retireRecords(t *testing.T, db *DB, n int) {
	t.Helper()
	b := db.pdb.NewBatch()
	iter, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: recordKeyspace, UpperBound: keyUpperBound(recordKeyspace)})
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for valid := iter.First(); valid; valid = iter.Next() {
		k, _, _, err := splitRecordKey(iter.Key())
		if err != nil {
			t.Fatal(err)
		}
		old := appendSummaryKey(nil, k.account, k.region, k.eventTime, k.eventID)
		old[0] = prefixRetiredRecord
		raw := rawRecord(t, iter.Key(), iter.Value())
		if err := errors.Join(b.Set(old, raw, nil), b.Delete(iter.Key(), nil)); err != nil {
			t.Fatal(err)
		}
		moved++
	}
	if err := errors.Join(iter.Close(), b.Commit(pebble.NoSync)); err != nil {
		t.Fatal(err)
	}
	if moved != n {
		t.Fatalf("retired %d records, want %d", moved, n)
	}
}

// checkUpgrade closes db, opens dir again and checks that the DB then has
// the digest want, no retired keys, and ents stored: re-sent, they are
// duplicates, and their records are found.
func checkUpgrade(t *testing.T, db *DB, dir string, want digestResult, ents [][]*cairnv1.Event) {
	t.Helper()
	if got := mustDigest(t, db); got == want {
		t.Fatal("the retired layout has the same digest as the current one; the test proves nothing")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, dir, Options{})
	if got := mustDigest(t, db); got != want {
		t.Errorf("after migration: digest %+v, want %+v", got, want)
	}
	for _, retired := range [][]byte{{prefixRetiredRecord}, {prefixRetiredEventID}} {
		iter, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: retired, UpperBound: keyUpperBound(retired)})
		if err != nil {
			t.Fatal(err)
		}
		if iter.First() {
			t.Errorf("retired key %x left after migration", iter.Key())
		}
		if err := iter.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := getUint64(db.pdb, layoutVersionKey); err != nil || v != layoutVersion {
		t.Errorf("layout version after migration = %d, %v; want %d", v, err, layoutVersion)
	}
	statuses := mustApply(t, db, 4, ents[1]...)
	if want := slices.Repeat([]cairnv1.EventStatus{duplicate}, len(ents[1])); !slices.Equal(statuses, want) {
		t.Errorf("re-sent entry after migration: %v, want all duplicate", statuses)
	}
	for _, e := range ents[2] {
		raw, err := db.GetRaw(e.Account, e.EventId, e.EventTimeUnixNano)
		if err != nil || !bytes.Equal(raw, e.Raw) {
			t.Errorf("GetRaw after migration = %q, %v; want the stored record", raw, err)
		}
	}
}
