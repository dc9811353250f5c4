package main

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/metrics"
	"github.com/rcache/rcache/resp"
	"github.com/rcache/rcache/status"
)

// The adapters below turn the engine's, the peer pool's and the RESP
// server's own counters into what metrics and status consume, so that those
// packages depend on none of them.

// groupMetrics reads every group's counters for a Prometheus scrape.
func groupMetrics(reg *group.Registry) metrics.GroupSource {
	return metrics.GroupSourceFunc(func() []metrics.GroupStats {
		gs := reg.Groups()
		out := make([]metrics.GroupStats, len(gs))
		for i, g := range gs {
			s := &g.Stats
			out[i] = metrics.GroupStats{
				Name:           g.Name(),
				Budget:         g.Config().CacheBytes,
				Gets:           s.Gets.Load(),
				Misses:         s.Loads.Load(),
				OriginLoads:    s.LocalLoads.Load() + s.LocalNotFound.Load() + s.LocalLoadErrs.Load(),
				OriginNotFound: s.LocalNotFound.Load(),
				OriginErrors:   s.LocalLoadErrs.Load(),
				PeerLoads:      s.PeerLoads.Load(),
				PeerErrors:     s.PeerErrors.Load(),
				StaleServes:    s.StaleServes.Load(),
				NegativeHits:   s.NegativeHits.Load(),
				HandoffHits:    s.HandoffHits.Load(),
				HandoffMisses:  s.HandoffMisses.Load(),
				Main:           cacheMetrics(g.CacheStats(group.MainCache)),
				Hot:            cacheMetrics(g.CacheStats(group.HotCache)),
			}
		}
		return out
	})
}

func cacheMetrics(c group.CacheStats) metrics.CacheStats {
	return metrics.CacheStats{Bytes: c.Bytes, Items: c.Items, Lookups: c.Gets, Hits: c.Hits, Evictions: c.Evictions}
}

// groupStatus is the status page's view of every group.
func groupStatus(reg *group.Registry) []status.Group {
	gs := reg.Groups()
	out := make([]status.Group, len(gs))
	for i, g := range gs {
		main, hot := g.CacheStats(group.MainCache), g.CacheStats(group.HotCache)
		out[i] = status.Group{
			Name:      g.Name(),
			Gets:      g.Stats.Gets.Load(),
			Hits:      g.Stats.CacheHits.Load(),
			MainBytes: main.Bytes,
			MainItems: main.Items,
			HotBytes:  hot.Bytes,
			HotItems:  hot.Items,
			Budget:    g.Config().CacheBytes,
		}
	}
	return out
}

// observeLoad returns a group's OnLoad hook: origin latency, with a
// not-found counted as an answer rather than an error.
func observeLoad(m *metrics.Metrics, name string) func(time.Duration, error) {
	return func(d time.Duration, err error) {
		if errors.Is(err, group.ErrNotFound) {
			err = nil
		}
		m.ObserveLoad(name, d, err)
	}
}

// peerMetrics reads the peer pool's breakers for a scrape; *pool is set
// before the first scrape can arrive.
func peerMetrics(pool **peerhttp.Pool) metrics.PeerSource {
	return metrics.PeerSourceFunc(func() []metrics.PeerStats {
		if *pool == nil {
			return nil
		}
		ps := (*pool).PeerStatus()
		out := make([]metrics.PeerStats, len(ps))
		for i, p := range ps {
			out[i] = metrics.PeerStats{Peer: p.URL, Breaker: breakerMetric(p.State)}
		}
		return out
	})
}

func breakerMetric(s peerhttp.BreakerState) metrics.BreakerState {
	switch s {
	case peerhttp.BreakerOpen:
		return metrics.BreakerOpen
	case peerhttp.BreakerHalfOpen:
		return metrics.BreakerHalfOpen
	}
	return metrics.BreakerClosed
}

func breakerStatus(s peerhttp.BreakerState) status.PeerState {
	switch s {
	case peerhttp.BreakerOpen:
		return status.Open
	case peerhttp.BreakerHalfOpen:
		return status.HalfOpen
	}
	return status.Healthy
}

// respMetrics reads the RESP server's counters for a scrape; *rs is set
// before the first scrape can arrive.
func respMetrics(rs **resp.Server) metrics.RESPSource {
	return metrics.RESPSourceFunc(func() metrics.RESPStats {
		if *rs == nil {
			return metrics.RESPStats{}
		}
		st := (*rs).Stats()
		out := metrics.RESPStats{
			Connections:      st.ConnectedClients,
			TotalConnections: st.ConnectionsReceived,
			Commands:         make([]metrics.CommandStats, len(st.Commands)),
		}
		for i, c := range st.Commands {
			out.Commands[i] = metrics.CommandStats{Name: c.Name, Calls: c.Calls, Failures: c.FailedCalls + c.RejectedCalls}
		}
		return out
	})
}

// statusSource gathers the status page: this node, its peers' health, the
// ring's shares and the groups.
type statusSource struct {
	self, respAddr string
	started        time.Time
	pool           *peerhttp.Pool
	reg            *group.Registry
}

// Status returns the page's data as it is now.
func (s *statusSource) Status() status.Status {
	st := status.Status{
		Node: status.Node{
			Name:     s.self,
			RESPAddr: s.respAddr,
			PeerURL:  s.self,
			Version:  version,
			Uptime:   time.Since(s.started),
		},
		Groups: groupStatus(s.reg),
	}
	for _, p := range s.pool.PeerStatus() {
		st.Peers = append(st.Peers, status.Peer{URL: p.URL, State: breakerStatus(p.State), Requests: p.Requests, Errors: p.Errors})
	}
	shares := s.pool.Shares()
	for _, node := range slices.Sorted(maps.Keys(shares)) {
		st.Ring = append(st.Ring, status.Share{Node: node, Fraction: shares[node]})
	}
	return st
}
