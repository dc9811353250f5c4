package peerhttp_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/internal/testpki"
	"github.com/rcache/rcache/pb"
)

// startTLSNode starts a node behind NewServer with ServeTLS, as cmd/rcache
// does, requiring client certificates signed by ca, and returns its base
// URL and group. The server stops when the test ends.
func startTLSNode(t *testing.T, ca *testpki.CA, clientTLS *tls.Config) (string, *peerhttp.Pool, *group.Group, *origin) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	self := "https://" + ln.Addr().String()
	reg := group.NewRegistry()
	o := &origin{}
	g, err := reg.NewGroupWithConfig(group.Config{Name: "scores", Getter: o, HotProbability: -1})
	if err != nil {
		t.Fatalf("NewGroupWithConfig: %v", err)
	}
	pool, err := peerhttp.New(self, peerhttp.Config{Registry: reg, TLS: clientTLS, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(pool.Close)
	g.RegisterPeers(pool)
	srv := peerhttp.NewServer(pool, &tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t)},
		ClientCAs:    ca.Pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})
	srv.ErrorLog = discardLog() // handshake failures are expected
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS = %v, want ErrServerClosed", err)
		}
	})
	return self, pool, g, o
}

// TestTLS runs two nodes over mutual TLS, then checks that a node that
// does not trust the owner's CA, or has no client certificate the owner
// trusts, fails the peer request as a transport error and loads the key
// from its own origin.
func TestTLS(t *testing.T) {
	ca, other := testpki.NewCA(t, "cluster CA"), testpki.NewCA(t, "other CA")
	good := &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.Issue(t)}}
	ownerURL, ownerPool, _, ownerOrigin := startTLSNode(t, ca, good)

	tests := []struct {
		name      string
		tls       *tls.Config
		wantOwner bool // the owner served the key
	}{
		{"mutual TLS", good, true},
		{"wrong CA", &tls.Config{RootCAs: other.Pool, Certificates: []tls.Certificate{ca.Issue(t)}}, false},
		{"client certificate from another CA", &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{other.Issue(t)}}, false},
		{"no client certificate", &tls.Config{RootCAs: ca.Pool}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			askerURL, askerPool, asker, askerOrigin := startTLSNode(t, ca, tt.tls)
			askerPool.Set(askerURL, ownerURL)
			ownerPool.Set(askerURL, ownerURL)
			key := ""
			for j := 0; key == ""; j++ {
				k := "tls-" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
				if _, ok := askerPool.PickPeer(k); ok {
					key = k
				}
			}
			v, err := asker.Get(testContext(t), key)
			if err != nil || v.String() != "v:"+key {
				t.Fatalf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
			}
			if got := ownerOrigin.callsFor(key) == 1; got != tt.wantOwner {
				t.Errorf("owner loaded %q: %v, want %v", key, got, tt.wantOwner)
			}
			if got := askerOrigin.callsFor(key) == 1; got == tt.wantOwner {
				t.Errorf("asker loaded %q: %v, want %v", key, got, !tt.wantOwner)
			}
			if tt.wantOwner {
				// The stream opens over the same mutual TLS (HTTP/1.1
				// upgrade: the Pool's transport for it has no HTTP/2).
				peer, _ := askerPool.PickPeer(key)
				waitStream(t, askerPool, peer, &pb.GetRequest{Group: "scores", Key: key})
				if got := ownerOrigin.callsFor(key); got != 1 {
					t.Errorf("owner origin calls for %q after streamed Gets = %d, want 1", key, got)
				}
			}
			if !tt.wantOwner {
				peer, _ := askerPool.PickPeer(key)
				_, err := peer.Get(testContext(t), &pb.GetRequest{Group: "scores", Key: key})
				if err == nil {
					t.Errorf("peer Get(%q) = nil error, want a TLS failure", key)
				}
			}
		})
	}
}

func TestTLSWithTransport(t *testing.T) {
	_, err := peerhttp.New("http://127.0.0.1:1", peerhttp.Config{TLS: &tls.Config{}, Transport: http.DefaultTransport})
	if err == nil {
		t.Errorf("New with TLS and Transport = nil error, want one")
	}
}
