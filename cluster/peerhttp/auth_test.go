package peerhttp_test

import (
	"bytes"
	"cmp"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

const testSecret = "s3cret-Token_42"

// newSecretHandler returns a Pool with no peers and Config.Secret set to
// testSecret that serves group "scores" from a counting origin.
func newSecretHandler(tb testing.TB) (*peerhttp.Pool, *group.Group, *origin) {
	tb.Helper()
	o := &origin{}
	reg := group.NewRegistry()
	g, err := reg.NewGroupWithConfig(group.Config{Name: "scores", CacheBytes: 1 << 20, Getter: o, HotProbability: -1})
	if err != nil {
		tb.Fatalf("NewGroupWithConfig: %v", err)
	}
	p, err := peerhttp.New("http://127.0.0.1:1", peerhttp.Config{Registry: reg, Secret: testSecret})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(p.Close)
	return p, g, o
}

// serveAuth sends method target with body to p, with an Authorization
// header of auth unless auth is empty.
func serveAuth(p http.Handler, method, target, auth string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	return rec
}

func TestAuthStatus(t *testing.T) {
	getMany := marshal(t, &pb.GetManyRequest{Keys: [][]byte{[]byte("Tom"), []byte("Sam")}})
	tests := []struct {
		name   string
		auth   string
		method string
		target string
		body   []byte
		want   int
	}{
		{name: "no header", auth: "", want: 401},
		{name: "wrong scheme", auth: "Basic " + testSecret, want: 401},
		{name: "scheme only", auth: "Bearer", want: 401},
		{name: "token only", auth: testSecret, want: 401},
		{name: "wrong secret", auth: "Bearer " + strings.Repeat("x", len(testSecret)), want: 401},
		{name: "shorter secret", auth: "Bearer " + testSecret[:len(testSecret)-1], want: 401},
		{name: "longer secret", auth: "Bearer " + testSecret + "x", want: 401},
		{name: "two spaces", auth: "Bearer  " + testSecret, want: 401},
		{name: "wrong secret batch", auth: "Bearer nope", method: "POST", target: "/_rcache/scores", body: getMany, want: 401},
		{name: "wrong secret unknown group", auth: "Bearer nope", target: "/_rcache/nope/Tom", want: 401},
		{name: "wrong secret outside base", auth: "Bearer nope", target: "/elsewhere", want: 401},
		{name: "right secret", auth: "Bearer " + testSecret, want: 200},
		{name: "right secret lowercase scheme", auth: "bearer " + testSecret, want: 200},
		{name: "right secret batch", auth: "Bearer " + testSecret, method: "POST", target: "/_rcache/scores", body: getMany, want: 200},
		{name: "right secret unknown group", auth: "Bearer " + testSecret, target: "/_rcache/nope/Tom", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, _, o := newSecretHandler(t)
			method, target := cmp.Or(tt.method, "GET"), cmp.Or(tt.target, "/_rcache/scores/Tom")
			rec := serveAuth(p, method, target, tt.auth, tt.body)
			if rec.Code != tt.want {
				t.Errorf("%s %s with Authorization %q = %d %q, want %d", method, target, tt.auth, rec.Code, rec.Body, tt.want)
			}
			wantChallenge, wantCalls := "", int64(1)
			if tt.want != 200 {
				wantCalls = 0
			}
			if tt.want == 401 {
				wantChallenge = "Bearer"
			}
			if tt.body != nil && tt.want == 200 {
				wantCalls = 2
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
			if got := o.total.Load(); got != wantCalls {
				t.Errorf("origin calls = %d, want %d", got, wantCalls)
			}
			if tt.want == 401 && strings.Contains(rec.Body.String(), testSecret) {
				t.Errorf("401 body %q contains the secret", rec.Body)
			}
		})
	}
}

// TestAuthWrite checks that writes without the right secret change
// nothing: the cached value stays, and the origin is not asked again.
func TestAuthWrite(t *testing.T) {
	p, g, o := newSecretHandler(t)
	ctx := testContext(t)
	if rec := serveAuth(p, "GET", "/_rcache/scores/Tom", "Bearer "+testSecret, nil); rec.Code != 200 {
		t.Fatalf("GET with secret = %d %q, want 200", rec.Code, rec.Body)
	}
	writes := []struct {
		name string
		in   *pb.WriteRequest
	}{
		{"set", &pb.WriteRequest{Op: pb.WriteRequest_OP_SET, Value: []byte("999")}},
		{"incr", &pb.WriteRequest{Op: pb.WriteRequest_OP_INCR, Delta: 1}},
		{"drop", &pb.WriteRequest{Op: pb.WriteRequest_OP_DROP}},
		{"flush", &pb.WriteRequest{Op: pb.WriteRequest_OP_FLUSH}},
	}
	for _, w := range writes {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + testSecret + "!"} {
			rec := serveAuth(p, "POST", "/_rcache/scores/Tom", auth, marshal(t, w.in))
			if rec.Code != 401 {
				t.Errorf("POST %s with Authorization %q = %d %q, want 401", w.name, auth, rec.Code, rec.Body)
			}
		}
	}
	if got := g.Stats.Writes.Load(); got != 0 {
		t.Errorf("Stats.Writes = %d, want 0", got)
	}
	if v, ok := g.Lookup("Tom"); !ok || v.String() != "630" {
		t.Errorf("Lookup(%q) = %q, %v; want %q, true", "Tom", v, ok, "630")
	}
	if v, err := g.Get(ctx, "Tom"); err != nil || v.String() != "630" {
		t.Errorf("Get(%q) = %q, %v; want %q", "Tom", v, err, "630")
	}
	if got := o.callsFor("Tom"); got != 1 {
		t.Errorf("origin calls for %q = %d, want 1", "Tom", got)
	}

	// The right secret does write.
	rec := serveAuth(p, "POST", "/_rcache/scores/Tom", "Bearer "+testSecret, marshal(t, writes[0].in))
	if rec.Code != 200 {
		t.Fatalf("POST set with secret = %d %q, want 200", rec.Code, rec.Body)
	}
	if v, err := g.Get(ctx, "Tom"); err != nil || v.String() != "999" {
		t.Errorf("Get(%q) after set = %q, %v; want %q", "Tom", v, err, "999")
	}
}

