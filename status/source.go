package status

import "time"

// Source gives the status page what it shows. Handler calls it once per
// request, concurrently with anything else the node does.
type Source interface {
	// Status returns the node's state as it is now; the page shows lists
	// in the order given.
	Status() Status
}

// SourceFunc adapts a function to a Source.
type SourceFunc func() Status

// Status calls f().
func (f SourceFunc) Status() Status { return f() }

// Status is everything the page shows, also served as JSON.
type Status struct {
	Node   Node    `json:"node"`
	Peers  []Peer  `json:"peers"`
	Ring   []Share `json:"ring"`
	Groups []Group `json:"groups"`
}

// Node describes the node serving the page.
type Node struct {
	Name     string        `json:"name"`      // the node's name, shown as the page title
	RESPAddr string        `json:"resp_addr"` // the address clients reach with the Redis protocol
	PeerURL  string        `json:"peer_url"`  // the base URL peers reach this node at
	Version  string        `json:"version"`   // the build's version
	Uptime   time.Duration `json:"uptime_ns"` // time since the node started
}

// PeerState is the health of a peer as its circuit breaker sees it.
type PeerState string

// The states of a peer.
const (
	Healthy  PeerState = "healthy"   // requests go through
	HalfOpen PeerState = "half-open" // a probe goes through to see if the peer recovered
	Open     PeerState = "open"      // requests fail at once without trying the peer
)

// Peer is one of the other nodes this node talks to.
type Peer struct {
	URL      string    `json:"url"`      // the peer's base URL
	State    PeerState `json:"state"`    // its breaker's state
	Requests int64     `json:"requests"` // requests sent to it since start
	Errors   int64     `json:"errors"`   // requests to it that failed
}

// Share is the part of the key space that one node owns on the ring.
type Share struct {
	Node     string  `json:"node"`     // the node's peer URL
	Fraction float64 `json:"fraction"` // its share of the keys, from 0 to 1
}

// Group describes one cache group on this node.
type Group struct {
	Name      string `json:"name"`
	Gets      int64  `json:"gets"`       // Get calls since start
	Hits      int64  `json:"hits"`       // gets answered from the main or hot cache
	MainBytes int64  `json:"main_bytes"` // bytes in the main cache (keys this node owns)
	MainItems int64  `json:"main_items"` // entries in the main cache
	HotBytes  int64  `json:"hot_bytes"`  // bytes in the hot cache (copies of other nodes' keys)
	HotItems  int64  `json:"hot_items"`  // entries in the hot cache
	Budget    int64  `json:"budget"`     // the group's memory budget in bytes; zero means no limit
}

// HitRatio returns Hits/Gets, or 0 before the first get.
func (g Group) HitRatio() float64 {
	if g.Gets <= 0 {
		return 0
	}
	return float64(g.Hits) / float64(g.Gets)
}
