package storage

import (
	"errors"
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
// reads only the summary keys (never their values or the raw events) from
// one consistent state.
func (db *DB) Accounts() ([]AccountStats, error) {
	release, err := db.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	iter, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: summaryKeyspace,
		UpperBound: keyUpperBound(summaryKeyspace),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot scan accounts: %w", err)
	}
	defer iter.Close()
	byAccount := map[string]*AccountStats{}
	var last *AccountStats
	for valid := iter.First(); valid; valid = iter.Next() {
		k, err := splitEventKey(iter.Key())
		if err != nil {
			return nil, fmt.Errorf("cannot scan accounts: %w", err)
		}
		if last == nil || last.Account != string(k.account) {
			last = byAccount[string(k.account)]
			if last == nil {
				last = &AccountStats{Account: string(k.account), First: k.eventTime, Last: k.eventTime}
				byAccount[last.Account] = last
			}
		}
		last.Events++
		last.First = min(last.First, k.eventTime)
		last.Last = max(last.Last, k.eventTime)
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

// eachDayAccount calls fn with every (day, account) that has events in the
// summary keys of [lower, upper), in key order, seeking from one account to
// the next rather than reading every key. account aliases the iterator's
// key: fn must copy it to keep it.
func eachDayAccount(r pebble.Reader, lower, upper []byte, fn func(day int32, account []byte)) error {
	iter, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for valid := iter.First(); valid; {
		day, rest, err := parseDay(iter.Key()[1:])
		var account []byte
		if err == nil {
			account, _, err = parseBytes(rest)
		}
		if err != nil {
			return errors.Join(fmt.Errorf("cannot parse summary key %q: %w", iter.Key(), err), iter.Close())
		}
		fn(day, account)
		valid = iter.SeekGE(nextAccountKey(prefixSummary, day, string(account)))
	}
	return errors.Join(iter.Error(), iter.Close())
}

// dayAccounts returns, sorted, the accounts with events on day.
func dayAccounts(r pebble.Reader, day int32) ([]string, error) {
	var accounts []string
	err := eachDayAccount(r, appendDay([]byte{prefixSummary}, day), appendDay([]byte{prefixSummary}, day+1), func(_ int32, account []byte) {
		accounts = append(accounts, string(account))
	})
	return accounts, err
}
