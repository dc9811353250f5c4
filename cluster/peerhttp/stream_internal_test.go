package peerhttp

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// TestStreamWriteHonoursContext checks that a request whose write blocks,
// because the member stopped reading, ends by its deadline, and so do the
// requests queued behind it: the end of the writing caller's context breaks
// the stream (the peer timeout, a minute here, would too), and they go over
// HTTP. (Found by review, twice: the write used to block until the member
// read again, and then, with gathered writes, for up to the peer timeout.)
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
			s := newClientStream(conn, 1<<20, time.Minute) // only the callers' contexts can end the write
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

// recConn is a net.Conn that records its writes; it has no reading half
// (serveFrames reads from its own bufio.Reader).
type recConn struct {
	net.Conn // nil: the methods serveFrames does not call

	mu     sync.Mutex // guards writes
	writes [][]byte
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}
func (c *recConn) Close() error                     { return nil }
func (c *recConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recConn) SetDeadline(time.Time) error      { return nil }

// newFramesPool returns a Pool serving the group "scores", whose Getter
// answers "v:"+key.
func newFramesPool(t *testing.T) (*group.Group, *Pool) {
	t.Helper()
	reg := group.NewRegistry()
	g, err := reg.NewGroupWithConfig(group.Config{Name: "scores", HotProbability: -1,
		Getter: group.GetterFunc(func(_ context.Context, key string) ([]byte, error) { return []byte("v:" + key), nil })})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New("http://127.0.0.1:1", Config{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return g, p
}

// serveFramesUntil has p serve the frames in, which arrive in one piece,
// and keeps the stream open until n writes were made (or 5 s passed): its
// end would cancel the misses still loading. It returns the connection.
func serveFramesUntil(p *Pool, in []byte, n int) *recConn {
	conn := &recConn{}
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(in)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			conn.mu.Lock()
			done := len(conn.writes) >= n
			conn.mu.Unlock()
			if done {
				break
			}
		}
		pw.Close()
	}()
	p.serveFrames(conn, bufio.NewReader(pr), "test")
	return conn
}

// TestServeFramesAnswersTogether checks that frames that arrive together
// and are answered from memory are answered in one write, and that a miss
// still gets its answer (from its own goroutine) after them.
func TestServeFramesAnswersTogether(t *testing.T) {
	g, p := newFramesPool(t)
	var in []byte
	for id, key := range []string{"a", "b", "c", "d", "e"} {
		if _, err := g.Get(context.Background(), key); err != nil { // cached now
			t.Fatal(err)
		}
		in = append(in, frame(streamGet, uint32(id), 1000, &pb.GetRequest{Group: "scores", Key: key})...)
	}
	in = append(in, frame(streamGet, 5, 1000, &pb.GetRequest{Group: "scores", Key: "miss"})...)

	conn := serveFramesUntil(p, in, 2)
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if len(conn.writes) != 2 {
		t.Fatalf("%d writes for 5 cached frames and a miss that came together, want 2", len(conn.writes))
	}
	for i, want := range [][]uint32{{0, 1, 2, 3, 4}, {5}} {
		var ids []uint32
		for b := conn.writes[i]; len(b) >= streamAnswerHeader; {
			n := binary.BigEndian.Uint32(b)
			ids = append(ids, binary.BigEndian.Uint32(b[4:]))
			if status := binary.BigEndian.Uint16(b[8:]); status != 200 {
				t.Errorf("write %d: answer %d has status %d", i, ids[len(ids)-1], status)
			}
			b = b[4+n:]
		}
		if !slices.Equal(ids, want) {
			t.Errorf("write %d answers ids %v, want %v", i, ids, want)
		}
	}
}

// TestStreamMissCountsOneLookup checks that a miss served on a stream
// looks the key up as often as ServeGet does (once before its load, once
// inside it), not once more for having been tried on the stream's reader
// first: main_gets counts what clients asked.
func TestStreamMissCountsOneLookup(t *testing.T) {
	g, p := newFramesPool(t)
	gets := func() int64 { return g.CacheStats(group.MainCache).Gets }

	before := gets()
	if res := g.ServeGet(context.Background(), &pb.GetRequest{Key: "y"}); string(res.GetValue()) != "v:y" {
		t.Fatalf("ServeGet(y) = %v", res)
	}
	want := gets() - before

	before = gets()
	serveFramesUntil(p, frame(streamGet, 1, 1000, &pb.GetRequest{Group: "scores", Key: "x"}), 1)
	if got := gets() - before; got != want {
		t.Errorf("a streamed miss counted %d main-cache gets, ServeGet's %d", got, want)
	}
	if v, err := g.Get(context.Background(), "x"); err != nil || v.String() != "v:x" {
		t.Errorf("after the streamed miss, Get(x) = %q, %v; want it loaded", v, err)
	}
}

// TestStreamBatchMissCountsOneLookup is TestStreamMissCountsOneLookup for a
// batch with a hit and a miss: the batch's goroutine loads the miss, and
// looks up neither key again.
func TestStreamBatchMissCountsOneLookup(t *testing.T) {
	g, p := newFramesPool(t)
	gets := func() int64 { return g.CacheStats(group.MainCache).Gets }
	for _, key := range []string{"hit1", "hit2"} {
		if _, err := g.Get(context.Background(), key); err != nil { // cached now
			t.Fatal(err)
		}
	}

	before := gets()
	res := g.ServeGetMany(context.Background(), &pb.GetManyRequest{Keys: [][]byte{[]byte("hit1"), []byte("y")}})
	if r := res.GetResults(); len(r) != 2 || string(r[0].GetValue()) != "v:hit1" || string(r[1].GetValue()) != "v:y" {
		t.Fatalf("ServeGetMany(hit1, y) = %v", res)
	}
	want := gets() - before

	before = gets()
	conn := serveFramesUntil(p, frame(streamGetMany, 1, 1000, &pb.GetManyRequest{Group: "scores", Keys: [][]byte{[]byte("hit2"), []byte("x")}}), 1)
	if got := gets() - before; got != want {
		t.Errorf("a streamed batch with a miss counted %d main-cache gets, ServeGetMany's %d", got, want)
	}
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if len(conn.writes) != 1 || len(conn.writes[0]) < streamAnswerHeader {
		t.Fatalf("writes %q, want one answer", conn.writes)
	}
	var out pb.GetManyResponse
	if err := proto.Unmarshal(conn.writes[0][streamAnswerHeader:], &out); err != nil {
		t.Fatal(err)
	}
	if r := out.GetResults(); len(r) != 2 || string(r[0].GetValue()) != "v:hit2" || string(r[1].GetValue()) != "v:x" {
		t.Errorf("streamed GetMany(hit2, x) answered %v, want v:hit2 and v:x", &out)
	}
}
