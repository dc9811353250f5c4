package resp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/tidwall/redcon"
)

func TestErrorReply(t *testing.T) {
	timeout := replyError("ERR timeout: no reply within 1s")
	expired, cancel := context.WithDeadlineCause(context.Background(), time.Unix(0, 0), timeout)
	defer cancel()
	parent, stop := context.WithCancelCause(context.Background())
	stop(errShutdown)
	stopped, cancel2 := context.WithTimeoutCause(parent, time.Hour, timeout)
	defer cancel2()
	live := context.Background()

	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want string // "" for a null
	}{
		{"not found", live, fmt.Errorf("group x: %w", group.ErrNotFound), ""},
		{"not found from a load", live, loadError{group.ErrNotFound}, ""},
		{"reply error", nil, errSyntax, "ERR syntax error"},
		{"not integer", live, group.ErrNotInteger, "ERR value is not an integer or out of range"},
		{"overflow", live, fmt.Errorf("w: %w", group.ErrOverflow), "ERR increment or decrement would overflow"},
		{"empty key", live, group.ErrEmptyKey, "ERR empty key"},
		{"command timeout as cause", expired, fmt.Errorf("group x: wait for %q: %w", "k", context.Cause(expired)), string(timeout)},
		{"command timeout as ctx error", expired, fmt.Errorf("peer: %w", context.DeadlineExceeded), string(timeout)},
		{"shutdown", stopped, fmt.Errorf("wait: %w", context.Canceled), string(errShutdown)},
		{"origin failure", live, loadError{errors.New("dial tcp 10.1.2.3:5432: connection refused")}, "ERR origin: load failed"},
		{"origin timeout", live, loadError{fmt.Errorf("load: %w", context.DeadlineExceeded)}, "ERR origin: timeout"},
		{"origin failure at a peer", live, &group.OriginError{Peer: "10.0.0.9:8080", Msg: "secret"}, "ERR origin: load failed"},
		{"unreachable owner", live, fmt.Errorf("group x: write %q at owner: %w", "k",
			&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), string(errUnavailable)},
		{"anything else", live, errors.New("10.0.0.9 said no"), string(errFailed)},
		{"flush incomplete", live, &flushError{failed: 2, total: 3, err: errors.Join(
			errors.New("group a: flush all: dial tcp 10.0.0.9:8080: connection refused"),
			errors.New("group b: flush all: dial tcp 10.0.0.9:8080: connection refused"))},
			"ERR flush incomplete: 2 of 3 groups were not flushed on every node (details in the server log)"},
		{"flush of one group incomplete", live, &flushError{group: "scores", failed: 1, total: 1,
			err: errors.New("group scores: flush all: 10.0.0.9:8080: EOF")},
			"ERR flush incomplete: group 'scores' was not flushed on every node (details in the server log)"},
		{"flush cut short by the command timeout", expired, &flushError{failed: 1, total: 1,
			err: fmt.Errorf("group a: flush all: %w", context.Cause(expired))},
			"ERR flush incomplete: 1 of 1 group was not flushed on every node (details in the server log)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, null := errorReply(tt.ctx, tt.err)
			if tt.want == "" {
				if !null {
					t.Errorf("errorReply(%v) = %q, want null", tt.err, line)
				}
				return
			}
			if null || line != tt.want {
				t.Errorf("errorReply(%v) = %q, %v; want %q", tt.err, line, null, tt.want)
			}
			if strings.Contains(line, "10.") {
				t.Errorf("errorReply(%v) = %q shows a host", tt.err, line)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no args", []string{"foo"}, "ERR unknown command 'foo', with args beginning with: "},
		{"args", []string{"Foo", "a", "b"}, "ERR unknown command 'Foo', with args beginning with: 'a' 'b' "},
		{"empty arg", []string{"foo", ""}, "ERR unknown command 'foo', with args beginning with: '' "},
		// 125 + 3 = 128 bytes echoed: nothing more.
		{"budget spent exactly", []string{"foo", x(125), "b"}, "ERR unknown command 'foo', with args beginning with: '" + x(125) + "' "},
		// 124 + 3 = 127: one more byte of the next argument.
		{"one byte left", []string{"foo", x(124), "bc"}, "ERR unknown command 'foo', with args beginning with: '" + x(124) + "' 'b' "},
		{"long name", []string{x(130)}, "ERR unknown command '" + x(128) + "', with args beginning with: "},
		{"nul ends an argument", []string{"f\x00oo", "a\x00b"}, "ERR unknown command 'f', with args beginning with: 'a' "},
		{"line breaks become spaces", []string{"a\r\n", "\n"}, "ERR unknown command 'a  ', with args beginning with: ' ' "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([][]byte, len(tt.args))
			for i, a := range tt.args {
				args[i] = []byte(a)
			}
			if got := unknownCommand(args); got != tt.want {
				t.Errorf("unknownCommand(%q) =\n %q, want\n %q", tt.args, got, tt.want)
			}
		})
	}
}

// runCommand runs one command through h for a fresh RESP2 client and
// returns the bytes it wrote.
func runCommand(h *handler, args ...string) string {
	var buf bytes.Buffer
	cl := h.newClient(nil, redcon.NewWriter(&buf))
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	h.exec(cl, b)
	cl.w.flush()
	return buf.String()
}

func TestCommandTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newRegistry(t)
		release := make(chan struct{})
		f.reg.NewGroup("slow", 0, group.GetterFunc(func(context.Context, string) ([]byte, error) {
			<-release
			return []byte("late"), nil
		}))
		cfg := Config{Registry: f.reg, Default: f.def, CommandTimeout: 50 * time.Millisecond}.withDefaults()
		h := newHandler(cfg, context.Background(), time.Now)

		start := time.Now()
		got := runCommand(h, "GET", "slow:k")
		if want := "-ERR timeout: no reply within 50ms\r\n"; got != want {
			t.Errorf("GET of a slow key = %q, want %q", got, want)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("GET gave up after %v, want 50ms", d)
		}
		// The load goes on without the command, and is shared by the next.
		close(release)
		synctest.Wait()
		if got, want := runCommand(h, "GET", "slow:k"), "$4\r\nlate\r\n"; got != want {
			t.Errorf("GET after the load = %q, want %q", got, want)
		}
	})
}

func TestOriginTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newRegistry(t)
		_, err := f.reg.NewGroupWithConfig(group.Config{
			Name:        "slow",
			LoadTimeout: 20 * time.Millisecond,
			Getter: group.GetterFunc(func(ctx context.Context, _ string) ([]byte, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}),
		})
		if err != nil {
			t.Fatal(err)
		}
		h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
		if got, want := runCommand(h, "GET", "slow:k"), "-ERR origin: timeout\r\n"; got != want {
			t.Errorf("GET of a key whose load times out = %q, want %q", got, want)
		}
		if got, want := runCommand(h, "MGET", "slow:k", "scores:Tom"), "*2\r\n$-1\r\n$3\r\n630\r\n"; got != want {
			t.Errorf("MGET with a key whose load times out = %q, want %q", got, want)
		}
	})
}
