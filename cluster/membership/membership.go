package membership

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultGossipPort is the gossip port used when Config.BindAddr has none,
// memberlist's usual port.
const DefaultGossipPort = 7946

// Defaults of Config.
const (
	defaultSettle      = 100 * time.Millisecond
	defaultJoinBackoff = time.Second
	maxBackoffFactor   = 32
)

// Config configures a gossip member. Zero values select the defaults.
type Config struct {
	// Name identifies this node in the gossip protocol and must be unique
	// among live members; empty selects PeerURL, which is unique by
	// construction since it identifies the node in the ring.
	Name string
	// BindAddr is the "ip:port" on which gossip listens, over both UDP
	// and TCP; empty selects ":7946", and an empty IP all interfaces.
	// Port 0 picks a free port (see Membership.Addr).
	BindAddr string
	// AdvertiseAddr is the "ip:port" that other members use to reach
	// this one; empty selects the bound address or, when bound to all
	// interfaces, a private IP of this host (Start fails if it has none).
	// Set it behind NAT or when the host has only public addresses.
	AdvertiseAddr string
	// Join lists seed members as "host:port", or "host" for this node's
	// gossip port; a name resolving to several addresses tries them all.
	// Empty starts a new cluster of one that others can join.
	Join []string
	// PeerURL is this node's peer HTTP URL, e.g. "http://10.0.0.5:8001",
	// carried in its gossip metadata; required, at most 512 bytes.
	PeerURL string
	// SecretKey, if not empty, encrypts and authenticates gossip with
	// AES-GCM; it must be 16, 24 or 32 bytes and the same on every member.
	SecretKey []byte
	// OnChange, if not nil, is called with the sorted peer URLs of the live
	// members, this node included: once after Start, then each time the set
	// changes. Calls are never concurrent, and bursts of changes within
	// Settle are merged into one call. The slice belongs to the callee.
	// OnChange must not call Leave or Shutdown, which wait for it.
	OnChange func(urls []string)
	// Settle is how long to wait after a membership event for more events
	// before calling OnChange; zero selects 100 ms.
	Settle time.Duration
	// JoinBackoff is the first wait before retrying a failed join; it
	// doubles after each failure up to 32 times its value. Zero selects 1 s.
	JoinBackoff time.Duration
	// Logger receives this package's and memberlist's logs; nil discards
	// them. memberlist's [DEBUG] lines map to slog.LevelDebug, and so on.
	Logger *slog.Logger
	// Tune, if not nil, is called with the memberlist configuration
	// (memberlist.DefaultLANConfig plus the fields above) just before it
	// is used, to change timings: tests make failure detection faster, a
	// WAN deployment makes it slower. It must not change Name, Delegate,
	// Events, Logger or LogOutput.
	Tune func(*memberlist.Config)
}

// Validate reports the first invalid field of c, if any.
func (c *Config) Validate() error {
	if c.PeerURL == "" {
		return errors.New("membership: empty PeerURL")
	}
	u, err := url.Parse(c.PeerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("membership: PeerURL %q is not an http(s) URL", c.PeerURL)
	}
	if len(c.PeerURL) > memberlist.MetaMaxSize {
		return fmt.Errorf("membership: PeerURL is %d bytes, more than %d", len(c.PeerURL), memberlist.MetaMaxSize)
	}
	if c.BindAddr != "" {
		if err := checkIPAddr(c.BindAddr, true); err != nil {
			return fmt.Errorf("membership: BindAddr: %w", err)
		}
	}
	if c.AdvertiseAddr != "" {
		if err := checkIPAddr(c.AdvertiseAddr, false); err != nil {
			return fmt.Errorf("membership: AdvertiseAddr: %w", err)
		}
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return fmt.Errorf("membership: SecretKey is %d bytes, want 16, 24 or 32", len(c.SecretKey))
	}
	if c.Settle < 0 || c.JoinBackoff < 0 {
		return errors.New("membership: negative Settle or JoinBackoff")
	}
	return nil
}

// checkIPAddr checks that addr is "ip:port", as memberlist needs, or
// ":port" if emptyHost.
func checkIPAddr(addr string, emptyHost bool) error {
	host, _, err := splitAddr(addr)
	if err != nil {
		return err
	}
	if (host != "" || !emptyHost) && net.ParseIP(host) == nil {
		return fmt.Errorf("host of %q is not an IP address", addr)
	}
	return nil
}

