package query

import "errors"

// Errors of this package. Compile errors are *sql.Error values, which carry
// a line and column; the errors below are about execution.
var (
	// ErrLimit: a Partial or Merger would hold more groups, rows or distinct
	// values than Options allow.
	ErrLimit = errors.New("query result too large")

	// ErrCorrupt: Merge was given bytes that are not a partial result.
	ErrCorrupt = errors.New("corrupt partial result")

	// ErrPlanMismatch: Merge was given a partial result of another plan (other
	// query text, options or Now) or of another codec version.
	ErrPlanMismatch = errors.New("partial result is from another plan")

	// ErrEval: evaluating an expression failed at run time, e.g. division by
	// zero or a CAST of a value that does not convert.
	ErrEval = errors.New("cannot evaluate query")

	// ErrBadEvent: Add was given bytes that are not one JSON object.
	ErrBadEvent = errors.New("not a CloudTrail record")
)
