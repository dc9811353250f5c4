// Package metrics exports rcache's counters to Prometheus, on a registry of
// its own, through one HTTP handler.
//
// Counters that rcache already keeps as atomics (a group's Stats, its
// caches, the RESP server's counts) are read at scrape time through the
// small Source interfaces of this package and exported as constant metrics,
// so nothing is counted twice. What nothing else measures, the latency of
// origin loads and of peer requests and the changes of membership, is fed
// in through the Observe methods, which do not allocate once a label value
// has been seen.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config describes what a Metrics reports. Every field is optional: a nil
// source reports none of its series.
type Config struct {
	// Groups lists the cache groups and their counters.
	Groups GroupSource
	// Peers lists the peers and their circuit breakers.
	Peers PeerSource
	// RESP reports the RESP server's connections and commands.
	RESP RESPSource

	// LoadBuckets are the upper bounds, in seconds, of the origin load
	// latency histogram; nil selects DefaultLoadBuckets.
	LoadBuckets []float64
	// PeerBuckets are the upper bounds, in seconds, of the peer request
	// latency histogram; nil selects DefaultPeerBuckets.
	PeerBuckets []float64

	// Logger receives the errors of scrapes; nil discards them.
	Logger *slog.Logger
}

// DefaultLoadBuckets returns the default bounds of the origin load latency
// histogram: 16 buckets doubling from 0.5 ms to about 16 s.
func DefaultLoadBuckets() []float64 { return prometheus.ExponentialBuckets(0.0005, 2, 16) }

// DefaultPeerBuckets returns the default bounds of the peer request latency
// histogram: 16 buckets doubling from 0.1 ms to about 3.3 s.
func DefaultPeerBuckets() []float64 { return prometheus.ExponentialBuckets(0.0001, 2, 16) }

// Validate reports whether the histogram bounds are usable: when set, they
// must be strictly increasing.
func (c Config) Validate() error {
	for _, b := range []struct {
		name   string
		bounds []float64
	}{{"LoadBuckets", c.LoadBuckets}, {"PeerBuckets", c.PeerBuckets}} {
		if b.bounds != nil && len(b.bounds) == 0 {
			return fmt.Errorf("metrics: %s is empty", b.name)
		}
		for i := 1; i < len(b.bounds); i++ {
			if !(b.bounds[i] > b.bounds[i-1]) {
				return fmt.Errorf("metrics: %s not strictly increasing at %v", b.name, b.bounds[i])
			}
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	// The histograms keep the bounds: clone them from the caller.
	c.LoadBuckets = slices.Clone(c.LoadBuckets)
	if c.LoadBuckets == nil {
		c.LoadBuckets = DefaultLoadBuckets()
	}
	c.PeerBuckets = slices.Clone(c.PeerBuckets)
	if c.PeerBuckets == nil {
		c.PeerBuckets = DefaultPeerBuckets()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Metrics holds rcache's Prometheus registry. It is safe for concurrent
// use; the Observe methods are meant for hot paths.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	loadLatency *prometheus.HistogramVec // group, result
	peerReqs    *prometheus.CounterVec   // peer, op
	peerErrs    *prometheus.CounterVec   // peer, op
	peerLatency *prometheus.HistogramVec // peer, op
	ringMembers prometheus.Gauge
	ringChanges prometheus.Counter

	// The Observe methods look up label-bound children here rather than
	// in the vectors, whose lookups hash the label values and allocate.
	mu    sync.RWMutex // guards loads and peers
	loads map[string]*loadObservers
	peers map[peerKey]*peerObservers
}

type loadObservers struct {
	ok, failed prometheus.Observer
}

type peerKey struct{ peer, op string }

type peerObservers struct {
	requests, errors prometheus.Counter
	latency          prometheus.Observer
}

// New returns a Metrics reporting what cfg names, plus the Go runtime and
// process collectors, on a registry of its own.
func New(cfg Config) (*Metrics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		loadLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rcache_group_load_duration_seconds",
			Help:    "Time taken by origin loads, by outcome (ok or error).",
			Buckets: cfg.LoadBuckets,
		}, []string{"group", "result"}),
		peerReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcache_peer_requests_total",
			Help: "Requests sent to a peer, by operation.",
		}, []string{"peer", "op"}),
		peerErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcache_peer_errors_total",
			Help: "Requests to a peer that failed, by operation.",
		}, []string{"peer", "op"}),
		peerLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rcache_peer_request_duration_seconds",
			Help:    "Time taken by requests to a peer, failed ones included, by operation.",
			Buckets: cfg.PeerBuckets,
		}, []string{"peer", "op"}),
		ringMembers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rcache_ring_members",
			Help: "Nodes on the hash ring, this one included.",
		}),
		ringChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rcache_ring_membership_changes_total",
			Help: "Changes of the ring's membership seen by this node.",
		}),
		loads: make(map[string]*loadObservers),
		peers: make(map[peerKey]*peerObservers),
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.loadLatency, m.peerReqs, m.peerErrs, m.peerLatency, m.ringMembers, m.ringChanges,
		newStatsCollector(cfg.Groups, cfg.Peers, cfg.RESP),
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register collector: %w", err)
		}
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrintln{cfg.Logger},
		ErrorHandling: promhttp.ContinueOnError,
	})
	return m, nil
}

