package main

import (
	"errors"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/metrics"
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
