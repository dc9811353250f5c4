package peerhttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// frame returns a request frame for the fuzz seeds.
func frame(op byte, id, ms uint32, m proto.Message) []byte {
	body, _ := proto.Marshal(m)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)+streamRequestHeader-4))
	b = append(b, op)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, ms)
	return append(b, body...)
}

// FuzzStreamFrames feeds arbitrary bytes to both ends of a stream: to the
// server as requests (serveFrames) and to a client as answers
// (clientStream.read). Neither may panic or hang, the server answers
// every well-formed request, and every request the client was waiting for
// gets an answer or the stream's error.
func FuzzStreamFrames(f *testing.F) {
	f.Add(frame(streamGet, 1, 1000, &pb.GetRequest{Group: "scores", Key: "Tom"}))
	f.Add(append(frame(streamGet, 1, 1000, &pb.GetRequest{Group: "scores", Key: "Tom"}),
		frame(streamGetMany, 2, 1000, &pb.GetManyRequest{Group: "scores", Keys: [][]byte{[]byte("a"), []byte("\xff")}})...))
	f.Add(frame(streamGet, 7, 0, &pb.GetRequest{Group: "nope", Key: "x"}))
	f.Add(frame(9, 7, 10, &pb.GetRequest{Group: "scores", Key: "x"}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 6, 0, 0, 0, 1, 0, 200})
	f.Add([]byte{0, 0, 0, 2})

	reg := group.NewRegistry()
	if _, err := reg.NewGroupWithConfig(group.Config{Name: "scores", HotProbability: -1,
		Getter: group.GetterFunc(func(_ context.Context, key string) ([]byte, error) { return []byte("v:" + key), nil })}); err != nil {
		f.Fatal(err)
	}
	p, err := New("http://127.0.0.1:1", Config{Registry: reg, MaxBodyBytes: 64 << 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(p.Close)

	f.Fuzz(func(t *testing.T, data []byte) {
		// The server: requests from data, answers drained.
		srv, cli := net.Pipe()
		drained := make(chan int)
		go func() {
			n, _ := io.Copy(io.Discard, cli)
			drained <- int(n)
		}()
		p.serveFrames(srv, bufio.NewReader(bytes.NewReader(data)), "fuzz")
		srv.Close()
		<-drained

		// The client: answers from data, for requests 0 to 3.
		s := &clientStream{conn: nopConn{bytes.NewReader(data)}, max: 64 << 10, pending: make(map[uint32]chan streamReply)}
		chans := make([]chan streamReply, 4)
		for id := range chans {
			chans[id] = make(chan streamReply, 1)
			s.pending[uint32(id)] = chans[id]
		}
		s.read()
		for id, ch := range chans {
			select {
			case r := <-ch:
				if r.err == nil && (r.status < 0 || r.status > 0xffff) {
					t.Errorf("request %d: status %d", id, r.status)
				}
			default:
				t.Errorf("request %d: no answer and no error after the stream ended", id)
			}
		}
	})
}

// nopConn is an io.ReadWriteCloser that reads from a reader and takes
// every write.
type nopConn struct{ io.Reader }

func (nopConn) Write(p []byte) (int, error) { return len(p), nil }
func (nopConn) Close() error                { return nil }
