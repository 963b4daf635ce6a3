package raftmux

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

func TestHCLoggerAdapter(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := NewHCLogger(base, "raft").Named("shard-3").With("peer", "n2")

	l.Info("installing snapshot", "size", hclog.Fmt("%d / %d", 5, 10))
	l.Debug("hidden")
	l.Trace("hidden")
	got := buf.String()
	for _, want := range []string{`msg="installing snapshot"`, "logger=raft.shard-3", "peer=n2", `size="5 / 10"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "hidden") {
		t.Errorf("debug/trace emitted at info level: %q", got)
	}
	if l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Errorf("levels: IsDebug %v IsInfo %v GetLevel %v", l.IsDebug(), l.IsInfo(), l.GetLevel())
	}

	buf.Reset()
	l.StandardLogger(nil).Print("from std log")
	if !strings.Contains(buf.String(), "from std log") {
		t.Errorf("standard logger wrote %q", buf.String())
	}

	buf.Reset()
	quiet := &hcLogger{base: base, name: "raft-net", demote: isShutdownNoise}
	quiet.Error("failed to decode incoming command", "error", raft.ErrTransportShutdown)
	if buf.Len() != 0 {
		t.Errorf("shutdown noise logged at info level: %q", buf.String())
	}
	quiet.Error("failed to decode incoming command", "error", "something real")
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("real error not logged: %q", buf.String())
	}
}
