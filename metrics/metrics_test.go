package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeSources is a GroupSource, PeerSource and RESPSource returning fixed
// values, with numbers chosen so that every series has a distinct value.
type fakeSources struct{}

func (fakeSources) Groups() []GroupStats {
	return []GroupStats{{
		Name:           "users",
		Budget:         1 << 20,
		Gets:           100,
		Misses:         30,
		OriginLoads:    21,
		OriginNotFound: 4,
		OriginErrors:   2,
		PeerLoads:      8,
		PeerErrors:     1,
		StaleServes:    3,
		NegativeHits:   5,
		HandoffHits:    6,
		HandoffMisses:  7,
		Main:           CacheStats{Bytes: 4096, Items: 40, Lookups: 90, Hits: 60, Evictions: 11},
		Hot:            CacheStats{Bytes: 512, Items: 5, Lookups: 40, Hits: 10, Evictions: 2},
	}, {
		Name: "empty",
	}}
}

func (fakeSources) Peers() []PeerStats {
	return []PeerStats{
		{Peer: "http://10.0.0.1:8080", Breaker: BreakerClosed},
		{Peer: "http://10.0.0.2:8080", Breaker: BreakerOpen},
	}
}

func (fakeSources) RESPStats() RESPStats {
	return RESPStats{
		Connections:      3,
		TotalConnections: 17,
		Commands: []CommandStats{
			{Name: "get", Calls: 250, Failures: 2},
			{Name: "set", Calls: 12},
		},
	}
}

