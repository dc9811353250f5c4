package peerhttp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rcache/rcache/cluster/ring"
	"github.com/rcache/rcache/engine/group"
)

// Defaults for the zero fields of Config.
const (
	// DefaultBasePath is the path prefix of every peer request.
	DefaultBasePath = "/_rcache/"

	// DefaultTimeout bounds one peer request.
	DefaultTimeout = 5 * time.Second

	// DefaultMaxBodyBytes bounds request and response bodies: a 64 MiB
	// value plus 64 KiB for the protobuf framing and an error message.
	DefaultMaxBodyBytes = 64<<20 + 64<<10

	// DefaultHandoffWindow is how long after a ring change a node asks a
	// key's previous owner for it.
	DefaultHandoffWindow = 30 * time.Second

	// DefaultBreakerThreshold is how many requests in a row a peer must
	// fail before its circuit breaker opens.
	DefaultBreakerThreshold = 3

	// DefaultBreakerCooldown is how long a breaker stays open the first
	// time; each failed probe doubles it.
	DefaultBreakerCooldown = time.Second

	// DefaultBreakerMaxCooldown caps the doubling of the cooldown.
	DefaultBreakerMaxCooldown = 30 * time.Second
)

// Tuning of the transport New builds when Config.Transport is nil.
const (
	maxDialTimeout      = 2 * time.Second
	maxIdleConns        = 1024
	maxIdleConnsPerHost = 128
	idleConnTimeout     = 90 * time.Second
	maxHeaderBytes      = 64 << 10
)

// Config configures a Pool. The zero value selects every default.
type Config struct {
	// BasePath is the path prefix under which peers talk to each other. It
	// must begin and end with "/" and need no escaping; every node of a
	// cluster must use the same one. Empty selects DefaultBasePath.
	BasePath string

	// Registry holds the groups the Pool serves to its peers; nil selects
	// group.DefaultRegistry().
	Registry *group.Registry

	// Replicas is the number of virtual nodes per peer on the ring; zero
	// selects ring.DefaultReplicas. Every node must use the same value.
	Replicas int

	// Hash places keys and peers on the ring; nil selects the ring's default
	// hash. Every node must use the same one.
	Hash ring.Hash

	// Timeout bounds one peer request, from dialling to reading the whole
	// response; zero selects DefaultTimeout. It is also how long an owner
	// that hangs (or whose origin hangs) can stall a load before the asking
	// node gives up and loads the key from its own origin.
	Timeout time.Duration

	// MaxBodyBytes bounds the body of a request this node accepts and of a
	// response it reads, in bytes; zero selects DefaultMaxBodyBytes. A
	// larger request is refused with 413, and a larger response fails the
	// peer request.
	MaxBodyBytes int64

	// Transport sends peer requests; nil selects an *http.Transport owned
	// by the Pool, shared by all its peers, with keep-alive connections
	// (up to 128 idle ones per peer), a dial timeout of at most 2s, no
	// proxy, and ResponseHeaderTimeout set to Timeout.
	Transport http.RoundTripper

	// DisableStreams keeps every request on plain HTTP. By default a peer
	// client upgrades one connection per member to a stream (see
	// stream.go), on which its Gets and GetManys go after the first.
	// The handler serves streams either way.
	DisableStreams bool

	// TLS configures the client side of https:// peer URLs: RootCAs to
	// verify the peers' certificates and, for mutual TLS, Certificates
	// holding this node's client certificate. nil selects the system's
	// roots and no client certificate. It applies to the transport New
	// builds, and may not be combined with Transport. The Pool clones it
	// and never modifies it. The server side is NewServer's.
	TLS *tls.Config

	// Secret is the shared secret that authenticates peer requests. Empty
	// means no authentication: the handler answers anyone who can reach
	// it, which makes it an open proxy to the origin and lets anyone write
	// to the cache. When set, every request this Pool sends carries the
	// header "Authorization: Bearer <Secret>", and the handler refuses a
	// request without that exact header with 401 before it touches a
	// group. All nodes of a cluster must use the same Secret: a node with
	// another one gets only 401s, and loads the keys it asks for from its
	// own origin. It must consist of visible ASCII characters (no spaces).
	// The Pool never logs it. Send it only over a trusted network or
	// https: it travels in the clear with http.
	Secret string

	// BreakerThreshold is how many requests in a row a peer must fail
	// before its circuit breaker opens; zero selects
	// DefaultBreakerThreshold, and a negative value turns the breakers
	// off. A request fails when the peer cannot be reached, does not
	// answer within Timeout, or answers garbage or a 5xx other than 504.
	// A 200 never fails, whatever it carries (a key the owner's origin
	// does not have, an origin error), nor do a 4xx and a 504: the peer
	// is up and answered. Neither does a request whose caller gave up
	// first.
	//
	// While a breaker is open, requests to its peer fail at once with
	// ErrPeerUnavailable, and the group loads their keys from its own
	// origin. Once the cooldown has passed the breaker is half-open: the
	// next request is sent as a probe (the others keep failing fast), and
	// its outcome closes the breaker or opens it again for twice the
	// cooldown. So a peer that hangs costs at most BreakerThreshold
	// requests of Timeout each, then one probe per cooldown.
	BreakerThreshold int

	// BreakerCooldown is how long a breaker stays open before its first
	// probe; zero selects DefaultBreakerCooldown. Each failed probe
	// doubles it, up to BreakerMaxCooldown; a successful one resets it.
	BreakerCooldown time.Duration

	// BreakerMaxCooldown caps the cooldown; zero selects
	// DefaultBreakerMaxCooldown, or BreakerCooldown if that is longer.
	BreakerMaxCooldown time.Duration

	// Joining says that this node joins a cluster that was running without
	// it (gossip --join, or DNS discovery): the first membership that lists other members
	// then counts them, not this node, as the keys' previous owners, so
	// that the keys it takes over are asked of them within HandoffWindow.
	// Without it a node's first peers are taken as a cluster starting
	// together, with nothing to hand over.
	Joining bool

	// HandoffWindow is how long after a membership change PreviousOwner
	// names a key's previous owner, so that a node that has just become a
	// key's owner takes the previous owner's copy instead of calling its
	// origin; zero selects DefaultHandoffWindow, and a negative value
	// turns the hand-off off.
	HandoffWindow time.Duration

	// Now is the Pool's clock, read by the breakers and the hand-off
	// window; nil selects
	// time.Now. Tests inject a fake one.
	Now func() time.Time

	// Observe, if not nil, is called after every request to a peer, with
	// the peer's base URL, the operation ("get", "getmany" or "write"),
	// how long it took and its error (nil on success; wrapping
	// ErrPeerUnavailable, with a zero d, when the breaker refused it
	// without sending). Gets coalesced into one GetMany are observed
	// once, as that "getmany". It runs on the requesting goroutine, so it must
	// be quick and safe for concurrent use: count, do not block.
	Observe func(peer, op string, d time.Duration, err error)

	// Logger receives the Pool's log lines; nil discards them.
	Logger *slog.Logger
}

