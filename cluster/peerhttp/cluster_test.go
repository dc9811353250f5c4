package peerhttp_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/cluster/ring"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// seed is the origin's data; any other key is answered by origin.Get's
// rules.
var seed = map[string]string{"Tom": "630", "Jack": "589", "Sam": "567"}

// origin is a Getter that counts its calls per key. It answers the seed
// data, "missing:…" keys with ErrNotFound, "broken:…" keys with an error,
// "size:N" and "size:N#…" with N bytes, and any other key with "v:"+key.
type origin struct {
	// gate, if not nil, is called before each answer; an error fails it.
	gate func(ctx context.Context, key string) error

	calls sync.Map // key -> *atomic.Int64
	total atomic.Int64
}

func (o *origin) Get(ctx context.Context, key string) ([]byte, error) {
	n, _ := o.calls.LoadOrStore(key, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	o.total.Add(1)
	if o.gate != nil {
		if err := o.gate(ctx, key); err != nil {
			return nil, err
		}
	}
	return originValue(key)
}

// originValue is what every origin answers for key.
func originValue(key string) ([]byte, error) {
	if v, ok := seed[key]; ok {
		return []byte(v), nil
	}
	switch {
	case strings.HasPrefix(key, "missing:"):
		return nil, fmt.Errorf("no %q: %w", key, group.ErrNotFound)
	case strings.HasPrefix(key, "broken:"):
		return nil, errors.New("database on fire")
	case strings.HasPrefix(key, "size:"):
		size, _, _ := strings.Cut(strings.TrimPrefix(key, "size:"), "#")
		n, err := strconv.Atoi(size)
		if err != nil {
			return nil, err
		}
		return []byte(strings.Repeat("x", n)), nil
	}
	return []byte("v:" + key), nil
}

// callsFor returns how many times the origin was asked for key.
func (o *origin) callsFor(key string) int64 {
	if n, ok := o.calls.Load(key); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// node is one member of an in-process cluster.
type node struct {
	url    string
	srv    *httptest.Server
	pool   *peerhttp.Pool
	group  *group.Group
	origin *origin

	// Peer requests the node received, by kind.
	gets    atomic.Int64 // GET {base}{group}/{key}
	writes  atomic.Int64 // POST {base}{group}/{key}
	batches atomic.Int64 // POST {base}{group}
}

// clusterConfig describes an in-process cluster; the zero value is three
// nodes without hot copies.
type clusterConfig struct {
	nodes     int                                         // zero: 3
	hotCopies bool                                        // keep every peer answer as a hot copy
	gate      func(ctx context.Context, key string) error // origin.gate of every node
	wrap      func(h http.Handler) http.Handler           // wraps every node's handler
	pool      peerhttp.Config                             // Registry is set per node
	streams   bool                                        // let the Pools use streams (off: each request is one HTTP request the counters see)
	secrets   []string                                    // if not nil, node i's Config.Secret is secrets[i]
}

// newCluster starts cfg.nodes nodes, each with its own registry, group
// "scores", origin and server on 127.0.0.1:0, and gives every Pool the full
// membership. The servers and pools stop when the test ends.
func newCluster(tb testing.TB, cfg clusterConfig) []*node {
	tb.Helper()
	if cfg.nodes == 0 {
		cfg.nodes = 3
	}
	nodes := make([]*node, cfg.nodes)
	urls := make([]string, cfg.nodes)
	for i := range nodes {
		n := &node{origin: &origin{gate: cfg.gate}}
		gcfg := group.Config{
			Name:              "scores",
			CacheBytes:        64 << 20,
			Getter:            n.origin,
			HotProbability:    -1,
			InvalidateTimeout: 10 * time.Second,
		}
		if cfg.hotCopies {
			gcfg.HotProbability = 1
			gcfg.Rand = func() float64 { return 0 }
		}
		reg := group.NewRegistry()
		g, err := reg.NewGroupWithConfig(gcfg)
		if err != nil {
			tb.Fatalf("NewGroupWithConfig: %v", err)
		}
		n.group = g

		// An unstarted server already listens, so its URL is known
		// before the Pool is made.
		n.srv = httptest.NewUnstartedServer(nil)
		n.url = "http://" + n.srv.Listener.Addr().String()
		pcfg := cfg.pool
		pcfg.Registry = reg
		pcfg.DisableStreams = !cfg.streams
		if cfg.secrets != nil {
			pcfg.Secret = cfg.secrets[i]
		}
		if n.pool, err = peerhttp.New(n.url, pcfg); err != nil {
			tb.Fatalf("New(%q): %v", n.url, err)
		}
		tb.Cleanup(n.pool.Close)
		g.RegisterPeers(n.pool)

		// Mount the Pool as cmd/rcache would, on a ServeMux, which
		// cleans paths: keys like ".." must survive it.
		mux := http.NewServeMux()
		base := cmp.Or(pcfg.BasePath, peerhttp.DefaultBasePath)
		mux.Handle(base, n.count(n.pool, base))
		var h http.Handler = mux
		if cfg.wrap != nil {
			h = cfg.wrap(h)
		}
		n.srv.Config.Handler = h
		n.srv.Start()
		tb.Cleanup(n.srv.Close)
		nodes[i], urls[i] = n, n.url
	}
	for _, n := range nodes {
		n.pool.Set(urls...)
	}
	if cfg.streams {
		openStreams(tb, nodes, cfg.secrets)
	}
	return nodes
}

// openStreams has every node open its streams to the others that share its
// secret, with Gets that only peek (no origin is asked), so that a test's
// own requests go on streams.
func openStreams(tb testing.TB, nodes []*node, secrets []string) {
	tb.Helper()
	for i, a := range nodes {
		for j, b := range nodes {
			if i == j || (secrets != nil && secrets[i] != secrets[j]) {
				continue
			}
			// Peers is sorted by URL, as Members is, without self.
			var pg group.PeerGetter
			k := 0
			for _, u := range a.pool.Members() {
				if u == a.url {
					continue
				}
				if u == b.url {
					pg = a.pool.Peers()[k]
				}
				k++
			}
			deadline := time.Now().Add(5 * time.Second)
			for streamedTo(a.pool, b.url) == 0 {
				if time.Now().After(deadline) {
					tb.Fatalf("%s opened no stream to %s within 5s", a.url, b.url)
				}
				if _, err := pg.Get(context.Background(), &pb.GetRequest{Group: "scores", Key: "warm", Peek: true}); err != nil {
					tb.Fatalf("peek from %s at %s: %v", a.url, b.url, err)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// streamedTo returns how many of pool's requests to the member at url
// went on a stream.
func streamedTo(pool *peerhttp.Pool, url string) int64 {
	for _, s := range pool.PeerStatus() {
		if s.URL == url {
			return s.Streamed
		}
	}
	return 0
}

// transports runs test once over each transport between the nodes: one
// HTTP request per peer request, and streams.
func transports(t *testing.T, test func(t *testing.T, streams bool)) {
	for _, streams := range []bool{false, true} {
		name := "http"
		if streams {
			name = "stream"
		}
		t.Run(name, func(t *testing.T) { test(t, streams) })
	}
}

// count counts the requests that reach h by kind.
func (n *node) count(h http.Handler, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.EscapedPath(), base)
		switch {
		case r.Method == http.MethodGet:
			n.gets.Add(1)
		case strings.Contains(rest, "/"):
			n.writes.Add(1)
		default:
			n.batches.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// ownerOf returns the node that owns key, worked out on a ring of its own
// built as the Pools build theirs.
func ownerOf(nodes []*node, cfg peerhttp.Config, key string) *node {
	m := ring.New(cfg.Replicas, cfg.Hash)
	for _, n := range nodes {
		m.Add(n.url)
	}
	owner := m.Get(key)
	for _, n := range nodes {
		if n.url == owner {
			return n
		}
	}
	return nil
}

// keyOwnedBy returns the first of prefix0, prefix1, … that owner owns.
func keyOwnedBy(tb testing.TB, nodes []*node, owner *node, prefix string) string {
	tb.Helper()
	for i := range 10000 {
		key := prefix + strconv.Itoa(i)
		if ownerOf(nodes, peerhttp.Config{}, key) == owner {
			return key
		}
	}
	tb.Fatalf("no key with prefix %q owned by %s", prefix, owner.url)
	return ""
}

// testContext returns a context that ends when the test ends or after 20s,
// so that a deadlock fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
