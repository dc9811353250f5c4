package resp

import (
	"net"
	"slices"
	"testing"
	"time"
)

// writesConn is a net.Conn that records the size of each Write and the
// write deadlines set.
type writesConn struct {
	net.Conn
	writes    []int
	deadlines int
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return len(p), nil
}

func (c *writesConn) SetWriteDeadline(time.Time) error {
	c.deadlines++
	return nil
}

// TestSocketWriteChunks checks how a reply buffer goes to the socket: in
// one write when it is what a connection flushes in a pipeline (flushBytes
// and the reply that crossed it), in chunks of writeChunkBytes, each under
// a deadline of its own, when it is larger.
func TestSocketWriteChunks(t *testing.T) {
	const getReply = 4096 + 8 // "$4096\r\n" + value + "\r\n"
	tests := []struct {
		name string
		n    int
		want []int
	}{
		{"one reply", 100, []int{100}},
		{"16 GETs of 4 KiB", 16 * getReply, []int{16 * getReply}},
		{"flushBytes and a 64 KiB reply", flushBytes + 64<<10, []int{flushBytes + 64<<10}},
		{"a 300 KiB reply", 300 << 10, []int{writeChunkBytes, writeChunkBytes, 300<<10 - 2*writeChunkBytes}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &writesConn{}
			s := &socketConn{Conn: c, raw: c, write: time.Second, handshook: true}
			if n, err := s.Write(make([]byte, tt.n)); n != tt.n || err != nil {
				t.Fatalf("Write(%d bytes) = %d, %v", tt.n, n, err)
			}
			if !slices.Equal(c.writes, tt.want) || c.deadlines != len(tt.want) {
				t.Errorf("writes %v under %d deadlines, want %v under %d", c.writes, c.deadlines, tt.want, len(tt.want))
			}
		})
	}
}
