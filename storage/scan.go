package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

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

// ScanQuery bounds a scan of stored events.
type ScanQuery struct {
	// Accounts to read; nil: every account.
	Accounts []string
	// From and To bound eventTime (unix nanoseconds): [From, To). From 0
	// means no lower bound, To 0 no upper bound.
	From, To int64
	// Prefilter, when not nil, skips events whose summary shows they cannot
	// match, without reading their raw bytes.
	Prefilter *Prefilter
}

// Prefilter lists, per attribute, the values an event must have one of; a
// nil list does not constrain. The attributes are compared as their summary
// holds them: the string value of the field, or "" when it is absent.
type Prefilter struct {
	EventIDs, EventNames, EventSources, Regions, ErrorCodes, SourceIPs, AccessKeyIDs []string
}

// admits reports whether an event with key k and summary s may match.
func (p *Prefilter) admits(k eventKey, s *summary) bool {
	return oneOf(p.EventIDs, k.eventID) && oneOf(p.Regions, k.region) &&
		oneOf(p.EventNames, s.eventName) && oneOf(p.EventSources, s.eventSource) &&
		oneOf(p.AccessKeyIDs, s.accessKeyID) && oneOf(p.ErrorCodes, s.errorCode) && oneOf(p.SourceIPs, s.sourceIP)
}

// oneOf reports whether v is one of vals; a nil vals admits anything.
func oneOf[T string | []byte](vals []string, v T) bool {
	if vals == nil {
		return true
	}
	for _, s := range vals {
		if s == string(v) {
			return true
		}
	}
	return false
}

// ScanStats describe the work of one scan.
type ScanStats struct {
	Events    uint64 // events passed to fn
	BytesRead uint64 // their raw bytes
}

// ScanEvents calls fn with the raw bytes of every stored event q selects,
// day by day (oldest first), then by account, region and eventTime, from one
// consistent state. raw is valid only during the call. fn returns false to
// stop the scan early. With a Prefilter the scan walks the summaries and
// reads only the raw bytes of the events the prefilter admits.
func (db *DB) ScanEvents(q ScanQuery, fn func(raw []byte) (more bool, err error)) (ScanStats, error) {
	var stats ScanStats
	release, err := db.acquire()
	if err != nil {
		return stats, err
	}
	defer release()
	snap := db.pdb.NewSnapshot()
	defer snap.Close()

	prefix := prefixEvent
	if q.Prefilter != nil {
		prefix = prefixSummary
	}
	lower, upper := []byte{prefix}, keyUpperBound([]byte{prefix})
	if q.From != 0 {
		lower = appendDay([]byte{prefix}, dayOf(q.From))
	}
	if q.To != 0 {
		upper = appendDay([]byte{prefix}, dayOf(q.To-1)+1)
	}
	var ranges [][2][]byte
	if q.Accounts == nil {
		ranges = append(ranges, [2][]byte{lower, upper})
	} else {
		// One range per account and day.
		accounts := slices.Compact(slices.Sorted(slices.Values(q.Accounts)))
		first, last := dayOf(q.From), dayOf(q.To-1)
		if q.From == 0 {
			if first, err = db.firstDay(snap); err != nil {
				return stats, err
			}
		}
		if q.To == 0 {
			if last, err = db.lastDay(snap); err != nil {
				return stats, err
			}
		}
		for day := first; day <= last; day++ {
			for _, a := range accounts {
				p := appendString(appendDay([]byte{prefix}, day), a)
				ranges = append(ranges, [2][]byte{p, keyUpperBound(p)})
			}
		}
	}
	for _, r := range ranges {
		more, err := db.scanRange(snap, r[0], r[1], q, &stats, fn)
		if err != nil || !more {
			return stats, err
		}
	}
	return stats, nil
}

func (db *DB) scanRange(snap *pebble.Snapshot, lower, upper []byte, q ScanQuery, stats *ScanStats, fn func([]byte) (bool, error)) (bool, error) {
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, fmt.Errorf("cannot scan events: %w", err)
	}
	defer iter.Close()
	var key []byte
	for valid := iter.First(); valid; valid = iter.Next() {
		key = append(key[:0], iter.Key()...)
		key[0] = prefixEvent // a summary key is the primary key under another prefix
		k, err := parseEventKey(key)
		if err != nil {
			return false, fmt.Errorf("cannot scan events: %w", err)
		}
		if (q.From != 0 && k.eventTime < q.From) || (q.To != 0 && k.eventTime >= q.To) {
			continue
		}
		var raw []byte
		if q.Prefilter != nil {
			s, err := parseSummary(iter.Value())
			if err != nil {
				return false, fmt.Errorf("cannot scan events: %w", err)
			}
			if !q.Prefilter.admits(k, &s) {
				continue
			}
			if raw, err = getCopy(snap, key); err != nil {
				return false, fmt.Errorf("cannot scan events: read %s/%s: %w", k.account, k.eventID, err)
			}
		} else if raw, err = iter.ValueAndErr(); err != nil {
			return false, fmt.Errorf("cannot scan events: %w", err)
		}
		stats.Events++
		stats.BytesRead += uint64(len(raw))
		more, err := fn(raw)
		if err != nil || !more {
			return false, err
		}
	}
	if err := iter.Error(); err != nil {
		return false, fmt.Errorf("cannot scan events: %w", err)
	}
	return true, nil
}

// firstDay and lastDay are the days of the oldest and newest stored events
// (0 when there are none). Summaries share the primary keys' days.
func (db *DB) firstDay(snap *pebble.Snapshot) (int32, error) { return db.edgeDay(snap, true) }
func (db *DB) lastDay(snap *pebble.Snapshot) (int32, error)  { return db.edgeDay(snap, false) }

func (db *DB) edgeDay(snap *pebble.Snapshot, first bool) (int32, error) {
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: eventKeyspace, UpperBound: keyUpperBound(eventKeyspace)})
	if err != nil {
		return 0, err
	}
	defer iter.Close()
	valid := iter.Last()
	if first {
		valid = iter.First()
	}
	if !valid {
		return 0, iter.Error()
	}
	day, _, err := parseDay(iter.Key()[1:])
	return day, err
}
