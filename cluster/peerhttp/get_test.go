package peerhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
)

func TestGetLoadsAtOwnerOnly(t *testing.T) {
	nodes := newCluster(t, clusterConfig{})
	a, c := nodes[0], nodes[2]
	key := keyOwnedBy(t, nodes, a, "key-")
	ctx := testContext(t)

	v, err := c.group.Get(ctx, key)
	if err != nil || v.String() != "v:"+key {
		t.Fatalf("Get(%q) at C = %q, %v; want %q", key, v, err, "v:"+key)
	}
	if got := a.origin.callsFor(key); got != 1 {
		t.Errorf("origin calls at owner = %d, want 1", got)
	}
	if got := c.origin.callsFor(key); got != 0 {
		t.Errorf("origin calls at C = %d, want 0", got)
	}
	if got := c.group.Stats.PeerLoads.Load(); got != 1 {
		t.Errorf("PeerLoads at C = %d, want 1", got)
	}
	if got := a.gets.Load(); got != 1 {
		t.Errorf("GETs at owner = %d, want 1", got)
	}
	// Seed data travels the same way.
	for key, want := range seed {
		if v, err := c.group.Get(ctx, key); err != nil || v.String() != want {
			t.Errorf("Get(%q) = %q, %v; want %q", key, v, err, want)
		}
	}
}

// TestConcurrentGetsLoadOnce sends 200 concurrent Gets of one cold key to
// all three nodes. The owner's origin blocks until every caller has started
// and both other nodes have a request in flight at the owner, so the loads
// overlap; the origin must still be called once.
func TestConcurrentGetsLoadOnce(t *testing.T) {
	transports(t, func(t *testing.T, streams bool) {
		const callers = 200
		var started sync.WaitGroup
		started.Add(callers)
		allStarted := make(chan struct{})
		go func() {
			started.Wait()
			close(allStarted)
		}()

		peersArrived := make(chan struct{})
		var arrivedOnce sync.Once
		var mu sync.Mutex // guards seen
		seen := make(map[string]bool)
		wrap := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[r.Header.Get("Rcache-Peer")] = true
				if len(seen) == 2 {
					arrivedOnce.Do(func() { close(peersArrived) })
				}
				mu.Unlock()
				h.ServeHTTP(w, r)
			})
		}
		gate := func(ctx context.Context, key string) error {
			for _, ch := range []chan struct{}{allStarted, peersArrived} {
				select {
				case <-ch:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		nodes := newCluster(t, clusterConfig{gate: gate, wrap: wrap, streams: streams})
		ctx := testContext(t)
		const key = "cold"

		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			n := nodes[i%len(nodes)]
			wg.Go(func() {
				started.Done()
				v, err := n.group.Get(ctx, key)
				if err == nil && v.String() != "v:"+key {
					err = fmt.Errorf("value %q", v)
				}
				errs[i] = err
			})
		}
		wg.Wait()

		for i, err := range errs {
			if err != nil {
				t.Errorf("Get(%q) #%d: %v", key, i, err)
			}
		}
		var total int64
		for _, n := range nodes {
			total += n.origin.total.Load()
		}
		if total != 1 {
			t.Errorf("origin calls across the cluster = %d, want 1", total)
		}
		owner := ownerOf(nodes, peerhttp.Config{}, key)
		if got := owner.origin.callsFor(key); got != 1 {
			t.Errorf("origin calls at owner = %d, want 1", got)
		}
		for _, n := range nodes {
			if n != owner && n.group.Stats.PeerLoads.Load() < 1 {
				t.Errorf("PeerLoads at %s = 0, want at least 1", n.url)
			}
		}
	})
}

func TestOwnerDownFallsBack(t *testing.T) {
	nodes := newCluster(t, clusterConfig{})
	a, c := nodes[0], nodes[2]
	key := keyOwnedBy(t, nodes, a, "key-")
	a.srv.Close()

	v, err := c.group.Get(testContext(t), key)
	if err != nil || v.String() != "v:"+key {
		t.Fatalf("Get(%q) with owner down = %q, %v; want %q", key, v, err, "v:"+key)
	}
	if got := c.group.Stats.PeerErrors.Load(); got != 1 {
		t.Errorf("PeerErrors = %d, want 1", got)
	}
	if got := c.origin.callsFor(key); got != 1 {
		t.Errorf("origin calls at C = %d, want 1", got)
	}
}

