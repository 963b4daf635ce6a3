package storage

import (
	"fmt"
	"math"
	"slices"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Retention limits.
const (
	// DefaultRetentionDays applies where no policy matches: seven years, as
	// a new cluster's default policy.
	DefaultRetentionDays = 2557
	// MinRetentionDays and MaxRetentionDays bound a policy.
	MinRetentionDays = 1
	MaxRetentionDays = 3653
)

// Stand-ins for "any account no rule names" and "any category no policy
// can name" (NetworkActivity, say), where the cutoffs of every account or
// every category are checked: neither can be a real account or category.
const (
	unnamedAccount = "\x00unnamed"
	otherCategory  = "\x00other"
)

// Categories are the event categories a policy may name. An event without
// eventCategory counts as Management (CloudTrail wrote none before it
// introduced categories, when every event was a management event).
var Categories = []string{"Management", "Data", "Insight"}

// cutoffCategories are the categories whose cutoffs stand for all: those a
// policy may name and one it cannot.
var cutoffCategories = append(slices.Clone(Categories), otherCategory)

// EventCategory is the category retention counts an event with
// eventCategory c in.
func EventCategory(c string) string {
	if c == "" {
		return "Management"
	}
	return c
}

// Retention is a set of retention rules at one instant: it says which
// events have expired. Build it with NewRetention; it is read-only and safe
// for concurrent use.
type Retention struct {
	now   int64
	rules *cairnv1.RetentionRules
	// cutoffs[account][category] is the first eventTime kept, for the
	// policies of each account; the "" account holds the default's, and the
	// "" category a policy for every category.
	cutoffs map[string]map[string]int64
	held    map[string]bool
}

// NewRetention returns the retention of rules (nil: no policies or holds)
// at now (unix nanoseconds).
func NewRetention(rules *cairnv1.RetentionRules, now int64) *Retention {
	if rules == nil {
		rules = &cairnv1.RetentionRules{}
	}
	r := &Retention{now: now, rules: rules, cutoffs: map[string]map[string]int64{}, held: map[string]bool{}}
	for _, p := range rules.Policies {
		m := r.cutoffs[p.Account]
		if m == nil {
			m = map[string]int64{}
			r.cutoffs[p.Account] = m
		}
		m[p.Category] = cutoffOf(now, p.Days)
	}
	for _, h := range rules.Holds {
		r.held[h.Account] = true
	}
	return r
}

// cutoffOf is the first eventTime kept by a window of days ending at now.
func cutoffOf(now int64, days uint32) int64 {
	d := int64(days) * nanosPerDay
	if now < math.MinInt64+d {
		return math.MinInt64
	}
	return now - d
}

// Now is the instant the retention was built for.
func (r *Retention) Now() int64 { return r.now }

// Held reports whether account is on legal hold.
func (r *Retention) Held(account string) bool { return r.held[account] }

// Cutoff returns the first eventTime that an event of account in category
// (its eventCategory; "" counts as Management) keeps: an event with an
// earlier eventTime has expired. It is math.MinInt64 for an account on hold.
func (r *Retention) Cutoff(account, category string) int64 {
	if r.held[account] {
		return math.MinInt64
	}
	category = EventCategory(category)
	if m := r.cutoffs[account]; m != nil {
		if c, ok := m[category]; ok {
			return c
		}
		if c, ok := m[""]; ok {
			return c
		}
	}
	if m := r.cutoffs[""]; m != nil {
		if c, ok := m[category]; ok {
			return c
		}
		if c, ok := m[""]; ok {
			return c
		}
	}
	return cutoffOf(r.now, DefaultRetentionDays)
}

// Expired reports whether an event of account and category with eventTime t
// has expired.
func (r *Retention) Expired(account, category string, t int64) bool {
	return t < r.Cutoff(account, category)
}

// Effective returns the policy that applies to the events of account in
// category, or nil when none does and DefaultRetentionDays applies.
func (r *Retention) Effective(account, category string) *cairnv1.RetentionPolicy {
	category = EventCategory(category)
	for _, scope := range [...][2]string{{account, category}, {account, ""}, {"", category}, {"", ""}} {
		for _, p := range r.rules.Policies {
			if p.Account == scope[0] && p.Category == scope[1] {
				return p
			}
		}
	}
	return nil
}

// bounds returns the lowest and highest cutoff of account's events over
// every category: events before lo have expired whatever their category,
// events from hi on are kept whatever their category.
func (r *Retention) bounds(account string) (lo, hi int64) {
	lo, hi = math.MaxInt64, math.MinInt64
	for _, c := range cutoffCategories {
		cut := r.Cutoff(account, c)
		lo, hi = min(lo, cut), max(hi, cut)
	}
	return lo, hi
}

// Shortens reports whether after, taken at the same instant as r, expires
// an event that r keeps: whether moving from r to after can delete anything.
// Only the accounts the rules of either name can differ from the others, so
// checking those, one account named by neither, and every category is
// enough.
func (r *Retention) Shortens(after *Retention) bool {
	accounts := map[string]bool{unnamedAccount: true}
	for _, x := range [...]*Retention{r, after} {
		for a := range x.cutoffs {
			accounts[a] = true
		}
		for a := range x.held {
			accounts[a] = true
		}
	}
	for a := range accounts {
		for _, c := range cutoffCategories {
			if after.Cutoff(a, c) > r.Cutoff(a, c) {
				return true
			}
		}
	}
	return false
}

// ExpiredBy counts, per account, the stored events that after expires and
// before keeps: what changing the rules from before to after would delete.
func (db *DB) ExpiredBy(before, after *Retention) (map[string]uint64, error) {
	counts := map[string]uint64{}
	_, err := db.ScanFields(ScanQuery{Retention: before}, func(f *Fields, _ func() ([]byte, error)) (bool, error) {
		if after.Expired(string(f.Account), string(f.Category), f.EventTime) {
			counts[string(f.Account)]++
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot count expiring events: %w", err)
	}
	return counts, nil
}