func newTestMetrics(t *testing.T) *Metrics {
	t.Helper()
	f := fakeSources{}
	m, err := New(Config{
		Groups:      f,
		Peers:       f,
		RESP:        f,
		LoadBuckets: []float64{0.01, 0.1},
		PeerBuckets: []float64{0.001, 0.01},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestGroupSeries(t *testing.T) {
	m := newTestMetrics(t)
	want := `
# HELP rcache_group_gets_total Get calls, including the keys of multi-key gets.
# TYPE rcache_group_gets_total counter
rcache_group_gets_total{group="empty"} 0
rcache_group_gets_total{group="users"} 100
# HELP rcache_group_hits_total Lookups in a cache (main or hot) that found a live value.
# TYPE rcache_group_hits_total counter
rcache_group_hits_total{cache="hot",group="empty"} 0
rcache_group_hits_total{cache="hot",group="users"} 10
rcache_group_hits_total{cache="main",group="empty"} 0
rcache_group_hits_total{cache="main",group="users"} 60
# HELP rcache_group_misses_total Gets not answered from either cache that waited on a load.
# TYPE rcache_group_misses_total counter
rcache_group_misses_total{group="empty"} 0
rcache_group_misses_total{group="users"} 30
# HELP rcache_group_budget_bytes The group's memory budget in bytes.
# TYPE rcache_group_budget_bytes gauge
rcache_group_budget_bytes{group="users"} 1.048576e+06
# HELP rcache_group_cache_bytes Bytes held by a cache (main or hot), keys plus values.
# TYPE rcache_group_cache_bytes gauge
rcache_group_cache_bytes{cache="hot",group="empty"} 0
rcache_group_cache_bytes{cache="hot",group="users"} 512
rcache_group_cache_bytes{cache="main",group="empty"} 0
rcache_group_cache_bytes{cache="main",group="users"} 4096
# HELP rcache_group_cache_items Entries held by a cache (main or hot).
# TYPE rcache_group_cache_items gauge
rcache_group_cache_items{cache="hot",group="empty"} 0
rcache_group_cache_items{cache="hot",group="users"} 5
rcache_group_cache_items{cache="main",group="empty"} 0
rcache_group_cache_items{cache="main",group="users"} 40
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want),
		"rcache_group_gets_total", "rcache_group_hits_total", "rcache_group_misses_total",
		"rcache_group_budget_bytes", "rcache_group_cache_bytes", "rcache_group_cache_items"); err != nil {
		t.Errorf("group series differ:\n%v", err)
	}
}

// TestScrape reads the handler's output as Prometheus would and checks one
// series of each kind, the runtime collectors included.
func TestScrape(t *testing.T) {
	m := newTestMetrics(t)
	m.ObserveLoad("users", 5*time.Millisecond, nil)
	m.ObserveLoad("users", 50*time.Millisecond, errors.New("origin down"))
	m.ObservePeer("http://10.0.0.1:8080", "get", 500*time.Microsecond, nil)
	m.ObservePeer("http://10.0.0.1:8080", "get", 5*time.Millisecond, errors.New("refused"))
	m.ObserveMembership(3)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, body %s", resp.StatusCode, body)
	}
	lines := make(map[string]bool)
	for l := range strings.Lines(string(body)) {
		lines[strings.TrimSuffix(l, "\n")] = true
	}
	for _, want := range []string{
		`rcache_group_origin_loads_total{group="users"} 21`,
		`rcache_group_origin_not_found_total{group="users"} 4`,
		`rcache_group_origin_errors_total{group="users"} 2`,
		`rcache_group_peer_loads_total{group="users"} 8`,
		`rcache_group_peer_errors_total{group="users"} 1`,
		`rcache_group_stale_serves_total{group="users"} 3`,
		`rcache_group_negative_hits_total{group="users"} 5`,
		`rcache_group_handoff_hits_total{group="users"} 6`,
		`rcache_group_handoff_misses_total{group="users"} 7`,
		`rcache_group_cache_lookups_total{cache="main",group="users"} 90`,
		`rcache_group_evictions_total{cache="main",group="users"} 11`,
		`rcache_group_evictions_total{cache="hot",group="users"} 2`,
		`rcache_group_load_duration_seconds_bucket{group="users",result="ok",le="0.01"} 1`,
		`rcache_group_load_duration_seconds_count{group="users",result="ok"} 1`,
		`rcache_group_load_duration_seconds_bucket{group="users",result="error",le="0.01"} 0`,
		`rcache_group_load_duration_seconds_bucket{group="users",result="error",le="0.1"} 1`,
		`rcache_peer_requests_total{op="get",peer="http://10.0.0.1:8080"} 2`,
		`rcache_peer_errors_total{op="get",peer="http://10.0.0.1:8080"} 1`,
		`rcache_peer_request_duration_seconds_bucket{op="get",peer="http://10.0.0.1:8080",le="0.001"} 1`,
		`rcache_peer_request_duration_seconds_count{op="get",peer="http://10.0.0.1:8080"} 2`,
		`rcache_peer_breaker_state{peer="http://10.0.0.1:8080"} 0`,
		`rcache_peer_breaker_state{peer="http://10.0.0.2:8080"} 2`,
		`rcache_ring_members 3`,
		`rcache_ring_membership_changes_total 1`,
		`rcache_resp_connections 3`,
		`rcache_resp_connections_total 17`,
		`rcache_resp_commands_total{cmd="get"} 250`,
		`rcache_resp_command_failures_total{cmd="get"} 2`,
		`rcache_resp_commands_total{cmd="set"} 12`,
		`rcache_resp_command_failures_total{cmd="set"} 0`,
		`# TYPE go_goroutines gauge`,
		`# TYPE process_cpu_seconds_total counter`,
	} {
		if !lines[want] {
			t.Errorf("scrape lacks line %s", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

// TestReadAtScrapeTime checks that counters kept elsewhere are read anew at
// each scrape, not copied once.
func TestReadAtScrapeTime(t *testing.T) {
	var mu sync.Mutex
	gets := int64(1)
	m, err := New(Config{Groups: GroupSourceFunc(func() []GroupStats {
		mu.Lock()
		defer mu.Unlock()
		return []GroupStats{{Name: "g", Gets: gets}}
	})})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, n := range []int64{1, 42} {
		mu.Lock()
		gets = n
		mu.Unlock()
		want := "# HELP rcache_group_gets_total Get calls, including the keys of multi-key gets.\n" +
			"# TYPE rcache_group_gets_total counter\n" +
			fmt.Sprintf("rcache_group_gets_total{group=\"g\"} %d\n", n)
		if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "rcache_group_gets_total"); err != nil {
			t.Errorf("gets = %d: %v", n, err)
		}
	}
}

// TestCollectorPedantic checks, with a registry that compares every
// collected metric with the descriptions, that statsCollector describes
// exactly what it collects.
func TestCollectorPedantic(t *testing.T) {
	f := fakeSources{}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(newStatsCollector(f, f, f)); err != nil {
		t.Fatalf("register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
	// 17 group families, the breaker, and 4 RESP families.
	if got, want := len(mfs), 22; got != want {
		t.Errorf("gathered %d families, want %d", got, want)
	}
}

func TestNilSources(t *testing.T) {
	m, err := New(Config{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n, err := testutil.GatherAndCount(m.Gatherer(), "rcache_group_gets_total", "rcache_peer_breaker_state", "rcache_resp_connections")
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if n != 0 {
		t.Errorf("series from nil sources = %d, want 0", n)
	}
}

func TestForgetPeer(t *testing.T) {
	m := newTestMetrics(t)
	m.ObservePeer("http://a", "get", time.Millisecond, nil)
	m.ObservePeer("http://a", "write", time.Millisecond, nil)
	m.ObservePeer("http://b", "get", time.Millisecond, nil)
	m.ForgetPeer("http://a")
	if n := testutil.CollectAndCount(m.peerReqs); n != 1 {
		t.Errorf("request series after ForgetPeer = %d, want 1", n)
	}
	if n := testutil.CollectAndCount(m.peerLatency); n != 1 {
		t.Errorf("latency series after ForgetPeer = %d, want 1", n)
	}
	m.ObservePeer("http://a", "get", time.Millisecond, nil)
	if got := testutil.ToFloat64(m.peerReqs.WithLabelValues("http://a", "get")); got != 1 {
		t.Errorf("requests of a returning peer = %v, want 1", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"zero", Config{}, false},
		{"increasing", Config{LoadBuckets: []float64{0.1, 1}, PeerBuckets: []float64{1}}, false},
		{"empty", Config{LoadBuckets: []float64{}}, true},
		{"equal", Config{PeerBuckets: []float64{0.1, 0.1}}, true},
		{"decreasing", Config{LoadBuckets: []float64{1, 0.1}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			if _, nerr := New(tc.cfg); (nerr != nil) != tc.wantErr {
				t.Errorf("New() = %v, want error %v", nerr, tc.wantErr)
			}
		})
	}
}

// TestObserveConcurrent has many goroutines observe the same and new label
// values at once; the counts must be exact.
func TestObserveConcurrent(t *testing.T) {
	m := newTestMetrics(t)
	const workers, each = 16, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			peer := []string{"http://a", "http://b"}[w%2]
			for i := range each {
				var err error
				if i%4 == 0 {
					err = errors.New("fail")
				}
				m.ObservePeer(peer, "get", time.Millisecond, err)
				// 62.5 ms is exact in binary, so the sums below are too.
				m.ObserveLoad("g", 62500*time.Microsecond, err)
			}
		})
	}
	wg.Wait()
	for _, peer := range []string{"http://a", "http://b"} {
		if got, want := testutil.ToFloat64(m.peerReqs.WithLabelValues(peer, "get")), float64(workers/2*each); got != want {
			t.Errorf("requests to %s = %v, want %v", peer, got, want)
		}
		if got, want := testutil.ToFloat64(m.peerErrs.WithLabelValues(peer, "get")), float64(workers/2*each/4); got != want {
			t.Errorf("errors from %s = %v, want %v", peer, got, want)
		}
	}
	want := `
# HELP rcache_group_load_duration_seconds Time taken by origin loads, by outcome (ok or error).
# TYPE rcache_group_load_duration_seconds histogram
rcache_group_load_duration_seconds_bucket{group="g",result="error",le="0.01"} 0
rcache_group_load_duration_seconds_bucket{group="g",result="error",le="0.1"} 800
rcache_group_load_duration_seconds_bucket{group="g",result="error",le="+Inf"} 800
rcache_group_load_duration_seconds_sum{group="g",result="error"} 50
rcache_group_load_duration_seconds_count{group="g",result="error"} 800
rcache_group_load_duration_seconds_bucket{group="g",result="ok",le="0.01"} 0
rcache_group_load_duration_seconds_bucket{group="g",result="ok",le="0.1"} 2400
rcache_group_load_duration_seconds_bucket{group="g",result="ok",le="+Inf"} 2400
rcache_group_load_duration_seconds_sum{group="g",result="ok"} 150
rcache_group_load_duration_seconds_count{group="g",result="ok"} 2400
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "rcache_group_load_duration_seconds"); err != nil {
		t.Errorf("load histogram differs:\n%v", err)
	}
}

// TestObserveNoAlloc checks that the hot path allocates nothing once a
// label value has been seen.
func TestObserveNoAlloc(t *testing.T) {
	m := newTestMetrics(t)
	fail := errors.New("fail")
	m.ObserveLoad("users", time.Millisecond, nil)
	m.ObserveLoad("users", time.Millisecond, fail)
	m.ObservePeer("http://a", "get", time.Millisecond, nil)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"ObserveLoad", func() { m.ObserveLoad("users", time.Millisecond, nil) }},
		{"ObserveLoad/error", func() { m.ObserveLoad("users", time.Millisecond, fail) }},
		{"ObservePeer", func() { m.ObservePeer("http://a", "get", time.Millisecond, nil) }},
		{"ObservePeer/error", func() { m.ObservePeer("http://a", "get", time.Millisecond, fail) }},
	} {
		if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", tc.name, n)
		}
	}
}

// benchmarkObserve runs observe serially and, as hot paths do, from
// GOMAXPROCS goroutines at once.
func benchmarkObserve(b *testing.B, observe func(*Metrics)) {
	m, err := New(Config{})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			observe(m)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				observe(m)
			}
		})
	})
}

func BenchmarkObserveLoad(b *testing.B) {
	benchmarkObserve(b, func(m *Metrics) { m.ObserveLoad("users", 3*time.Millisecond, nil) })
}

func BenchmarkObservePeer(b *testing.B) {
	benchmarkObserve(b, func(m *Metrics) { m.ObservePeer("http://10.0.0.1:8080", "get", 300*time.Microsecond, nil) })
}
