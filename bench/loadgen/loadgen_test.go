package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tidwall/redcon"
)

func TestAppendKey(t *testing.T) {
	for _, i := range []int{0, 7, 1234, 99999, 999999999999} {
		if got, want := string(appendKey(nil, i)), fmt.Sprintf("key:%012d", i); got != want {
			t.Errorf("appendKey(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500}, {0.99, 990}, {0.999, 999}, {1, 1000}, {0.0001, 1}}
	for _, tt := range tests {
		if got := percentile(s, tt.q); got != tt.want {
			t.Errorf("percentile(1…1000, %v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil, 0.5) = %v, want 0", got)
	}
}

// TestReadReply reads the same replies whole and one byte at a time.
func TestReadReply(t *testing.T) {
	const stream = "+OK\r\n$3\r\nabc\r\n$-1\r\n_\r\n:12\r\n$0\r\n\r\n-ERR no\r\n"
	want := []struct {
		null bool
		err  string
	}{{false, ""}, {false, ""}, {true, ""}, {true, ""}, {false, ""}, {false, ""}, {false, `server replied "ERR no"`}}
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", strings.NewReader(stream)},
		{"bytewise", iotest.OneByteReader(strings.NewReader(stream))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{r: bufio.NewReaderSize(tc.r, 16)}
			for i, w := range want {
				null, err := c.readReply()
				var got string
				if err != nil {
					got = err.Error()
				}
				if null != w.null || got != w.err {
					t.Errorf("reply %d: readReply() = %v, %q, want %v, %q", i, null, got, w.null, w.err)
				}
			}
			if _, err := c.readReply(); !errors.Is(err, io.EOF) {
				t.Errorf("readReply() at the end = %v, want EOF", err)
			}
		})
	}
}

// TestRelay sends through a relay to an upper-casing echo server: the
// replies come back in order, and a client's close reaches the server.
func TestRelay(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	closed := make(chan struct{})
	go func() {
		c, err := up.Accept()
		if err != nil {
			return
		}
		defer close(closed)
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // the relay passed the client's close on
			}
			io.WriteString(c, strings.ToUpper(line))
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serveRelay(ln, up.Addr().String()) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, s := range []string{"get a\n", "get b\n"} {
		io.WriteString(c, s)
		got, err := r.ReadString('\n')
		if want := strings.ToUpper(s); got != want || err != nil {
			t.Errorf("through the relay %q = %q, %v, want %q", s, got, err, want)
		}
	}
	c.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Error("the client's close did not reach the server")
	}
	ln.Close()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		t.Errorf("serveRelay after its listener closed = %v, want net.ErrClosed", err)
	}
}

// TestMapServer sends each command to the bare map server and reads its
// whole reply back.
func TestMapServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := redcon.NewServer("", newMapStore().serve, nil, nil)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-served
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	tests := []struct {
		cmd  string
		want string
	}{
		{"PING", "+PONG\r\n"},
		{"GET a", "$-1\r\n"},
		{"SET a 1", "+OK\r\n"},
		{"SET b 22", "+OK\r\n"},
		{"GET a", "$1\r\n1\r\n"},
		{"MGET a x b", "*3\r\n$1\r\n1\r\n$-1\r\n$2\r\n22\r\n"},
		{"DBSIZE", ":2\r\n"},
		{"DEL a", ":1\r\n"},
		{"DEL a", ":0\r\n"},
		{"GET", "-ERR wrong number of arguments for 'get' command\r\n"},
		{"SET a", "-ERR wrong number of arguments for 'set' command\r\n"},
		{"MGET", "-ERR wrong number of arguments for 'mget' command\r\n"},
		{"CONFIG GET save", "*0\r\n"},
		{"NOPE", "-ERR unknown command 'NOPE'\r\n"},
	}
	for _, tt := range tests {
		if _, err := io.WriteString(c, tt.cmd+"\r\n"); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(tt.want))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != tt.want {
			t.Errorf("%s: reply %q, %v, want %q", tt.cmd, got, err, tt.want)
		}
	}
	if r.Buffered() != 0 {
		t.Errorf("%d bytes more than the replies", r.Buffered())
	}
}
