package peerhttp

import (
	"errors"
	"sync"
	"time"
)

// ErrPeerUnavailable is returned, wrapped, by a peer's Get, GetMany and
// Write without sending a request while the peer's circuit breaker is open:
// the peer failed Config.BreakerThreshold requests in a row and its
// cooldown has not passed yet (or another request is probing it). The group
// treats it as any transport failure and loads the key from its own origin.
var ErrPeerUnavailable = errors.New("peer unavailable: circuit breaker open")

// BreakerState is the state of a peer's circuit breaker.
type BreakerState int

// The states of a circuit breaker.
const (
	// BreakerClosed lets every request through: the peer is healthy, or
	// has failed fewer than Config.BreakerThreshold requests in a row.
	BreakerClosed BreakerState = iota
	// BreakerOpen fails every request at once, until the cooldown passes.
	BreakerOpen
	// BreakerHalfOpen lets one probe request through, whose outcome
	// closes the breaker or opens it again with twice the cooldown.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// verdict is what a breaker says about one request.
type verdict int

const (
	reject verdict = iota // fail it at once with ErrPeerUnavailable
	pass                  // send it; the breaker is closed
	probe                 // send it as the one probe of a half-open breaker
)

// breaker is the circuit breaker of one peer. It is safe for concurrent
// use.
type breaker struct {
	threshold   int           // consecutive failures that open it; 0: never opens, only counts
	minCooldown time.Duration // the first cooldown after closed
	maxCooldown time.Duration // the cap of the doubling

	mu       sync.Mutex    // guards the fields below
	state    BreakerState  // BreakerHalfOpen only while probing is true or until the next allow
	failures int           // consecutive failed requests
	cooldown time.Duration // of the current or next opening
	until    time.Time     // end of the cooldown, while open
	probing  bool          // a probe request is in flight
	lastErr  time.Time     // when the last failure was recorded
}

func newBreaker(threshold int, minCooldown, maxCooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, minCooldown: minCooldown, maxCooldown: maxCooldown, cooldown: minCooldown}
}

// allow decides whether a request may be sent at now. A request given
// probe must report its outcome with done(probe, …), so that the next
// probe can go.
func (b *breaker) allow(now time.Time) verdict {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return pass
	case BreakerOpen:
		if now.Before(b.until) {
			return reject
		}
		b.state = BreakerHalfOpen
	}
	// Half-open: one probe at a time; the others fail fast until it
	// decides.
	if b.probing {
		return reject
	}
	b.probing = true
	return probe
}

// outcome is how a sent request ended, as far as the breaker cares.
type outcome int

const (
	succeeded outcome = iota // the peer answered
	failed                   // the peer did not answer, in time or at all, or answered garbage
	abandoned                // the caller gave up first: says nothing about the peer
)

// done records the outcome of a request that allow let through as v, and
// returns the state it leaves the breaker in and whether that changed.
func (b *breaker) done(now time.Time, v verdict, o outcome) (BreakerState, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := b.state
	b.doneLocked(now, v, o)
	return b.state, b.state != from
}

func (b *breaker) doneLocked(now time.Time, v verdict, o outcome) {
	if o == failed {
		b.failures++
		b.lastErr = now
	}
	if v == probe {
		b.probing = false
		switch o {
		case succeeded:
			b.closeLocked()
		case failed:
			b.cooldown = min(2*b.cooldown, b.maxCooldown)
			b.openLocked(now)
		}
		// Abandoned: stay half-open, and let the next request probe.
		return
	}
	// A request sent while the breaker was closed. If the breaker has
	// opened since (other requests failed meanwhile), its outcome changes
	// nothing: only the probe closes an open breaker.
	if b.state != BreakerClosed {
		return
	}
	switch o {
	case succeeded:
		b.failures = 0
	case failed:
		if b.threshold > 0 && b.failures >= b.threshold {
			b.openLocked(now)
		}
	}
}

func (b *breaker) openLocked(now time.Time) {
	b.state = BreakerOpen
	b.until = now.Add(b.cooldown)
}

func (b *breaker) closeLocked() {
	b.state = BreakerClosed
	b.failures = 0
	b.cooldown = b.minCooldown
}

// snapshot returns the state, the consecutive failures and the time of the
// last failure (zero if none).
func (b *breaker) snapshot() (BreakerState, int, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.failures, b.lastErr
}

// PeerStatus is the health of one peer as this node sees it, for a status
// page or a metrics exporter.
type PeerStatus struct {
	// URL is the peer's base URL.
	URL string
	// State is the state of the peer's circuit breaker.
	State BreakerState
	// ConsecutiveFailures counts the requests the peer failed since its
	// last success (see Config.BreakerThreshold for what fails).
	ConsecutiveFailures int
	// Requests counts the requests sent to the peer, Errors those of them
	// that returned an error of any kind, and Rejected the requests that
	// the open breaker failed without sending.
	Requests, Errors, Rejected int64
	// Streamed counts the requests of Requests that went on a stream
	// rather than over plain HTTP (see Config.DisableStreams).
	Streamed int64
	// LastError is when the peer last failed a request; zero if never.
	LastError time.Time
}

// PeerStatus returns the health of every member but this node, sorted by
// URL. The counters live as long as the peer stays a member.
func (p *Pool) PeerStatus() []PeerStatus {
	m := p.state.Load()
	out := make([]PeerStatus, 0, len(m.peers))
	for _, pg := range m.peers {
		c := pg.(*peer)
		state, failures, last := c.breaker.snapshot()
		out = append(out, PeerStatus{
			URL:                 c.base,
			State:               state,
			ConsecutiveFailures: failures,
			Requests:            c.requests.Load(),
			Errors:              c.errors.Load(),
			Rejected:            c.rejected.Load(),
			Streamed:            c.streamed.Load(),
			LastError:           last,
		})
	}
	return out
}
