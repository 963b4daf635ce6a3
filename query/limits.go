package query

import "fmt"

// Default bounds on what one Partial or Merger holds (Options.MaxGroups and
// Options.MaxRows).
const (
	DefaultMaxGroups = 1_000_000
	DefaultMaxRows   = 1_000_000
)

// budget counts what a Partial or Merger holds against a limit.
type budget struct {
	used, max int
	what      string // "groups and distinct values", "rows"
	option    string // the Options field that raises it
}

// take adds n, or fails with ErrLimit once the total passes the limit.
func (b *budget) take(n int) error {
	b.used += n
	if b.used > b.max {
		return fmt.Errorf("%w: more than %d %s; narrow the query (WHERE, a shorter time range, fewer GROUP BY keys, LIMIT) or raise Options.%s",
			ErrLimit, b.max, b.what, b.option)
	}
	return nil
}

func newBudgets(o Options) (groups, rows budget) {
	return budget{max: o.MaxGroups, what: "groups and distinct values", option: "MaxGroups"},
		budget{max: o.MaxRows, what: "rows", option: "MaxRows"}
}