// TestKeysRoundTrip sends keys made of every awkward byte through the
// owner, ServeMux included, asking at each node.
func TestKeysRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, streams bool) {
		nodes := newCluster(t, clusterConfig{streams: streams})
		ctx := testContext(t)
		keys := []string{
			"a/b", "/", "//", "/lead", "trail/", "a b", "  ", "日本語", "ünï/cødé",
			"%", "%2F", "%zz", "%%", "100%", ".", "..", "a/../b", "./x", "x/.",
			"?", "a?b=c", "#", "a#b", "&=+;,$:@!", "\x00", "\xff\xfe", "bin\x00\x01\x7f\x80",
			"\n\r\t", "\\", "<script>", strings.Repeat("long/", 400),
		}
		for _, key := range keys {
			owner := ownerOf(nodes, peerhttp.Config{}, key)
			for _, n := range nodes {
				v, err := n.group.Get(ctx, key)
				if err != nil || v.String() != "v:"+key {
					t.Errorf("Get(%q) at %s = %q, %v; want %q", key, n.url, v, err, "v:"+key)
				}
			}
			var total int64
			for _, n := range nodes {
				total += n.origin.callsFor(key)
			}
			if total != 1 || owner.origin.callsFor(key) != 1 {
				t.Errorf("key %q: origin calls %d across the cluster, %d at its owner; want 1 and 1",
					key, total, owner.origin.callsFor(key))
			}
		}
	})
}

func TestOwnerOutcomes(t *testing.T) {
	transports(t, func(t *testing.T, streams bool) {
		nodes := newCluster(t, clusterConfig{streams: streams})
		a, c := nodes[0], nodes[2]
		ctx := testContext(t)
		tests := []struct {
			name  string
			check func(error) bool
		}{
			{"missing:", func(err error) bool { return errors.Is(err, group.ErrNotFound) }},
			{"broken:", func(err error) bool { return errors.As(err, new(*group.OriginError)) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := keyOwnedBy(t, nodes, a, tt.name)
				_, err := c.group.Get(ctx, key)
				if !tt.check(err) {
					t.Errorf("Get(%q) at C: err = %v", key, err)
				}
				if got := c.origin.callsFor(key); got != 0 {
					t.Errorf("origin calls at C = %d, want 0", got)
				}
				if got := a.origin.callsFor(key); got != 1 {
					t.Errorf("origin calls at owner = %d, want 1", got)
				}
			})
		}
		if got := c.group.Stats.PeerErrors.Load(); got != 0 {
			t.Errorf("PeerErrors at C = %d, want 0", got)
		}
	})
}

// TestNoForwardingLoop gives two nodes rings that disagree: A's ring holds
// only B and B's only A, so each thinks the other owns every key. A Get at
// either is served by the other, which loads locally instead of sending
// the request back.
func TestNoForwardingLoop(t *testing.T) {
	nodes := newCluster(t, clusterConfig{nodes: 2})
	a, b := nodes[0], nodes[1]
	a.pool.Set(b.url)
	b.pool.Set(a.url)
	ctx := testContext(t)

	tests := []struct {
		name     string
		ask, srv *node
		key      string
	}{
		{"ask A", a, b, "k1"},
		{"ask B", b, a, "k2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.ask.group.Get(ctx, tt.key)
			if err != nil || v.String() != "v:"+tt.key {
				t.Fatalf("Get(%q) = %q, %v; want %q", tt.key, v, err, "v:"+tt.key)
			}
			if got := tt.srv.origin.callsFor(tt.key); got != 1 {
				t.Errorf("origin calls at the server = %d, want 1", got)
			}
			if got := tt.ask.origin.callsFor(tt.key); got != 0 {
				t.Errorf("origin calls at the asker = %d, want 0", got)
			}
		})
	}
	for _, n := range nodes {
		if got := n.group.Stats.PeerLoads.Load(); got != 1 {
			t.Errorf("PeerLoads at %s = %d, want 1 (it forwarded)", n.url, got)
		}
	}
}

// TestGetManyOneRoundTripPerOwner checks that GetMany sends each owner one
// batch and no single Gets.
func TestGetManyOneRoundTripPerOwner(t *testing.T) {
	nodes := newCluster(t, clusterConfig{})
	c := nodes[2]
	keys := make([]string, 30)
	perOwner := make(map[*node]int)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		perOwner[ownerOf(nodes, peerhttp.Config{}, keys[i])]++
	}

	res := c.group.GetMany(testContext(t), keys)
	for i, r := range res {
		if r.Err != nil || r.Value.String() != "v:"+keys[i] {
			t.Errorf("GetMany()[%d] (%q) = %q, %v; want %q", i, keys[i], r.Value, r.Err, "v:"+keys[i])
		}
	}
	for _, n := range nodes[:2] {
		want := int64(0)
		if perOwner[n] > 0 {
			want = 1
		}
		if got := n.batches.Load(); got != want {
			t.Errorf("batches at %s (owner of %d keys) = %d, want %d", n.url, perOwner[n], got, want)
		}
		if got := n.gets.Load(); got != 0 {
			t.Errorf("single GETs at %s = %d, want 0", n.url, got)
		}
		if got := n.origin.total.Load(); got != int64(perOwner[n]) {
			t.Errorf("origin calls at %s = %d, want %d", n.url, got, perOwner[n])
		}
	}
	if got := c.origin.total.Load(); got != int64(perOwner[c]) {
		t.Errorf("origin calls at C = %d, want %d", got, perOwner[c])
	}
}
