package resp

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// TestKeepAlive checks the keepalive options of an accepted socket, as
// Redis's tcp-keepalive sets them.
func TestKeepAlive(t *testing.T) {
	tests := []struct {
		name                 string
		keepAlive            time.Duration
		on, idle, intvl, cnt int
	}{
		{"default", 0, 1, 300, 100, 3},
		{"120s", 120 * time.Second, 1, 120, 40, 3},
		{"off", -1, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRegistry(t)
			srv, err := New(Config{Registry: f.reg, Default: f.def, KeepAlive: tt.keepAlive})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			raw, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.wrapConn(raw).Close()
			rc, err := raw.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			opt := func(level, name int) int {
				var v int
				var gerr error
				rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, name) })
				if gerr != nil {
					t.Fatalf("getsockopt(%d, %d): %v", level, name, gerr)
				}
				return v
			}
			if got := opt(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); got != tt.on {
				t.Errorf("SO_KEEPALIVE = %d, want %d", got, tt.on)
			}
			if tt.on == 0 {
				return
			}
			for _, o := range []struct {
				name      string
				opt, want int
			}{
				{"TCP_KEEPIDLE", syscall.TCP_KEEPIDLE, tt.idle},
				{"TCP_KEEPINTVL", syscall.TCP_KEEPINTVL, tt.intvl},
				{"TCP_KEEPCNT", syscall.TCP_KEEPCNT, tt.cnt},
			} {
				if got := opt(syscall.IPPROTO_TCP, o.opt); got != o.want {
					t.Errorf("%s = %d, want %d", o.name, got, o.want)
				}
			}
		})
	}
}
