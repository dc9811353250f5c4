package metrics

// GroupSource lists the groups to report, with their counters as they are
// at the moment of the call. The collector calls it once per scrape, from
// the scraping goroutine, concurrently with any traffic.
type GroupSource interface {
	// Groups returns one GroupStats per group; the slice is the caller's.
	Groups() []GroupStats
}

// GroupSourceFunc adapts a function to a GroupSource.
type GroupSourceFunc func() []GroupStats

// Groups calls f().
func (f GroupSourceFunc) Groups() []GroupStats { return f() }

// GroupStats is a snapshot of one group's counters and gauges. The counters
// only ever grow while the group lives; each field says what it counts.
type GroupStats struct {
	// Name is the group's name, the value of the "group" label.
	Name string

	// Budget is the group's memory budget in bytes; zero means no limit
	// and reports no budget series.
	Budget int64

	Gets           int64 // Get calls, including the keys of GetMany
	Misses         int64 // gets not answered from either cache that waited on a load
	OriginLoads    int64 // calls to the origin (the Getter), whatever their outcome
	OriginNotFound int64 // origin calls that answered "not found"
	OriginErrors   int64 // origin calls that failed otherwise
	PeerLoads      int64 // answers (values or not-founds) fetched from a peer
	PeerErrors     int64 // peer fetches that failed and fell back to a local load
	StaleServes    int64 // failed reloads answered with a value past its expiry
	NegativeHits   int64 // gets answered "not found" from a remembered origin answer
	HandoffHits    int64 // keys a new owner got from the previous owner's memory
	HandoffMisses  int64 // hand-off peeks that found nothing and went on to the origin

	// Main and Hot describe the group's main cache (keys this node owns)
	// and hot cache (short-lived copies of other nodes' keys).
	Main, Hot CacheStats
}

// CacheStats is a snapshot of one of a group's caches.
type CacheStats struct {
	Bytes     int64 // bytes charged against the budget: keys plus values
	Items     int64 // entries held
	Lookups   int64 // lookups in this cache (counter)
	Hits      int64 // lookups that found a live value (counter)
	Evictions int64 // entries evicted for room or reclaimed after expiry (counter)
}

// PeerSource lists the peers this node talks to, with the state of their
// circuit breakers. The collector calls it once per scrape.
type PeerSource interface {
	// Peers returns one PeerStats per peer; the slice is the caller's.
	Peers() []PeerStats
}

// PeerSourceFunc adapts a function to a PeerSource.
type PeerSourceFunc func() []PeerStats

// Peers calls f().
func (f PeerSourceFunc) Peers() []PeerStats { return f() }

// BreakerState is the state of the circuit breaker in front of a peer. Its
// numeric value is what rcache_peer_breaker_state reports.
type BreakerState int

const (
	// BreakerClosed lets requests through: the peer is healthy.
	BreakerClosed BreakerState = 0
	// BreakerHalfOpen lets a probe through to see if the peer recovered.
	BreakerHalfOpen BreakerState = 1
	// BreakerOpen fails requests at once without trying the peer.
	BreakerOpen BreakerState = 2
)

// PeerStats is a snapshot of one peer.
type PeerStats struct {
	// Peer is the peer's base URL, the value of the "peer" label; use the
	// same string as in ObservePeer.
	Peer string
	// Breaker is the state of the peer's circuit breaker.
	Breaker BreakerState
}

// RESPSource reports the RESP server's connection and command counters.
// The collector calls it once per scrape.
type RESPSource interface {
	// RESPStats returns the counters as they are now.
	RESPStats() RESPStats
}

// RESPSourceFunc adapts a function to a RESPSource.
type RESPSourceFunc func() RESPStats

// RESPStats calls f().
func (f RESPSourceFunc) RESPStats() RESPStats { return f() }

// RESPStats is a snapshot of the RESP server's counters.
type RESPStats struct {
	Connections      int64 // client connections open now
	TotalConnections int64 // client connections accepted since start (counter)

	// Commands has one entry per command name that was called; the slice
	// is the caller's.
	Commands []CommandStats
}

// CommandStats counts the calls of one RESP command.
type CommandStats struct {
	// Name is the command's name, the value of the "cmd" label. Use the
	// lower-case name from the command table, never raw client input, so
	// that the label set stays bounded.
	Name     string
	Calls    int64 // calls, failed ones included (counter)
	Failures int64 // calls answered with an error reply (counter)
}