// splitAddr splits "host:port" and parses the port.
func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port of %q: %w", addr, err)
	}
	return host, int(port), nil
}

// Member is one live node of the cluster: alive, or suspected but not yet
// declared dead. memberlist does not report suspicion to its delegates, and
// reading a node's state from memberlist.Members races with its updates
// (memberlist issue #306), so Member has no state field.
type Member struct {
	Name    string // unique name (Config.Name)
	Addr    string // gossip address, "host:port"
	PeerURL string // peer HTTP URL; empty if the node did not send one
}

// Membership is a running gossip member. It is safe for concurrent use.
type Membership struct {
	ml     *memberlist.Memberlist
	cfg    Config
	log    *slog.Logger
	table  *table
	notify chan struct{} // capacity 1: a membership event since the last OnChange
	stop   chan struct{} // closed to stop watch and rejoin
	wg     sync.WaitGroup
	// changes counts the peer URL sets published, the first one included.
	changes atomic.Uint64

	mu sync.Mutex // orders Leave and Shutdown
	// closing is set as Leave or Shutdown begins (under mu); the log
	// writer reads it without the lock.
	closing atomic.Bool
}

// Start validates cfg, starts gossip on cfg.BindAddr and begins joining
// cfg.Join in the background, so it returns before the cluster is joined:
// see the package comment. Stop it with Leave or Shutdown.
func Start(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = cfg.PeerURL
	}
	if cfg.Settle == 0 {
		cfg.Settle = defaultSettle
	}
	if cfg.JoinBackoff == 0 {
		cfg.JoinBackoff = defaultJoinBackoff
	}
	m := &Membership{
		cfg:    cfg,
		log:    cfg.Logger,
		notify: make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	m.table = newTable(m.notify)
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = "0.0.0.0", DefaultGossipPort
	if cfg.BindAddr != "" {
		host, port, _ := splitAddr(cfg.BindAddr) // checked by Validate
		if host != "" {
			mc.BindAddr = host
		}
		mc.BindPort = port
	}
	mc.AdvertisePort = mc.BindPort
	if cfg.AdvertiseAddr != "" {
		mc.AdvertiseAddr, mc.AdvertisePort, _ = splitAddr(cfg.AdvertiseAddr)
	}
	mc.SecretKey = cfg.SecretKey
	mc.Delegate = metaDelegate(cfg.PeerURL)
	mc.Events = m.table
	if cfg.Tune != nil {
		cfg.Tune(mc)
	}
	mc.LogOutput = nil
	mc.Logger = log.New(logWriter{log: m.log, closing: &m.closing}, "", 0)

	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("membership: start gossip on %s: %w", net.JoinHostPort(mc.BindAddr, strconv.Itoa(mc.BindPort)), err)
	}
	m.ml = ml
	m.log.Info("gossip started", "name", cfg.Name, "addr", m.Addr(), "seeds", cfg.Join)
	m.wg.Add(1)
	go m.watch()
	if len(cfg.Join) > 0 {
		m.wg.Add(1)
		go m.rejoin()
	}
	return m, nil
}

// Addr returns the "ip:port" at which other members reach this one, to use
// as a seed for them; it is empty after Leave.
func (m *Membership) Addr() string {
	self, _ := m.table.get(m.cfg.Name) // Create added it
	return self.Addr
}

// Members returns the live members, this node included, sorted by name.
func (m *Membership) Members() []Member {
	return m.table.members()
}

// URLs returns the sorted, distinct peer URLs of the live members, this
// node included.
func (m *Membership) URLs() []string {
	return m.table.urls()
}

// Changes returns how many distinct peer URL sets have been published to
// OnChange (counted even when OnChange is nil), the first one included.
func (m *Membership) Changes() uint64 {
	return m.changes.Load()
}

