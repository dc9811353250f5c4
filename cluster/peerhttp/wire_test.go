package peerhttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// recorded is what a fake peer saw of one request.
type recorded struct {
	method, uri, peer, timeout, contentType string
	body                                    []byte
}

// newRecorder starts a fake peer that records each request and answers it
// with an empty protobuf message.
func newRecorder(t *testing.T) (*httptest.Server, func() recorded) {
	t.Helper()
	var mu sync.Mutex // guards last
	var last recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = recorded{r.Method, r.RequestURI, r.Header.Get(headerPeer), r.Header.Get(headerTimeout), r.Header.Get(headerContentType), body}
		mu.Unlock()
		w.Header().Set(headerContentType, contentType)
	}))
	t.Cleanup(srv.Close)
	return srv, func() recorded {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// TestWirePaths pins down the bytes the client puts on the wire.
func TestWirePaths(t *testing.T) {
	srv, last := newRecorder(t)
	const self = "http://127.0.0.1:1"
	p, err := New(self, Config{Timeout: 3 * time.Second, DisableStreams: true}) // the HTTP wire format
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	p.Set(self, srv.URL)
	c := p.state.Load().clients[srv.URL]
	ctx := context.Background()

	tests := []struct {
		name       string
		call       func() error
		wantMethod string
		wantURI    string
		wantBody   proto.Message // nil: no body
	}{
		{"get", func() error {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "scores", Key: "Tom"})
			return err
		}, "GET", "/_rcache/scores/Tom", nil},
		{"peek", func() error {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "scores", Key: "Tom", Peek: true})
			return err
		}, "GET", "/_rcache/scores/Tom?peek=1", nil},
		{"slash and percent", func() error {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "a/b", Key: "x/%2F y"})
			return err
		}, "GET", "/_rcache/a%2Fb/x%2F%252F%20y", nil},
		{"dots", func() error {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "scores", Key: ".."})
			return err
		}, "GET", "/_rcache/scores/%2E%2E", nil},
		{"query and fragment", func() error {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "scores", Key: "?a=b#c"})
			return err
		}, "GET", "/_rcache/scores/%3Fa=b%23c", nil},
		{"binary", func() error {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "scores", Key: "\x00\xff"})
			return err
		}, "GET", "/_rcache/scores/%00%FF", nil},
		{"write", func() error {
			_, err := c.Write(ctx, &pb.WriteRequest{Group: "scores", Key: "\xff", Op: pb.WriteRequest_OP_SET, Value: []byte("v"), TtlMs: 7})
			return err
		}, "POST", "/_rcache/scores/%FF", &pb.WriteRequest{Op: pb.WriteRequest_OP_SET, Value: []byte("v"), TtlMs: 7}},
		{"get many", func() error {
			_, err := c.GetMany(ctx, &pb.GetManyRequest{Group: "scores", Keys: nil, Peek: true})
			return err
		}, "POST", "/_rcache/scores", &pb.GetManyRequest{Peek: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := last()
			if got.method != tt.wantMethod || got.uri != tt.wantURI {
				t.Errorf("request = %s %s, want %s %s", got.method, got.uri, tt.wantMethod, tt.wantURI)
			}
			if got.peer != self {
				t.Errorf("%s = %q, want %q", headerPeer, got.peer, self)
			}
			if ms, err := strconv.Atoi(got.timeout); err != nil || ms < 1 || ms > 3000 {
				t.Errorf("%s = %q, want 1..3000", headerTimeout, got.timeout)
			}
			if tt.wantBody == nil {
				if len(got.body) != 0 || got.contentType != "" {
					t.Errorf("body = %q (%q), want none", got.body, got.contentType)
				}
				return
			}
			if got.contentType != contentType {
				t.Errorf("Content-Type = %q, want %q", got.contentType, contentType)
			}
			gotBody := tt.wantBody.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(got.body, gotBody); err != nil || !proto.Equal(gotBody, tt.wantBody) {
				t.Errorf("body = %v (%v), want %v", gotBody, err, tt.wantBody)
			}
		})
	}
}

// TestSetKeepsClients checks that a peer keeps its client across Set calls,
// so that group.GetMany, which batches keys by client, sees one per peer.
func TestSetKeepsClients(t *testing.T) {
	p, err := New("http://a:1", Config{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	p.Set("http://a:1", "http://b:1", "http://c:1")
	before := p.state.Load().clients["http://b:1"]
	p.Set("http://a:1", "http://b:1/")
	if after := p.state.Load().clients["http://b:1"]; after != before {
		t.Errorf("client of http://b:1 changed across Set")
	}
}

// TestWriteCarriesEveryField checks that Write puts every field of its
// request but the group and key (which travel in the path) in the body: a
// condition or option left out would make the owner apply a write its
// sender would have refused (SET NX over an existing key, before this test).
// Every field is set, so a field added to WriteRequest is covered too.
func TestWriteCarriesEveryField(t *testing.T) {
	srv, last := newRecorder(t)
	p, err := New("http://127.0.0.1:1", Config{DisableStreams: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Set("http://127.0.0.1:1", srv.URL)
	c := p.state.Load().clients[srv.URL]

	in := &pb.WriteRequest{}
	m := in.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch fd.Kind() {
		case protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(string(fd.Name())))
		case protoreflect.BytesKind:
			m.Set(fd, protoreflect.ValueOfBytes([]byte(fd.Name())))
		case protoreflect.BoolKind:
			m.Set(fd, protoreflect.ValueOfBool(true))
		case protoreflect.Int64Kind:
			m.Set(fd, protoreflect.ValueOfInt64(int64(i+1)))
		case protoreflect.EnumKind:
			vals := fd.Enum().Values()
			m.Set(fd, protoreflect.ValueOfEnum(vals.Get(vals.Len()-1).Number()))
		default:
			t.Fatalf("field %s is of kind %v: teach this test to set it", fd.Name(), fd.Kind())
		}
	}
	if _, err := c.Write(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got := &pb.WriteRequest{}
	if err := proto.Unmarshal(last().body, got); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(in).(*pb.WriteRequest)
	want.Group, want.Key = "", ""
	if !proto.Equal(got, want) {
		t.Errorf("body = %v, want every field but group and key: %v", got, want)
	}
}
