package peerhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// streamed returns how many requests pool sent on streams.
func streamed(pool *peerhttp.Pool) int64 {
	var n int64
	for _, s := range pool.PeerStatus() {
		n += s.Streamed
	}
	return n
}

// waitStream sends Gets of req's key through peer until one goes on a
// stream: the first ones go over HTTP while the stream opens.
func waitStream(tb testing.TB, pool *peerhttp.Pool, peer group.PeerGetter, req *pb.GetRequest) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for before := streamed(pool); streamed(pool) == before; {
		if time.Now().After(deadline) {
			tb.Fatalf("no request went on a stream within 5s")
		}
		if _, err := peer.Get(context.Background(), req); err != nil {
			tb.Fatalf("Get: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStreamCarriesGets checks that once a node has streams, its Gets and
// GetManys go on them and none is an HTTP request.
func TestStreamCarriesGets(t *testing.T) {
	nodes := newCluster(t, clusterConfig{nodes: 2, streams: true})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	before := streamedTo(a.pool, b.url)
	httpBefore := b.gets.Load() + b.batches.Load()
	var keys []string
	for i := range 20 {
		keys = append(keys, keyOwnedBy(t, nodes, b, "s"+strconv.Itoa(i)+"-"))
	}
	for _, key := range keys[:10] {
		if v, err := a.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
			t.Errorf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
		}
	}
	for i, r := range a.group.GetMany(ctx, keys[10:]) {
		if r.Err != nil || r.Value.String() != "v:"+keys[10+i] {
			t.Errorf("GetMany %q = %q, %v", keys[10+i], r.Value, r.Err)
		}
	}
	if got := streamedTo(a.pool, b.url) - before; got != 11 {
		t.Errorf("requests on the stream = %d, want 11 (10 Gets, 1 GetMany)", got)
	}
	if got := b.gets.Load() + b.batches.Load() - httpBefore; got != 0 {
		t.Errorf("HTTP Gets and GetManys at the owner = %d, want 0", got)
	}
	if got := b.origin.total.Load(); got != 20 {
		t.Errorf("origin calls at the owner = %d, want 20", got)
	}
}

// TestStreamRefused checks that a member that does not upgrade (an older
// version, or a proxy in the way) is asked over HTTP, and asked to
// upgrade again only after a while.
func TestStreamRefused(t *testing.T) {
	var upgrades atomic.Int64
	refuse := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Upgrade") != "" {
				upgrades.Add(1)
				http.Error(w, "no upgrades here", http.StatusNotFound)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	nodes := newCluster(t, clusterConfig{nodes: 1, wrap: refuse})
	// The asker: a Pool of its own, with streams.
	reg := group.NewRegistry()
	p, err := peerhttp.New("http://127.0.0.1:1", peerhttp.Config{Registry: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	b := nodes[0]
	p.Set("http://127.0.0.1:1", b.url)
	pg := p.Peers()[0]
	ctx := testContext(t)
	for i := range 50 {
		key := "k" + strconv.Itoa(i)
		res, err := pg.Get(ctx, &pb.GetRequest{Group: "scores", Key: key})
		if err != nil || string(res.GetValue()) != "v:"+key {
			t.Fatalf("Get(%q) = %q, %v", key, res.GetValue(), err)
		}
		time.Sleep(time.Millisecond)
	}
	if got := upgrades.Load(); got != 1 {
		t.Errorf("upgrade requests = %d, want 1 (refused: not asked again for a minute)", got)
	}
	if got := streamedTo(p, b.url); got != 0 {
		t.Errorf("requests on a stream = %d, want 0", got)
	}
}

// TestStreamBreaksMidRequest closes the owner's streams while a Get waits on
// one: the Get goes again over HTTP and gets the value, with one origin
// call, and the asker sees no error.
func TestStreamBreaksMidRequest(t *testing.T) {
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	gate := func(ctx context.Context, key string) error {
		if !strings.HasPrefix(key, "slow") {
			return nil
		}
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	nodes := newCluster(t, clusterConfig{nodes: 2, gate: gate, streams: true})
	a, b := nodes[0], nodes[1]
	key := keyOwnedBy(t, nodes, b, "slow")
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() {
		v, err := a.group.Get(ctx, key)
		if err == nil && v.String() != "v:"+key {
			err = fmt.Errorf("value %q", v)
		}
		done <- err
	}()
	<-entered // the Get is at the owner's origin, on the stream
	httpBefore := b.gets.Load()
	b.pool.Close() // closes the owner's streams; its HTTP handler still serves
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if got := b.gets.Load() - httpBefore; got != 1 {
		t.Errorf("HTTP Gets at the owner after the stream broke = %d, want 1", got)
	}
	if got := a.group.Stats.PeerErrors.Load(); got != 0 {
		t.Errorf("PeerErrors at the asker = %d, want 0", got)
	}
	if got := a.origin.callsFor(key); got != 0 {
		t.Errorf("origin calls at the asker = %d, want 0", got)
	}
}

// TestStreamUpgradeNeedsSecret checks that an upgrade without the secret
// is refused like any request, before the connection is taken over.
func TestStreamUpgradeNeedsSecret(t *testing.T) {
	p, _, _ := newSecretHandler(t)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"no secret", "", http.StatusUnauthorized},
		{"wrong secret", "Bearer nope", http.StatusUnauthorized},
		{"right secret", "Bearer " + testSecret, http.StatusSwitchingProtocols},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+peerhttp.DefaultBasePath, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "rcache-peer/1")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

// TestStreamOversizedRequestGoesOverHTTP checks that a request over the
// body limit is not put on the stream, where the member would close the
// stream under every request on it, but sent over HTTP, where it alone is
// refused; the stream keeps serving.
func TestStreamOversizedRequestGoesOverHTTP(t *testing.T) {
	nodes := newCluster(t, clusterConfig{nodes: 2, streams: true, pool: peerhttp.Config{MaxBodyBytes: 1 << 10}})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	pg, ok := a.pool.PickPeer(keyOwnedBy(t, nodes, b, "big"))
	if !ok {
		t.Fatal("no peer for a key b owns")
	}
	var keys [][]byte
	for i := range 200 {
		keys = append(keys, []byte("a-rather-long-key-"+strconv.Itoa(i)))
	}
	before, batches := streamedTo(a.pool, b.url), b.batches.Load()
	if _, err := pg.GetMany(ctx, &pb.GetManyRequest{Group: "scores", Keys: keys}); err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("GetMany over the limit: err = %v, want a 413", err)
	}
	if got := b.batches.Load() - batches; got != 1 {
		t.Errorf("HTTP GetManys at the owner = %d, want 1", got)
	}
	key := keyOwnedBy(t, nodes, b, "small")
	if v, err := a.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
		t.Errorf("Get(%q) after it = %q, %v", key, v, err)
	}
	if got := streamedTo(a.pool, b.url) - before; got != 1 {
		t.Errorf("requests on the stream = %d, want 1 (the Get after the refused GetMany)", got)
	}
}
