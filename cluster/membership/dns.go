package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// defaultDNSInterval is DNSConfig.Interval's default: CoreDNS's kubernetes
// plugin answers with a TTL of 5 s, so polling faster finds nothing new.
const defaultDNSInterval = 5 * time.Second

// Resolver looks up the IP addresses of a host; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// DNSConfig configures DNS discovery. Zero values select the defaults.
type DNSConfig struct {
	// Name is the host name whose A and AAAA records list the peers, e.g.
	// the headless Service "rcache-peers.default.svc.cluster.local".
	Name string
	// Port is the peer HTTP port of every node, 1 to 65535.
	Port int
	// Scheme is the scheme of the peer URLs, "http" or "https"; empty
	// selects "http".
	Scheme string
	// Self, if not empty, is this node's peer URL, added to every set: the
	// node stays in its own ring while its address is not yet in DNS.
	Self string
	// Interval is the time between lookups, and the timeout of each; zero
	// selects 5 s.
	Interval time.Duration
	// Resolver does the lookups; nil selects net.DefaultResolver.
	Resolver Resolver
	// OnChange, if not nil, is called with the sorted, distinct peer URLs
	// each time a lookup returns a set different from the last one (the
	// first one included). Calls are never concurrent. The slice belongs
	// to the callee. OnChange must not call Stop, which waits for it.
	OnChange func(urls []string)
	// Logger receives lookup failures and changes; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first invalid field of c, if any.
func (c *DNSConfig) Validate() error {
	if c.Name == "" {
		return errors.New("membership: empty DNS name")
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("membership: DNS port %d out of range", c.Port)
	}
	if c.Scheme != "" && c.Scheme != "http" && c.Scheme != "https" {
		return fmt.Errorf("membership: scheme %q, want http or https", c.Scheme)
	}
	if c.Interval < 0 {
		return errors.New("membership: negative DNS interval")
	}
	if c.Self != "" {
		if u, err := url.Parse(c.Self); err != nil || u.Host == "" {
			return fmt.Errorf("membership: Self %q is not a URL", c.Self)
		}
	}
	return nil
}

// DNS polls DNS for the peer set. It is safe for concurrent use.
type DNS struct {
	cfg    DNSConfig
	log    *slog.Logger
	cancel context.CancelFunc // cancels the lookup in flight, and stops poll
	done   chan struct{}      // closed when poll returns
	// changes counts the sets published, the first one included.
	changes atomic.Uint64

	mu   sync.Mutex // guards urls
	urls []string   // last set published; nil before the first
}

// StartDNS validates cfg, looks cfg.Name up once under ctx, so that the
// set is usually known (and OnChange called) when it returns, then keeps
// polling every cfg.Interval until Stop. A failed first lookup is logged,
// not returned: DNS may not list the peers yet, and polling goes on.
func StartDNS(ctx context.Context, cfg DNSConfig) (*DNS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
	if cfg.Interval == 0 {
		cfg.Interval = defaultDNSInterval
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	d := &DNS{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.refresh(ctx)
	// ctx bounds only the first lookup: polling lives until Stop, not
	// until the caller's ctx ends (its values are kept).
	pollCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	go d.poll(pollCtx)
	return d, nil
}

// URLs returns the last set of peer URLs, or nil before the first lookup
// that found any.
func (d *DNS) URLs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.urls)
}

// Changes returns how many distinct sets have been published to OnChange
// (counted even when OnChange is nil), the first one included.
func (d *DNS) Changes() uint64 {
	return d.changes.Load()
}

// Stop ends polling, cancelling a lookup in flight, and returns when it has
// ended; OnChange is not called after Stop returns. It is safe to call more
// than once.
func (d *DNS) Stop() {
	d.cancel()
	<-d.done
}

// poll refreshes the set every Interval until ctx is cancelled.
func (d *DNS) poll(ctx context.Context) {
	defer close(d.done)
	tick := time.NewTicker(d.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.refresh(ctx)
		}
	}
}

// refresh looks the name up and publishes the set if it changed. A failed
// lookup, or one that found no address, keeps the last set.
func (d *DNS) refresh(ctx context.Context) {
	lookupCtx, cancel := context.WithTimeout(ctx, d.cfg.Interval)
	addrs, err := d.cfg.Resolver.LookupIPAddr(lookupCtx, d.cfg.Name)
	cancel()
	if ctx.Err() != nil {
		return // stopping
	}
	if err != nil {
		d.log.Warn("peer lookup failed, keeping the last peers", "name", d.cfg.Name, "err", err)
		return
	}
	if len(addrs) == 0 {
		d.log.Warn("peer lookup found no address, keeping the last peers", "name", d.cfg.Name)
		return
	}
	urls := d.urlsOf(addrs)
	d.mu.Lock()
	changed := !slices.Equal(urls, d.urls)
	old := len(d.urls)
	if changed {
		d.urls = urls
	}
	d.mu.Unlock()
	if !changed {
		return
	}
	d.changes.Add(1)
	d.log.Info("peers changed", "name", d.cfg.Name, "peers", len(urls), "was", old)
	if d.cfg.OnChange != nil {
		d.cfg.OnChange(slices.Clone(urls))
	}
}

// urlsOf returns the sorted, distinct URLs of addrs plus Self. IPv6
// addresses are bracketed; zones are dropped, since a link-local address
// in a DNS answer would be of no use to another host.
func (d *DNS) urlsOf(addrs []net.IPAddr) []string {
	port := strconv.Itoa(d.cfg.Port)
	urls := make([]string, 0, len(addrs)+1)
	for _, a := range addrs {
		urls = append(urls, d.cfg.Scheme+"://"+net.JoinHostPort(a.IP.String(), port))
	}
	if d.cfg.Self != "" {
		urls = append(urls, d.cfg.Self)
	}
	slices.Sort(urls)
	return slices.Compact(urls)
}
