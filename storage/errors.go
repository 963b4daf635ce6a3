package storage

import "errors"

// Errors returned by this package. Callers match them with errors.Is; every
// other error is an I/O or corruption error from Pebble, wrapped.
var (
	// ErrNotFound: no stored event has the requested key.
	ErrNotFound = errors.New("event not found")

	// ErrClosed: the DB was used after Close.
	ErrClosed = errors.New("storage closed")

	// ErrInvalidEvent: an event cannot be keyed (nil, empty account or eventID,
	// or a 0x00 byte in account, region or eventID). ApplyIngest writes nothing
	// when it returns it. The ingest path should call ValidateEvent and reject
	// such events before they are proposed to Raft.
	ErrInvalidEvent = errors.New("invalid event")

	// ErrStaleIndex: a Raft index at or below the applied index was applied
	// again. The FSM must skip entries with index <= AppliedIndex().
	ErrStaleIndex = errors.New("raft index already applied")
)
