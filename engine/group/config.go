package group

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultLoadTimeout       = 10 * time.Second
	DefaultHotTTL            = 5 * time.Second
	DefaultHotProbability    = 0.1
	DefaultInvalidateTimeout = 250 * time.Millisecond
	DefaultMaxOriginCalls    = 64
	DefaultNegativeTTL       = 5 * time.Second
	DefaultTTLJitter         = 0.1
	StaleRetry               = time.Second
	DefaultHandoffTimeout    = 200 * time.Millisecond
)

// Config describes a group. Zero fields select the defaults above; only
// Name and Getter are required.
type Config struct {
	// Name identifies the group in its registry and on the wire.
	Name string

	// CacheBytes is the group's memory budget in bytes, counting keys,
	// values and the bookkeeping each entry costs (about 106 bytes): one
	// eighth for the hot cache (copies of other nodes' keys), one sixteenth
	// for remembered "not found" answers, the rest for the main cache (keys
	// this node owns). Zero means no limit.
	CacheBytes int64

	// MaxItemBytes is the largest entry (key, value and the per-entry
	// overhead the budget charges) the group caches. A larger value is
	// returned to its caller but not kept, so one big value never empties a
	// cache. Zero selects one eighth of the main cache's budget (and of the
	// hot cache's for hot copies); negative means no limit beyond the cache's
	// whole budget. It has no effect when CacheBytes is zero.
	MaxItemBytes int64

	// Getter loads a value this node owns when it is not cached.
	Getter Getter

	// TTL is how long a value loaded from the Getter stays cached; zero
	// means until evicted.
	TTL time.Duration

	// TTLJitter spreads the TTL of loaded values by up to this fraction
	// either way (0.1: 90% to 110% of TTL), so that keys loaded together do
	// not expire together. Zero selects DefaultTTLJitter and a negative value
	// disables it. Values written with an explicit TTL are not jittered.
	TTLJitter float64

	// NegativeTTL is how long a "not found" from the origin is remembered,
	// so that a flood of requests for a missing key reaches the origin once
	// per NegativeTTL. Zero selects DefaultNegativeTTL and a negative value
	// disables it. A write to the key forgets it at once, on every node.
	NegativeTTL time.Duration

	// MaxStale lets a value be served for up to MaxStale past its expiry
	// while the origin fails to reload it (an error, not a "not found").
	// During that time the origin is tried again at most once per
	// StaleRetry per key, and callers in between get the stale value at
	// once. Zero (the default) never serves stale values.
	MaxStale time.Duration

	// LoadTimeout bounds one shared load (an origin call or a peer fetch).
	// The load runs detached from the callers that wait on it, so this is
	// what stops it; zero selects DefaultLoadTimeout.
	LoadTimeout time.Duration

	// MaxOriginCalls caps the Getter calls this node runs at once for the
	// group, so that a burst of distinct misses cannot flatten the origin;
	// further loads wait their turn (within their LoadTimeout). Zero selects
	// DefaultMaxOriginCalls.
	MaxOriginCalls int

	// HotTTL bounds how long a hot copy of another node's value is served
	// without asking the owner again; it is also how stale a copy can get
	// when the owner's invalidation does not arrive. Zero selects
	// DefaultHotTTL.
	HotTTL time.Duration

	// HotProbability is the chance that a value fetched from a peer is kept
	// as a hot copy when this node did not fetch the same key within the
	// last one to two HotTTLs (a key fetched again within them is always
	// kept, unless HotRandomOnly); zero selects DefaultHotProbability and a
	// negative value disables the hot cache.
	HotProbability float64

	// HotRandomOnly keeps hot copies only by chance (HotProbability), as
	// groupcache does, and not also every value fetched again within one to
	// two HotTTLs.
	HotRandomOnly bool

	// InvalidateTimeout bounds how long a write waits for the other nodes to
	// drop their hot copies; zero selects DefaultInvalidateTimeout.
	InvalidateTimeout time.Duration

	// HandoffTimeout bounds the peek at a key's previous owner that a load
	// makes, when the PeerPicker is a HandoffPicker, before it calls the
	// Getter; zero selects DefaultHandoffTimeout.
	HandoffTimeout time.Duration

	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time

	// Rand returns a number in [0, 1) for the hot-copy decision; nil means
	// math/rand/v2.Float64.
	Rand func() float64

	// OnLoad, if not nil, is called after every Getter call with how long
	// the call took and the error it returned (nil for a value; one wrapping
	// ErrNotFound for a miss), so that a metrics exporter can observe origin
	// latency. It runs on the load's goroutine and must not block.
	OnLoad func(d time.Duration, err error)

	// Logger receives the group's log lines; nil discards them.
	Logger *slog.Logger
}

// Validate reports what is wrong with c, if anything.
func (c *Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("group: empty name"))
	}
	if c.Getter == nil {
		errs = append(errs, fmt.Errorf("group %q: nil Getter", c.Name))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("group %q: negative CacheBytes %d", c.Name, c.CacheBytes))
	}
	if c.MaxOriginCalls < 0 {
		errs = append(errs, fmt.Errorf("group %q: negative MaxOriginCalls %d", c.Name, c.MaxOriginCalls))
	}
	if c.MaxStale < 0 {
		errs = append(errs, fmt.Errorf("group %q: negative MaxStale", c.Name))
	}
	if c.TTL < 0 || c.LoadTimeout < 0 || c.HotTTL < 0 || c.InvalidateTimeout < 0 || c.HandoffTimeout < 0 {
		errs = append(errs, fmt.Errorf("group %q: negative duration", c.Name))
	}
	if c.TTLJitter >= 1 {
		errs = append(errs, fmt.Errorf("group %q: TTLJitter %v not below 1", c.Name, c.TTLJitter))
	}
	if c.HotProbability > 1 {
		errs = append(errs, fmt.Errorf("group %q: HotProbability %v above 1", c.Name, c.HotProbability))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	if c.LoadTimeout == 0 {
		c.LoadTimeout = DefaultLoadTimeout
	}
	if c.TTLJitter == 0 {
		c.TTLJitter = DefaultTTLJitter
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.MaxOriginCalls == 0 {
		c.MaxOriginCalls = DefaultMaxOriginCalls
	}
	if c.HotTTL == 0 {
		c.HotTTL = DefaultHotTTL
	}
	if c.HotProbability == 0 {
		c.HotProbability = DefaultHotProbability
	}
	if c.InvalidateTimeout == 0 {
		c.InvalidateTimeout = DefaultInvalidateTimeout
	}
	if c.HandoffTimeout == 0 {
		c.HandoffTimeout = DefaultHandoffTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
