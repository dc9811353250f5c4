package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rcache/rcache/cluster/membership"
)

// fleet is how a node learns its peers when they are not listed: gossip
// (--join, --gossip-addr) or DNS (--peers-dns). Its zero value is a static
// member list.
type fleet struct {
	gossip *membership.Membership
	dns    *membership.DNS
}

// leaveTimeout bounds the broadcast of a graceful leave.
const leaveTimeout = 5 * time.Second

// startFleet starts the discovery n asks for, if any; set receives every new
// member list (peer URLs, self included).
func startFleet(ctx context.Context, n *node, self string, set func(urls []string), log *slog.Logger) (*fleet, error) {
	switch {
	case n.gossipAddr != "":
		m, err := membership.Start(membership.Config{
			BindAddr:      n.gossipAddr,
			AdvertiseAddr: n.gossipAdvertise,
			Join:          n.join,
			PeerURL:       self,
			SecretKey:     n.gossipKey,
			OnChange:      set,
			Logger:        log.With("component", "gossip"),
		})
		if err != nil {
			return nil, fmt.Errorf("gossip: %w", err)
		}
		return &fleet{gossip: m}, nil
	case n.peersDNS != "":
		host, portText, err := net.SplitHostPort(n.peersDNS)
		if err != nil {
			return nil, fmt.Errorf("--peers-dns: %w", err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			return nil, fmt.Errorf("--peers-dns: port %q: %w", portText, err)
		}
		scheme := "http"
		if n.tls.cert != "" {
			scheme = "https"
		}
		d, err := membership.StartDNS(ctx, membership.DNSConfig{
			Name:     host,
			Port:     port,
			Scheme:   scheme,
			Self:     self,
			OnChange: set,
			Logger:   log.With("component", "peers-dns"),
		})
		if err != nil {
			return nil, fmt.Errorf("--peers-dns: %w", err)
		}
		return &fleet{dns: d}, nil
	}
	return &fleet{}, nil
}

// leave tells the other members this node is going, so that they stop
// sending it requests, and stops discovery. It is safe to call twice.
func (f *fleet) leave(log *slog.Logger) {
	switch {
	case f.gossip != nil:
		if err := f.gossip.Leave(leaveTimeout); err != nil {
			log.Warn("leave the gossip cluster", "err", err)
		}
	case f.dns != nil:
		f.dns.Stop()
	}
}

// gossipAddr is the address other nodes may --join, or "".
func (f *fleet) gossipAddr() string {
	if f.gossip == nil {
		return ""
	}
	return f.gossip.Addr()
}

// sweeper runs a function some time after the last of a burst of ring
// changes: the drop of the entries this node no longer owns, once the new
// owners have had the hand-off window to ask for them.
type sweeper struct {
	mu      sync.Mutex // guards timer and stopped
	timer   *time.Timer
	stopped bool
}

// schedule runs f after d, in a goroutine of its own, unless schedule is
// called again first (the later call wins) or stop is.
func (s *sweeper) schedule(d time.Duration, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(d, f)
}

// stop cancels the pending run, if any, and every later schedule.
func (s *sweeper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
}
