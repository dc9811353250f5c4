package resp

import (
	"bufio"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// waitConns waits until srv counts want open connections. The server sees
// a client's close on the connection's own goroutine, some time after the
// client closed, so this polls, for at most 10 seconds.
func waitConns(t *testing.T, srv *Server, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.h.connected.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("open connections = %d after 10s, want %d", srv.h.connected.Load(), want)
		}
		runtime.Gosched()
	}
}

// ping sends PING on c and checks the reply.
func ping(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatalf("write PING: %v", err)
	}
	if got := readN(t, r, 7); got != "+PONG\r\n" {
		t.Errorf("PING = %q, want %q", got, "+PONG\r\n")
	}
}

func TestMaxClients(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxClients = 2 })
	c1, r1 := dial(t, f.addr)
	c2, r2 := dial(t, f.addr)
	ping(t, c1, r1)
	ping(t, c2, r2) // both are registered: the server has read from them

	// The third client sends nothing: bytes the server never reads would
	// turn its close into a reset, which may discard the reply.
	_, r3 := dial(t, f.addr)
	if got := readN(t, r3, len(errMaxClients)); got != errMaxClients {
		t.Errorf("third connection got %q, want %q", got, errMaxClients)
	}
	expectEOF(t, r3)
	ping(t, c1, r1) // the clients already connected are unaffected
	ping(t, c2, r2)
	if got := f.srv.h.rejectedMax.Load(); got != 1 {
		t.Errorf("rejected = %d, want 1", got)
	}

	c1.Close()
	waitConns(t, f.srv, 1)
	c4, r4 := dial(t, f.addr)
	ping(t, c4, r4)
	ping(t, c2, r2)
}

func TestProtectedMode(t *testing.T) {
	denied := "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."
	tests := []struct {
		name     string
		pass     string
		allow    bool
		loopback bool
		want     string // the reply to PING, or, if it starts with "-DENIED", the prefix of the line sent before the close
	}{
		{"remote without password is denied", "", false, false, denied},
		{"remote with password may connect", "secret", false, false, "-NOAUTH Authentication required.\r\n"},
		{"remote allowed without password", "", true, false, "+PONG\r\n"},
		{"loopback without password", "", false, true, "+PONG\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRegistry(t)
			srv, err := New(Config{Registry: f.reg, Default: f.def, RequirePass: tt.pass, AllowRemoteWithoutPassword: tt.allow})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			srv.isLoopback = func(net.Addr) bool { return tt.loopback }
			addr := serve(t, srv)
			c, r := dial(t, addr)
			if strings.HasPrefix(tt.want, "-DENIED") {
				// Send nothing: see TestMaxClients.
				line, err := r.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, tt.want) || line != errProtected {
					t.Errorf("first line = %q, %v; want %q…", line, err, tt.want)
				}
				expectEOF(t, r)
				if got := srv.h.rejectedProtected.Load(); got != 1 {
					t.Errorf("rejected = %d, want 1", got)
				}
				return
			}
			if _, err := c.Write([]byte("PING\r\n")); err != nil {
				t.Fatalf("write PING: %v", err)
			}
			if got, err := r.ReadString('\n'); got != tt.want {
				t.Errorf("PING = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want bool
	}{
		{"ipv4 loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, true},
		{"ipv4 loopback range", &net.TCPAddr{IP: net.IPv4(127, 1, 2, 3), Port: 1}, true},
		{"ipv6 loopback", &net.TCPAddr{IP: net.IPv6loopback, Port: 1}, true},
		{"ipv4-mapped loopback", &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 1}, true},
		{"private ipv4", &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 1}, false},
		{"public ipv6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, false},
		{"unix socket", &net.UnixAddr{Name: "/tmp/rcache.sock", Net: "unix"}, true},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := isLoopbackAddr(tt.addr); got != tt.want {
				t.Errorf("isLoopbackAddr(%v) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}
