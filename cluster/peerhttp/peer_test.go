package peerhttp_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/cluster/ring"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// hijack answers with raw bytes and closes the connection.
func hijack(t *testing.T, w http.ResponseWriter, raw string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("Hijack: %v", err)
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString(raw)
	_ = buf.Flush()
}

// TestBadPeerAnswers puts a fake member that answers badly on a node's
// ring. Each answer must fail the peer request, so that the node loads the
// key from its own origin and counts a peer error. A peer that hangs fails
// after Config.Timeout.
func TestBadPeerAnswers(t *testing.T) {
	const maxBody = 1 << 10
	valid, err := proto.Marshal(&pb.GetResponse{Value: []byte("from fake")})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	tests := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
	}{
		{"half a body", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				hijack(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: "+
					strconv.Itoa(len(valid))+"\r\n\r\n"+string(valid[:len(valid)/2]))
			}
		}},
		{"cut chunked body", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				hijack(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n"+
					strconv.FormatInt(int64(len(valid)), 16)+"\r\n"+string(valid))
			}
		}},
		{"reset before answering", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { hijack(t, w, "") }
		}},
		{"garbage", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-protobuf")
				_, _ = w.Write([]byte("\xff\xff\xff\xff garbage"))
			}
		}},
		{"wrong content type", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write(valid)
			}
		}},
		{"server error", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }
		}},
		{"redirect", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			}
		}},
		{"too large", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-protobuf")
				_, _ = w.Write(bytes.Repeat([]byte{0}, maxBody+1))
			}
		}},
		{"hangs", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
		}},
		{"too large without length", func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-protobuf")
				for range 2 {
					_, _ = w.Write(bytes.Repeat([]byte{0}, maxBody/2+1))
					http.NewResponseController(w).Flush() // forces chunked encoding
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := httptest.NewServer(tt.handler(t))
			t.Cleanup(fake.Close)
			nodes := newCluster(t, clusterConfig{nodes: 1, pool: peerhttp.Config{MaxBodyBytes: maxBody, Timeout: 500 * time.Millisecond}})
			c := nodes[0]
			c.pool.Set(c.url, fake.URL)
			m := ring.New(0, nil)
			m.Add(c.url, fake.URL)
			key := ""
			for i := 0; key == ""; i++ {
				if k := "key-" + strconv.Itoa(i); m.Get(k) == fake.URL {
					key = k
				}
			}

			v, err := c.group.Get(testContext(t), key)
			if err != nil || v.String() != "v:"+key {
				t.Fatalf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
			}
			if got := c.group.Stats.PeerErrors.Load(); got != 1 {
				t.Errorf("PeerErrors = %d, want 1", got)
			}
			if got := c.origin.callsFor(key); got != 1 {
				t.Errorf("origin calls = %d, want 1", got)
			}
		})
	}
}
