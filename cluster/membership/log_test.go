package membership

import (
	"bytes"
	"log"
	"log/slog"
	"sync/atomic"
	"testing"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantLevel slog.Level
		wantMsg   string
	}{
		{"debug", "[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n", slog.LevelDebug, "Stream connection from=127.0.0.1:1"},
		{"info", "[INFO] memberlist: Marking node2 as failed\n", slog.LevelInfo, "Marking node2 as failed"},
		{"warn", "[WARN] memberlist: Was able to connect to node2 over TCP\n", slog.LevelWarn, "Was able to connect to node2 over TCP"},
		{"err", "[ERR] memberlist: Failed to send ping: write: refused\n", slog.LevelError, "Failed to send ping: write: refused"},
		{"err without prefix", "[ERR] Failed to shutdown transport: x", slog.LevelError, "Failed to shutdown transport: x"},
		{"error", "[ERROR] memberlist: boom", slog.LevelError, "boom"},
		{"no tag", "memberlist: something", slog.LevelInfo, "something"},
		{"unknown tag", "[NOTE] memberlist: x", slog.LevelInfo, "[NOTE] memberlist: x"},
		{"empty", "\n", slog.LevelInfo, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			level, msg := parseLogLine(tt.line)
			if level != tt.wantLevel || msg != tt.wantMsg {
				t.Errorf("parseLogLine(%q) = %v, %q, want %v, %q", tt.line, level, msg, tt.wantLevel, tt.wantMsg)
			}
		})
	}
}

// TestLogWriter checks the path memberlist's lines take: a *log.Logger
// writing to logWriter, which logs one slog record per line.
func TestLogWriter(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	var closing atomic.Bool
	l := log.New(logWriter{log: slog.New(h), closing: &closing}, "", 0)
	l.Printf("[WARN] memberlist: Refuting a suspect message (from: %s)", "node2")
	l.Printf("[ERR] memberlist: Failed to send UDP ping: write udp 127.0.0.1:1: use of closed network connection")
	closing.Store(true)
	l.Printf("[ERR] memberlist: Failed to send UDP ping: write udp 127.0.0.1:1: use of closed network connection")
	l.Printf("[ERR] memberlist: Failed to send gossip to 127.0.0.1:2: connection refused")
	want := "level=WARN msg=\"Refuting a suspect message (from: node2)\"\n" +
		"level=ERROR msg=\"Failed to send UDP ping: write udp 127.0.0.1:1: use of closed network connection\"\n" +
		"level=DEBUG msg=\"Failed to send UDP ping: write udp 127.0.0.1:1: use of closed network connection\"\n" +
		"level=ERROR msg=\"Failed to send gossip to 127.0.0.1:2: connection refused\"\n"
	if got := buf.String(); got != want {
		t.Errorf("logged %q, want %q", got, want)
	}
}
