package peerhttp

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"
)

// TestStreamWriteHonoursContext checks that a request whose write blocks,
// because the member stopped reading, ends with its context, and so do the
// requests queued behind it: the stream breaks, and they go over HTTP.
// (Found by review: the write used to block until the member read again.)
func TestStreamWriteHonoursContext(t *testing.T) {
	for _, tt := range []struct {
		name string
		conn func(t *testing.T) net.Conn // to a member that never reads
		body int
	}{
		{"pipe", func(t *testing.T) net.Conn {
			c1, c2 := net.Pipe()
			t.Cleanup(func() { c2.Close() })
			return c1
		}, 16},
		{"tcp", func(t *testing.T) net.Conn {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					accepted <- c
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { (<-accepted).Close() })
			return c
		}, 32 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := tt.conn(t)
			s := &clientStream{conn: conn, max: 1 << 20, bw: bufio.NewWriterSize(conn, 16<<10), pending: map[uint32]chan streamReply{}}
			done := make(chan streamReply, 2)
			for range 2 {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
					defer cancel()
					r := s.roundTrip(ctx, streamGetMany, 100, make([]byte, tt.body), time.Now())
					done <- r
				}()
			}
			for range 2 {
				select {
				case r := <-done:
					if r.err == nil {
						t.Errorf("roundTrip to a member that never reads succeeded")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("roundTrip still blocked 5 s after its 100 ms deadline")
				}
			}
			if s.usable(time.Now()) {
				t.Errorf("the stream is still usable after a write that timed out")
			}
		})
	}
}
