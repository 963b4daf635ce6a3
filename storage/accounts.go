package storage

import (
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// AccountStats summarizes one account's stored events.
type AccountStats struct {
	Account string
	Events  uint64
	// First and Last are the earliest and latest eventTime, Unix nanoseconds.
	First, Last int64
}

// Accounts summarizes the stored events per account, sorted by account. It
// reads only the eventID index (keys and their small values, never the raw
// events) from one consistent state.
func (db *DB) Accounts() ([]AccountStats, error) {
	release, err := db.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	iter, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: eventIDKeyspace,
		UpperBound: keyUpperBound(eventIDKeyspace),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot scan accounts: %w", err)
	}
	defer iter.Close()
	byAccount := map[string]*AccountStats{}
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := parseEventIDKey(iter.Key())
		if err != nil {
			return nil, fmt.Errorf("cannot scan accounts: %w", err)
		}
		v, err := parseEventIDValue(iter.Value())
		if err != nil {
			return nil, fmt.Errorf("cannot scan accounts: %w", err)
		}
		s := byAccount[k.account]
		if s == nil {
			s = &AccountStats{Account: k.account, First: v.eventTime, Last: v.eventTime}
			byAccount[k.account] = s
		}
		s.Events++
		s.First = min(s.First, v.eventTime)
		s.Last = max(s.Last, v.eventTime)
	}
	if err := iter.Error(); err != nil {
		return nil, fmt.Errorf("cannot scan accounts: %w", err)
	}
	out := make([]AccountStats, 0, len(byAccount))
	for _, s := range byAccount {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out, nil
}
