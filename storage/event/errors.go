package event

import (
	"errors"
	"fmt"
)

// Reasons Parse rejects a record. Parse always returns a *RejectError that
// wraps exactly one of them, so callers match with errors.Is and show
// RejectError.Reason (or Error()) to the user. A rejected record is invalid for
// good: sending it again cannot succeed.
var (
	// ErrTooLarge: the record is longer than MaxEventSize bytes.
	ErrTooLarge = errors.New("event too large")

	// ErrNotJSON: the record is not one valid JSON value, or is not valid UTF-8.
	ErrNotJSON = errors.New("not valid JSON")

	// ErrNotObject: the record is valid JSON but not an object (for example a
	// whole {"Records":[…]} log file is an object, but a bare array is not).
	ErrNotObject = errors.New("not a JSON object")

	// ErrMissingField: a required field (eventID, eventTime, eventName,
	// eventSource) is absent, null, empty, or not a string.
	ErrMissingField = errors.New("missing field")

	// ErrBadField: a field that the cluster keys or indexes on cannot be used:
	// it has the wrong type, contains a 0x00 byte (storage keys end strings with
	// 0x00), is longer than MaxKeyFieldLen, or appears twice in one object (two
	// JSON readers could then disagree about its value).
	ErrBadField = errors.New("unusable field")

	// ErrBadTime: eventTime is not an RFC 3339 / ISO-8601 UTC-convertible time
	// such as 2024-01-02T03:04:05Z, or lies outside the range an int64 of Unix
	// nanoseconds can hold (years 1678 to 2262).
	ErrBadTime = errors.New("bad eventTime")

	// ErrNoAccount: neither recipientAccountId nor userIdentity.accountId is a
	// non-empty string, so the event cannot be routed to an account.
	ErrNoAccount = errors.New("account not determinable")

	// ErrFuture: eventTime is more than MaxFutureSkew after the receiver's
	// clock. Either the sender's clock or the receiver's is wrong.
	ErrFuture = errors.New("eventTime in the future")
)

// RejectError is the error Parse returns for every record it rejects.
type RejectError struct {
	// Err is one of the sentinel errors above.
	Err error
	// Reason says precisely what is wrong, for a human: it becomes the reason
	// of a REJECTED EventResult. Values quoted from the record are truncated.
	Reason string
	// EventID is the record's eventID when it could be read, else "".
	EventID string
}

// Error returns the reason.
func (e *RejectError) Error() string { return e.Reason }

// Unwrap returns the sentinel, for errors.Is.
func (e *RejectError) Unwrap() error { return e.Err }

func reject(sentinel error, eventID []byte, format string, args ...any) *RejectError {
	return &RejectError{Err: sentinel, Reason: fmt.Sprintf(format, args...), EventID: string(eventID)}
}

// maxQuoted bounds how much of a value a reason quotes.
const maxQuoted = 64

// quote returns b as a Go-quoted string, cut to maxQuoted bytes with "…".
func quote(b []byte) string {
	if len(b) <= maxQuoted {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q…", b[:maxQuoted])
}