// Leave tells the cluster that this node is going away, waits up to timeout
// for the message to go out (zero waits as long as it takes), then shuts
// down as Shutdown does. The others drop this node as soon as the message
// reaches them instead of waiting for the failure detector. The error
// reports a timeout; the node is shut down either way. Calls after the
// first return nil.
func (m *Membership) Leave(timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing.Swap(true) {
		return nil
	}
	// Stop rejoin first: a Join after Leave would announce us alive again.
	// Stop watch too, so that OnChange never sees the set without us.
	m.stopLocked()
	err := m.ml.Leave(timeout)
	if err != nil {
		err = fmt.Errorf("membership: leave: %w", err)
	} else {
		m.log.Info("left the cluster")
	}
	if serr := m.ml.Shutdown(); serr != nil && err == nil {
		err = fmt.Errorf("membership: shutdown: %w", serr)
	}
	return err
}

// Shutdown stops gossip without telling the others, who then detect the
// node as failed (see the package comment); prefer Leave. OnChange is not
// called after Shutdown returns. Shutdown waits for a join attempt in
// progress, which takes up to memberlist's TCP timeout (10 s) per seed that
// does not answer. A probe that memberlist has in flight is not waited for:
// it ends by itself within one probe interval (1 s by default). Calls after
// the first return nil.
func (m *Membership) Shutdown() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing.Swap(true) {
		return nil
	}
	m.stopLocked()
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("membership: shutdown: %w", err)
	}
	return nil
}

// stopLocked stops watch and rejoin and waits for them; rejoin may be in
// the middle of a Join, which takes up to the TCP timeout per seed.
func (m *Membership) stopLocked() {
	close(m.stop)
	m.wg.Wait()
}

// watch publishes the URL set now and after each burst of membership
// events, until stop is closed.
func (m *Membership) watch() {
	defer m.wg.Done()
	var last []string
	publish := func() {
		urls := m.URLs()
		if last != nil && slices.Equal(urls, last) {
			return
		}
		m.changes.Add(1)
		m.log.Info("members changed", "peers", len(urls), "was", len(last))
		last = urls
		if m.cfg.OnChange != nil {
			m.cfg.OnChange(slices.Clone(urls))
		}
	}
	publish()
	for {
		select {
		case <-m.stop:
			return
		case <-m.notify:
		}
		settle := time.NewTimer(m.cfg.Settle)
		select {
		case <-m.stop:
			settle.Stop()
			return
		case <-settle.C:
		}
		// Drain the event that may have come in while settling before
		// reading the members, not after: an event that lands between the
		// read and the drain would otherwise be dropped, and its change
		// published only with the next event, maybe never. An event sent
		// while OnChange runs is such a one (TestWatchCoalesces).
		select {
		case <-m.notify:
		default:
		}
		publish()
	}
}

// rejoin joins the seeds whenever this node is alone: at start, after a
// failed join (with backoff), and if all the others are lost later.
func (m *Membership) rejoin() {
	defer m.wg.Done()
	minWait := m.cfg.JoinBackoff
	maxWait := maxBackoffFactor * minWait
	backoff := minWait
	timer := time.NewTimer(0) // first try at once
	defer timer.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-timer.C:
		}
		if m.ml.NumMembers() > 1 {
			backoff = minWait
			timer.Reset(maxWait)
			continue
		}
		n, err := m.ml.Join(m.cfg.Join)
		switch {
		case err != nil:
			m.log.Warn("cannot join the cluster, will retry", "seeds", m.cfg.Join, "retry_in", backoff, "err", err)
		case m.ml.NumMembers() > 1:
			m.log.Info("joined the cluster", "seeds_reached", n, "members", m.ml.NumMembers())
			backoff = minWait
			timer.Reset(maxWait)
			continue
		default:
			// Only reached ourselves, or seeds that are alone too and
			// will show up by gossip shortly.
			m.log.Debug("joined no other member", "seeds", m.cfg.Join, "retry_in", backoff)
		}
		timer.Reset(backoff)
		backoff = min(2*backoff, maxWait)
	}
}

// metaDelegate is the memberlist.Delegate that publishes the peer URL as
// node metadata; it sends no user messages and no state.
type metaDelegate string

func (d metaDelegate) NodeMeta(limit int) []byte                  { return []byte(d) }
func (d metaDelegate) NotifyMsg([]byte)                           {}
func (d metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d metaDelegate) LocalState(join bool) []byte                { return nil }
func (d metaDelegate) MergeRemoteState(buf []byte, join bool)     {}
