package storage

import (
	"context"
	"fmt"
	"log/slog"
)

// pebbleLogger passes Pebble's log lines to slog. Pebble's Infof lines (WAL
// replay, compaction notices on open) are chatty, so they go to Debug.
type pebbleLogger struct {
	log *slog.Logger
}

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble on an invariant violation it cannot recover
// from (such as a corrupt MANIFEST): it logs and panics, as Pebble expects
// Fatalf not to return.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Log(context.Background(), slog.LevelError, msg, "fatal", true)
	panic("pebble: " + msg)
}
