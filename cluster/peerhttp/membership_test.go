package peerhttp_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/cluster/ring"
)

// TestSetDuringGets changes membership over and over while Gets run; run
// it with -race.
func TestSetDuringGets(t *testing.T) {
	nodes := newCluster(t, clusterConfig{})
	ctx := testContext(t)
	all := []string{nodes[0].url, nodes[1].url, nodes[2].url}
	memberships := [][]string{all, all[:2], all[1:], {all[0], all[2]}, all}

	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			for j := range 50 {
				n.pool.Set(memberships[(i+j)%len(memberships)]...)
				_ = n.pool.Members()
				_ = n.pool.Peers()
			}
			n.pool.Set(all...)
		})
	}
	for w := range 8 {
		wg.Go(func() {
			for j := range 50 {
				n := nodes[(w+j)%len(nodes)]
				key := "key-" + strconv.Itoa((w*50+j)%40)
				if v, err := n.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
					t.Errorf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
				}
			}
		})
	}
	wg.Wait()
}

func TestMembership(t *testing.T) {
	const self = "http://127.0.0.1:1"
	p, err := peerhttp.New(self+"/", peerhttp.Config{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	if p.Self() != self {
		t.Errorf("Self() = %q, want %q", p.Self(), self)
	}
	if got := p.Members(); len(got) != 1 || got[0] != self {
		t.Errorf("Members() before Set = %q, want [%s]", got, self)
	}
	if _, ok := p.PickPeer("Tom"); ok {
		t.Errorf("PickPeer before Set found a peer")
	}
	p.Set("http://c:1", self, "http://b:1/", "http://b:1")
	want := []string{"http://127.0.0.1:1", "http://b:1", "http://c:1"}
	if got := p.Members(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Members() = %q, want %q", got, want)
	}
	if got := len(p.Peers()); got != 2 {
		t.Errorf("len(Peers()) = %d, want 2", got)
	}
	m := ring.New(0, nil)
	m.Add(want...)
	for i := range 100 {
		key := "key-" + strconv.Itoa(i)
		if _, ok := p.PickPeer(key); ok != (m.Get(key) != self) {
			t.Errorf("PickPeer(%q) ok = %v, owner %s", key, ok, m.Get(key))
		}
	}
	p.Set(self)
	if _, ok := p.PickPeer("Tom"); ok || len(p.Peers()) != 0 {
		t.Errorf("after Set(self): PickPeer found a peer or Peers() = %d", len(p.Peers()))
	}
}

// TestBadPeerURL checks that a member whose URL cannot be used keeps its
// keys on the ring, and that they are loaded locally.
func TestBadPeerURL(t *testing.T) {
	nodes := newCluster(t, clusterConfig{nodes: 1})
	c := nodes[0]
	const bad = "ftp://nowhere"
	c.pool.Set(c.url, bad)
	m := ring.New(0, nil)
	m.Add(c.url, bad)
	key := ""
	for i := 0; key == ""; i++ {
		if k := "key-" + strconv.Itoa(i); m.Get(k) == bad {
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
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		self string
		cfg  peerhttp.Config
	}{
		{"self without scheme", "127.0.0.1:8001", peerhttp.Config{}},
		{"self not http", "ftp://h:1", peerhttp.Config{}},
		{"self with path", "http://h:1/x", peerhttp.Config{}},
		{"self with query", "http://h:1?x=1", peerhttp.Config{}},
		{"self empty", "", peerhttp.Config{}},
		{"base path relative", "http://h:1", peerhttp.Config{BasePath: "_rcache/"}},
		{"base path without final slash", "http://h:1", peerhttp.Config{BasePath: "/_rcache"}},
		{"base path needs escaping", "http://h:1", peerhttp.Config{BasePath: "/a b/"}},
		{"base path with dots", "http://h:1", peerhttp.Config{BasePath: "/a/../b/"}},
		{"base path with empty segment", "http://h:1", peerhttp.Config{BasePath: "/a//b/"}},
		{"negative replicas", "http://h:1", peerhttp.Config{Replicas: -1}},
		{"negative timeout", "http://h:1", peerhttp.Config{Timeout: -time.Second}},
		{"negative max body", "http://h:1", peerhttp.Config{MaxBodyBytes: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if p, err := peerhttp.New(tt.self, tt.cfg); err == nil {
				p.Close()
				t.Errorf("New(%q, %+v) succeeded, want an error", tt.self, tt.cfg)
			}
		})
	}
	for _, base := range []string{"/", "/_rcache/", "/a/b-c_d~e/"} {
		cfg := peerhttp.Config{BasePath: base}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate() with BasePath %q: %v", base, err)
		}
	}
}