// TestAuthClusterSameSecret runs a cluster whose nodes share a secret:
// they serve one another, and every request carries the secret.
func TestAuthClusterSameSecret(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{} // Authorization header -> requests
	record := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.Header.Get("Authorization")]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
	nodes := newCluster(t, clusterConfig{pool: peerhttp.Config{Secret: testSecret}, wrap: record})
	ctx := testContext(t)
	owner := nodes[0]
	asker := nodes[1]
	key := keyOwnedBy(t, nodes, owner, "k")

	if v, err := asker.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
		t.Errorf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
	}
	batch := []string{keyOwnedBy(t, nodes, owner, "a"), keyOwnedBy(t, nodes, owner, "b")}
	for i, r := range asker.group.GetMany(ctx, batch) {
		if r.Err != nil || r.Value.String() != "v:"+batch[i] {
			t.Errorf("GetMany: [%d] = %q, %v; want %q", i, r.Value, r.Err, "v:"+batch[i])
		}
	}
	if err := asker.group.Set(ctx, key, []byte("new"), 0); err != nil {
		t.Errorf("Set(%q): %v", key, err)
	}
	if v, err := owner.group.Get(ctx, key); err != nil || v.String() != "new" {
		t.Errorf("Get(%q) at owner = %q, %v; want %q", key, v, err, "new")
	}

	if got := asker.group.Stats.PeerErrors.Load(); got != 0 {
		t.Errorf("PeerErrors = %d, want 0", got)
	}
	if got := asker.origin.total.Load(); got != 0 {
		t.Errorf("origin calls at asker = %d, want 0", got)
	}
	if owner.gets.Load() == 0 || owner.batches.Load() == 0 || owner.writes.Load() == 0 {
		t.Errorf("owner served %d gets, %d batches, %d writes; want at least one of each",
			owner.gets.Load(), owner.batches.Load(), owner.writes.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	for auth, n := range seen {
		if auth != "Bearer "+testSecret {
			t.Errorf("%d requests with Authorization %q, want %q", n, auth, "Bearer "+testSecret)
		}
	}
}

// TestAuthClusterWrongSecret runs a cluster in which one node has another
// secret: its requests fail in transport, and it loads locally instead.
func TestAuthClusterWrongSecret(t *testing.T) {
	nodes := newCluster(t, clusterConfig{secrets: []string{"other", testSecret, testSecret}})
	ctx := testContext(t)
	odd, owner := nodes[0], nodes[1]
	key := keyOwnedBy(t, nodes, owner, "k")

	if v, err := odd.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
		t.Errorf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
	}
	if got := odd.group.Stats.PeerErrors.Load(); got != 1 {
		t.Errorf("PeerErrors = %d, want 1", got)
	}
	if got := odd.origin.callsFor(key); got != 1 {
		t.Errorf("origin calls at asker = %d, want 1", got)
	}
	if got := owner.gets.Load(); got != 1 {
		t.Errorf("requests at owner = %d, want 1", got)
	}
	if got := owner.origin.total.Load(); got != 0 {
		t.Errorf("origin calls at owner = %d, want 0", got)
	}
	if got := owner.group.Stats.ServerRequests.Load(); got != 0 {
		t.Errorf("ServerRequests at owner = %d, want 0", got)
	}

	// A write from the odd node does not reach the owner's cache.
	if v, err := owner.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
		t.Fatalf("Get(%q) at owner = %q, %v", key, v, err)
	}
	if err := odd.group.Set(ctx, key, []byte("poison"), 0); err == nil {
		t.Errorf("Set(%q) at odd node succeeded, want an error", key)
	}
	if v, ok := owner.group.Lookup(key); !ok || v.String() != "v:"+key {
		t.Errorf("Lookup(%q) at owner = %q, %v; want %q, true", key, v, ok, "v:"+key)
	}

	// The two nodes that share the secret still serve each other.
	other := nodes[2]
	key2 := keyOwnedBy(t, nodes, owner, "m")
	if v, err := other.group.Get(ctx, key2); err != nil || v.String() != "v:"+key2 {
		t.Errorf("Get(%q) = %q, %v; want %q", key2, v, err, "v:"+key2)
	}
	if got := other.group.Stats.PeerErrors.Load(); got != 0 {
		t.Errorf("PeerErrors at same-secret node = %d, want 0", got)
	}
	if got := other.origin.total.Load(); got != 0 {
		t.Errorf("origin calls at same-secret node = %d, want 0", got)
	}
}

func TestConfigValidateSecret(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{"empty", "", false},
		{"token", "abc-DEF_123.~+/=", false},
		{"space", "xq zq", true},
		{"newline", "abc\n", true},
		{"non-ASCII", "sécret", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := peerhttp.Config{Secret: tt.secret}
			err := cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate() with Secret %q = %v, want error %v", tt.secret, err, tt.wantErr)
			}
			if err != nil && tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("Validate() error %q contains the secret", err)
			}
		})
	}
}
