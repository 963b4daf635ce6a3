package storage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ScanEventKeys calls fn with the (account, eventID) of every stored event, in
// the key order of the eventID index: by UTC day of eventTime, then account,
// then eventID. It reads one consistent state. If fn returns an error the scan
// stops and ScanEventKeys returns that error unchanged.
//
// The scan holds one iterator for its whole duration, which pins the sstables
// it reads: keep fn fast. fn may call other methods of db but not Close
// (Close waits for the scan to end).
func (db *DB) ScanEventKeys(fn func(account, eventID string) error) error {
	release, err := db.acquire()
	if err != nil {
		return err
	}
	defer release()

	iter, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: eventIDKeyspace,
		UpperBound: keyUpperBound(eventIDKeyspace),
	})
	if err != nil {
		return fmt.Errorf("cannot scan event keys: %w", err)
	}
	defer iter.Close()
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := parseEventIDKey(iter.Key())
		if err != nil {
			return fmt.Errorf("cannot scan event keys: %w", err)
		}
		if err := fn(k.account, k.eventID); err != nil {
			return err
		}
	}
	if err := iter.Error(); err != nil {
		return fmt.Errorf("cannot scan event keys: %w", err)
	}
	return nil
}

// GetRaw returns a copy of the raw bytes stored for the event with this
// account and eventID on the UTC day of eventTimeUnixNano (the event's dedup
// identity), or ErrNotFound.
func (db *DB) GetRaw(account, eventID string, eventTimeUnixNano int64) ([]byte, error) {
	release, err := db.acquire()
	if err != nil {
		return nil, err
	}
	defer release()

	snap := db.pdb.NewSnapshot()
	defer snap.Close()
	ik := eventIDKey{day: dayOf(eventTimeUnixNano), account: account, eventID: eventID}
	v, err := getCopy(snap, appendEventIDKey(nil, ik))
	if err != nil {
		return nil, fmt.Errorf("cannot get event %s/%s: %w", account, eventID, err)
	}
	iv, err := parseEventIDValue(v)
	if err != nil {
		return nil, fmt.Errorf("cannot get event %s/%s: %w", account, eventID, err)
	}
	raw, err := getCopy(snap, appendEventKey(nil, ik.primaryKey(iv)))
	if err != nil {
		return nil, fmt.Errorf("cannot get event %s/%s: %w", account, eventID, err)
	}
	return raw, nil
}

// getCopy returns a copy of the value of key, or ErrNotFound.
func getCopy(r reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}
