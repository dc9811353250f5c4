package membership

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
)

// logWriter is the io.Writer under the *log.Logger given to memberlist. It
// turns each line, shaped "[LEVEL] memberlist: message", into one slog
// record at that level, so that the severity is not written into the
// message.
// Once closing is set (the node is leaving or shutting down), errors
// about the sockets memberlist has just closed are expected and logged at
// debug: a graceful leave should not log an ERROR.
type logWriter struct {
	log     *slog.Logger
	closing *atomic.Bool // nil: never closing
}

// Write logs p as one record and never fails.
func (w logWriter) Write(p []byte) (int, error) {
	level, msg := parseLogLine(string(p))
	if level > slog.LevelDebug && w.closing != nil && w.closing.Load() && strings.Contains(msg, net.ErrClosed.Error()) {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}

// tagLevel returns the slog level of one of memberlist's level tags.
func tagLevel(tag string) (slog.Level, bool) {
	switch tag {
	case "[TRACE]", "[DEBUG]":
		return slog.LevelDebug, true
	case "[INFO]":
		return slog.LevelInfo, true
	case "[WARN]":
		return slog.LevelWarn, true
	case "[ERR]", "[ERROR]":
		return slog.LevelError, true
	}
	return 0, false
}

// parseLogLine splits a memberlist log line into its level (info when it
// has no tag) and message, without the tag, the "memberlist: " prefix and
// the final newline.
func parseLogLine(line string) (slog.Level, string) {
	line = strings.TrimSpace(line)
	level := slog.LevelInfo
	if tag, rest, ok := strings.Cut(line, " "); ok {
		if l, known := tagLevel(tag); known {
			level, line = l, rest
		}
	}
	return level, strings.TrimPrefix(line, "memberlist: ")
}
