package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// The events of a day with a given eventName are found through the API calls
// of that day: the eventName index (0x30, keys.go) lists every (account,
// eventSource) with events of that name on that day, and the records of one
// such call are one range of the record keyspace, day | account 0x00 |
// eventSource | eventName. An account repeats its API calls all day, so the
// index has far fewer entries than there are events, and ApplyIngest writes
// an entry only when it does not know it is stored already.

// apiCall is an account's eventSource and eventName with events on some day.
type apiCall struct{ account, source, name string }

// namedCalls returns the API calls of day named one of names (each
// indexable), name by name, then by account and eventSource, from the
// eventName index in snap. accounts, when not nil, are the accounts to
// consider, sorted and distinct; nil means every account.
func namedCalls(snap *pebble.Snapshot, day int32, accounts, names []string) ([]apiCall, error) {
	ix := []byte{prefixCalls}
	iter, err := snap.NewIter(&pebble.IterOptions{LowerBound: ix, UpperBound: keyUpperBound(ix)})
	if err != nil {
		return nil, err
	}
	var (
		calls    []apiCall
		prefixes [][]byte
	)
	for _, name := range names {
		p := appendCallNamePrefix(nil, day, name)
		if accounts == nil {
			prefixes = append(prefixes, p)
			continue
		}
		for _, a := range accounts {
			prefixes = append(prefixes, appendString(slices.Clone(p), a))
		}
	}
	for _, p := range prefixes {
		for valid := iter.SeekGE(p); valid && bytes.HasPrefix(iter.Key(), p); valid = iter.Next() {
			k, err := splitCallKey(iter.Key())
			if err != nil {
				return nil, errors.Join(err, iter.Close())
			}
			calls = append(calls, apiCall{account: string(k.account), source: string(k.source), name: string(k.name)})
		}
	}
	return calls, errors.Join(iter.Error(), iter.Close())
}

// maxKnownCalls bounds knownCalls (about 100 bytes an entry): past it the
// memory starts again empty, which costs only rewrites of entries that are
// stored already.
const maxKnownCalls = 1 << 18

// knownCalls is the memory of the eventName index entries a DB is known to
// store, so that ApplyIngest writes an entry only for the first event of its
// call that it sees. Forgetting an entry only makes ApplyIngest write it
// again, which leaves the same keys: replicas whose memories differ still
// hold the same state. Remembering an entry that is not stored would lose it,
// so a cut, which deletes entries, empties the memory (forget). It is used
// only under the DB's applyMu.
type knownCalls struct {
	keys    map[string]struct{}
	pending []string // written by the batch being built
}

// add reports whether the entry key must be written: it is neither known to
// be stored nor already written by the batch being built.
func (k *knownCalls) add(key []byte) bool {
	if _, ok := k.keys[string(key)]; ok {
		return false
	}
	if k.keys == nil {
		k.keys = make(map[string]struct{})
	}
	s := string(key)
	k.keys[s] = struct{}{} // the batch being built writes it
	k.pending = append(k.pending, s)
	return true
}

// commit keeps what the batch wrote, now committed.
func (k *knownCalls) commit() {
	k.pending = k.pending[:0]
	if len(k.keys) > maxKnownCalls {
		k.forget()
	}
}

// abort forgets what a batch that was not committed wrote.
func (k *knownCalls) abort() {
	for _, s := range k.pending {
		delete(k.keys, s)
	}
	k.pending = k.pending[:0]
}

// forget empties the memory, for entries deleted behind its back.
func (k *knownCalls) forget() {
	clear(k.keys)
	k.pending = k.pending[:0]
}

// seekSummary positions sums, an iterator over the summary keyspace, at the
// summary of the event with key k (the key of its record). key is scratch
// for the summary key and is returned. A record without a summary is
// corruption.
func seekSummary(sums *pebble.Iterator, k *eventKeyBytes, key []byte) ([]byte, error) {
	key = appendSummaryKey(key[:0], k.account, k.region, k.eventTime, k.eventID)
	if !sums.SeekGE(key) || !bytes.Equal(sums.Key(), key) {
		if err := sums.Error(); err != nil {
			return key, err
		}
		return key, fmt.Errorf("record %s/%s has no summary: %w", k.account, k.eventID, errBadKey)
	}
	return key, nil
}
