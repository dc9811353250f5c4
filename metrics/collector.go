package metrics

import "github.com/prometheus/client_golang/prometheus"

// statsCollector reads counters that rcache keeps elsewhere, at scrape
// time, and reports them as constant metrics. It is safe for concurrent
// use: it holds nothing but its sources and descriptions.
type statsCollector struct {
	groups GroupSource // nil: no group series
	peers  PeerSource  // nil: no breaker series
	resp   RESPSource  // nil: no RESP series

	gets, misses, budget                                    *prometheus.Desc
	originLoads, originNotFound, originErrors               *prometheus.Desc
	peerLoads, peerErrors                                   *prometheus.Desc
	staleServes, negativeHits, handoffHits, handoffMisses   *prometheus.Desc
	cacheBytes, cacheItems, cacheLookups, cacheHits, evicts *prometheus.Desc

	breaker *prometheus.Desc

	conns, connsTotal, cmdCalls, cmdFailures *prometheus.Desc
}

func newStatsCollector(g GroupSource, p PeerSource, r RESPSource) *statsCollector {
	group := []string{"group"}
	cache := []string{"group", "cache"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &statsCollector{
		groups: g, peers: p, resp: r,

		gets:           d("rcache_group_gets_total", "Get calls, including the keys of multi-key gets.", group),
		misses:         d("rcache_group_misses_total", "Gets not answered from either cache that waited on a load.", group),
		budget:         d("rcache_group_budget_bytes", "The group's memory budget in bytes.", group),
		originLoads:    d("rcache_group_origin_loads_total", "Calls to the origin, whatever their outcome.", group),
		originNotFound: d("rcache_group_origin_not_found_total", "Origin calls that answered not found.", group),
		originErrors:   d("rcache_group_origin_errors_total", "Origin calls that failed.", group),
		peerLoads:      d("rcache_group_peer_loads_total", "Answers (values or not-founds) fetched from a peer.", group),
		peerErrors:     d("rcache_group_peer_errors_total", "Peer fetches that failed and fell back to a local load.", group),
		staleServes:    d("rcache_group_stale_serves_total", "Failed reloads answered with a value past its expiry.", group),
		negativeHits:   d("rcache_group_negative_hits_total", "Gets answered not found from a remembered origin answer.", group),
		handoffHits:    d("rcache_group_handoff_hits_total", "Keys a new owner got from the previous owner's memory.", group),
		handoffMisses:  d("rcache_group_handoff_misses_total", "Hand-off peeks that found nothing and went on to the origin.", group),
		cacheBytes:     d("rcache_group_cache_bytes", "Bytes held by a cache (main or hot), keys plus values.", cache),
		cacheItems:     d("rcache_group_cache_items", "Entries held by a cache (main or hot).", cache),
		cacheLookups:   d("rcache_group_cache_lookups_total", "Lookups in a cache (main or hot).", cache),
		cacheHits:      d("rcache_group_hits_total", "Lookups in a cache (main or hot) that found a live value.", cache),
		evicts:         d("rcache_group_evictions_total", "Entries evicted from a cache (main or hot) for room or after expiry.", cache),

		breaker: d("rcache_peer_breaker_state", "State of the circuit breaker in front of a peer: 0 closed, 1 half-open, 2 open.", []string{"peer"}),

		conns:       d("rcache_resp_connections", "RESP client connections open now.", nil),
		connsTotal:  d("rcache_resp_connections_total", "RESP client connections accepted since start.", nil),
		cmdCalls:    d("rcache_resp_commands_total", "RESP command calls, failed ones included.", []string{"cmd"}),
		cmdFailures: d("rcache_resp_command_failures_total", "RESP command calls answered with an error.", []string{"cmd"}),
	}
}

// Describe sends the descriptions of every series the collector may
// report, whichever sources are set.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.gets, c.misses, c.budget, c.originLoads, c.originNotFound, c.originErrors,
		c.peerLoads, c.peerErrors, c.staleServes, c.negativeHits, c.handoffHits, c.handoffMisses,
		c.cacheBytes, c.cacheItems, c.cacheLookups, c.cacheHits, c.evicts,
		c.breaker, c.conns, c.connsTotal, c.cmdCalls, c.cmdFailures,
	} {
		ch <- d
	}
}

// Collect reads the sources and sends their values.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	if c.groups != nil {
		for _, g := range c.groups.Groups() {
			c.collectGroup(ch, &g)
		}
	}
	if c.peers != nil {
		for _, p := range c.peers.Peers() {
			ch <- prometheus.MustNewConstMetric(c.breaker, prometheus.GaugeValue, float64(p.Breaker), p.Peer)
		}
	}
	if c.resp != nil {
		s := c.resp.RESPStats()
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.Connections))
		ch <- prometheus.MustNewConstMetric(c.connsTotal, prometheus.CounterValue, float64(s.TotalConnections))
		for _, cmd := range s.Commands {
			ch <- prometheus.MustNewConstMetric(c.cmdCalls, prometheus.CounterValue, float64(cmd.Calls), cmd.Name)
			ch <- prometheus.MustNewConstMetric(c.cmdFailures, prometheus.CounterValue, float64(cmd.Failures), cmd.Name)
		}
	}
}

func (c *statsCollector) collectGroup(ch chan<- prometheus.Metric, g *GroupStats) {
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), g.Name)
	}
	counter(c.gets, g.Gets)
	counter(c.misses, g.Misses)
	counter(c.originLoads, g.OriginLoads)
	counter(c.originNotFound, g.OriginNotFound)
	counter(c.originErrors, g.OriginErrors)
	counter(c.peerLoads, g.PeerLoads)
	counter(c.peerErrors, g.PeerErrors)
	counter(c.staleServes, g.StaleServes)
	counter(c.negativeHits, g.NegativeHits)
	counter(c.handoffHits, g.HandoffHits)
	counter(c.handoffMisses, g.HandoffMisses)
	if g.Budget > 0 {
		ch <- prometheus.MustNewConstMetric(c.budget, prometheus.GaugeValue, float64(g.Budget), g.Name)
	}
	for _, cs := range []struct {
		name  string
		stats *CacheStats
	}{{"main", &g.Main}, {"hot", &g.Hot}} {
		ch <- prometheus.MustNewConstMetric(c.cacheBytes, prometheus.GaugeValue, float64(cs.stats.Bytes), g.Name, cs.name)
		ch <- prometheus.MustNewConstMetric(c.cacheItems, prometheus.GaugeValue, float64(cs.stats.Items), g.Name, cs.name)
		ch <- prometheus.MustNewConstMetric(c.cacheLookups, prometheus.CounterValue, float64(cs.stats.Lookups), g.Name, cs.name)
		ch <- prometheus.MustNewConstMetric(c.cacheHits, prometheus.CounterValue, float64(cs.stats.Hits), g.Name, cs.name)
		ch <- prometheus.MustNewConstMetric(c.evicts, prometheus.CounterValue, float64(cs.stats.Evictions), g.Name, cs.name)
	}
}
