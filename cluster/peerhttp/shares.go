package peerhttp

// Shares returns each member's fraction of the keys (its share of the ring's
// hash space), for a status page. The caller owns the map.
func (p *Pool) Shares() map[string]float64 {
	return p.state.Load().ring.Shares()
}
