package raftmux

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// levelTrace is slog's place for hclog's TRACE: below DEBUG.
const levelTrace = slog.LevelDebug - 4

// NewHCLogger adapts a slog.Logger to the hclog.Logger that hashicorp/raft
// wants (raft.Config.Logger, raft.NetworkTransportConfig.Logger), so raft's
// logs join the node's structured logs and obey its level. name is added as
// the "logger" attribute; Named appends ".sub". SetLevel is a no-op: the slog
// handler decides what is emitted.
func NewHCLogger(l *slog.Logger, name string) hclog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return &hcLogger{base: l, name: name}
}

type hcLogger struct {
	base    *slog.Logger // without implied args and name
	name    string
	implied []any
	// demote, if set, reports whether a message is expected noise to be
	// logged at DEBUG whatever its level.
	demote func(msg string, args []any) bool
}

var _ hclog.Logger = (*hcLogger)(nil)

func (h *hcLogger) logger() *slog.Logger {
	l := h.base
	if h.name != "" {
		l = l.With("logger", h.name)
	}
	if len(h.implied) > 0 {
		l = l.With(convertArgs(h.implied)...)
	}
	return l
}

func toSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// convertArgs turns hclog-only argument types into what slog prints well.
func convertArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case hclog.Format:
			if len(v) > 0 {
				if f, ok := v[0].(string); ok {
					out[i] = fmt.Sprintf(f, v[1:]...)
					continue
				}
			}
			out[i] = fmt.Sprint(v...)
		default:
			out[i] = a
		}
	}
	return out
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	if level > hclog.Debug && h.demote != nil && h.demote(msg, args) {
		level = hclog.Debug
	}
	sl := toSlogLevel(level)
	if !h.base.Enabled(context.Background(), sl) {
		return
	}
	h.logger().Log(context.Background(), sl, msg, convertArgs(args)...)
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) enabled(level hclog.Level) bool {
	return h.base.Enabled(context.Background(), toSlogLevel(level))
}

func (h *hcLogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return append([]any(nil), h.implied...) }

func (h *hcLogger) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any(nil), h.implied...), args...)
	return &c
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

func (h *hcLogger) SetLevel(hclog.Level) {}

func (h *hcLogger) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(lv) {
			return lv
		}
	}
	return hclog.Off
}

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	level := slog.LevelInfo
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = toSlogLevel(opts.ForceLevel)
	}
	return slog.NewLogLogger(h.logger().Handler(), level)
}

func (h *hcLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}