// Handler returns the HTTP handler that serves the metrics in the
// Prometheus exposition formats; the caller mounts it (usually at
// /metrics).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Gatherer returns the registry behind Handler, for tests and for pushing
// the metrics elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveLoad records an origin load of group that took d; a non-nil err
// counts it under result="error". Whether "not found" is an error is the
// caller's choice: rcache passes nil for it, since the origin answered.
func (m *Metrics) ObserveLoad(group string, d time.Duration, err error) {
	m.mu.RLock()
	o := m.loads[group]
	m.mu.RUnlock()
	if o == nil {
		o = m.loadObserversSlow(group)
	}
	if err != nil {
		o.failed.Observe(d.Seconds())
		return
	}
	o.ok.Observe(d.Seconds())
}

func (m *Metrics) loadObserversSlow(group string) *loadObservers {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.loads[group]; o != nil {
		return o
	}
	o := &loadObservers{
		ok:     m.loadLatency.WithLabelValues(group, "ok"),
		failed: m.loadLatency.WithLabelValues(group, "error"),
	}
	m.loads[group] = o
	return o
}

// ObservePeer records a request of operation op (such as "get" or
// "write") to peer that took d; a non-nil err counts it as an error too.
// peer should be the peer's base URL, as in PeerStats.Peer.
func (m *Metrics) ObservePeer(peer, op string, d time.Duration, err error) {
	k := peerKey{peer, op}
	m.mu.RLock()
	o := m.peers[k]
	m.mu.RUnlock()
	if o == nil {
		o = m.peerObserversSlow(k)
	}
	o.requests.Inc()
	if err != nil {
		o.errors.Inc()
	}
	o.latency.Observe(d.Seconds())
}

func (m *Metrics) peerObserversSlow(k peerKey) *peerObservers {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.peers[k]; o != nil {
		return o
	}
	o := &peerObservers{
		requests: m.peerReqs.WithLabelValues(k.peer, k.op),
		errors:   m.peerErrs.WithLabelValues(k.peer, k.op),
		latency:  m.peerLatency.WithLabelValues(k.peer, k.op),
	}
	m.peers[k] = o
	return o
}

// ForgetPeer drops the series of a peer that left the cluster, so that
// they stop being reported. An ObservePeer for it that runs at the same
// time may be lost; a later one starts the series again from zero.
func (m *Metrics) ForgetPeer(peer string) {
	m.mu.Lock()
	for k := range m.peers {
		if k.peer == peer {
			delete(m.peers, k)
		}
	}
	m.mu.Unlock()
	l := prometheus.Labels{"peer": peer}
	m.peerReqs.DeletePartialMatch(l)
	m.peerErrs.DeletePartialMatch(l)
	m.peerLatency.DeletePartialMatch(l)
}

// ObserveMembership records a change of the ring's membership, after
// which it has members nodes (this one included). Call it once with the
// initial membership too: that counts as the first change.
func (m *Metrics) ObserveMembership(members int) {
	m.ringMembers.Set(float64(members))
	m.ringChanges.Inc()
}

// slogPrintln adapts a slog.Logger to promhttp.Logger.
type slogPrintln struct{ l *slog.Logger }

func (s slogPrintln) Println(v ...any) {
	s.l.Error("metrics: scrape failed", "err", fmt.Sprint(v...))
}