// Validate reports what is wrong with c, if anything.
func (c *Config) Validate() error {
	var errs []error
	if c.BasePath != "" {
		if err := validateBasePath(c.BasePath); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Replicas < 0 {
		errs = append(errs, fmt.Errorf("peerhttp: negative Replicas %d", c.Replicas))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("peerhttp: negative Timeout %v", c.Timeout))
	}
	if c.TLS != nil && c.Transport != nil {
		errs = append(errs, errors.New("peerhttp: TLS and Transport are both set; configure TLS on the Transport"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("peerhttp: negative MaxBodyBytes %d", c.MaxBodyBytes))
	}
	if c.BreakerCooldown < 0 {
		errs = append(errs, fmt.Errorf("peerhttp: negative BreakerCooldown %v", c.BreakerCooldown))
	}
	if c.BreakerMaxCooldown < 0 {
		errs = append(errs, fmt.Errorf("peerhttp: negative BreakerMaxCooldown %v", c.BreakerMaxCooldown))
	}
	if err := validateSecret(c.Secret); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateBasePath checks that p is an absolute, clean path ending in "/"
// whose escaped form is itself, so that it can be compared with a request's
// escaped path as it is.
func validateBasePath(p string) error {
	ok := strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/") && !strings.Contains(p, "//")
	for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." || escapeSegment(seg) != seg {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("peerhttp: BasePath %q must be a clean path that begins and ends with \"/\" and needs no escaping", p)
	}
	return nil
}

// validateSecret checks that s can travel as a bearer token in a header
// as it is. The error does not quote s.
func validateSecret(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return fmt.Errorf("peerhttp: Secret has a byte 0x%02x at offset %d; it must be visible ASCII without spaces", s[i], i)
		}
	}
	return nil
}

// withDefaults returns c with its zero fields filled in, except Transport,
// which New builds because the Pool owns it.
func (c Config) withDefaults() Config {
	if c.BasePath == "" {
		c.BasePath = DefaultBasePath
	}
	if c.Registry == nil {
		c.Registry = group.DefaultRegistry()
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.HandoffWindow == 0 {
		c.HandoffWindow = DefaultHandoffWindow
	}
	switch {
	case c.BreakerThreshold == 0:
		c.BreakerThreshold = DefaultBreakerThreshold
	case c.BreakerThreshold < 0:
		c.BreakerThreshold = 0 // off: the breaker only counts
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = DefaultBreakerCooldown
	}
	if c.BreakerMaxCooldown == 0 {
		c.BreakerMaxCooldown = DefaultBreakerMaxCooldown
	}
	c.BreakerMaxCooldown = max(c.BreakerMaxCooldown, c.BreakerCooldown)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// newTransport returns the transport used when Config.Transport is nil.
// Peers are few and talked to constantly, so it keeps many idle connections
// per host; it ignores proxy settings from the environment.
func newTransport(timeout time.Duration, tlsCfg *tls.Config) *http.Transport {
	dialer := &net.Dialer{Timeout: min(timeout, maxDialTimeout), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    min(timeout, maxDialTimeout),
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
		// Bodies are protocol buffers of cached values, which the
		// handler never compresses: asking for gzip only costs a header.
		DisableCompression: true,
		TLSClientConfig:    tlsCfg.Clone(), // nil stays nil
	}
}
