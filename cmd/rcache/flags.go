package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/rcache/rcache/config"
)

// options are the parsed command line: every flag's value (its default
// when it was not given), and which flags were given.
type options struct {
	config      string // --config: the configuration file, or ""
	addr        string
	peerAddr    string
	self        string // "" : http://<peer-addr>
	peers       []string
	groups      []flagGroup
	maxMemory   int64
	requirePass string
	logLevel    slog.Level

	maxClients    int
	protectedMode bool
	peerSecret    string

	cliOnly

	set map[string]bool // the flags given on the command line, by name
}

// cliOnly are the settings only the command line gives (the config file
// has no keys for them); resolve hands them to the node as they are.
type cliOnly struct {
	// Membership: at most one of peers, gossip (join/gossipAddr) and
	// peersDNS.
	join            []string
	gossipAddr      string
	gossipAdvertise string
	gossipKey       []byte // decoded; also from $RCACHE_GOSSIP_KEY (see resolve); never logged
	peersDNS        string // "name:port"
	handoffKeys     int
	handoffWindow   time.Duration // 0: off
	peerStreams     bool          // false: every peer request is one HTTP request

	metricsAddr string // "" : /metrics and the status page on the peer port

	tls tlsOptions

	idleTimeout  time.Duration
	keepAlive    time.Duration
	writeTimeout time.Duration
}

// tlsOptions are the --tls-* flags: one certificate for both ports.
type tlsOptions struct {
	cert, key  string // PEM files; both or neither
	ca         string // PEM file of the CA that signs peers' (and clients') certificates
	authClient bool   // RESP clients must present a certificate signed by ca
}

// flagGroup is one --group NAME=SOURCE.
type flagGroup struct {
	name   string
	origin config.Origin
}

const usage = `Usage: rcache [flags]

rcache is a distributed read-through cache that speaks the Redis protocol.
With no flags it serves the demo group "scores" on 127.0.0.1:6380:

  redis-cli -p 6380 GET scores:Tom

Keys are "group:key"; a key without a configured group prefix lives in the
plain default cache (no origin: a miss is nil).

--config reads the node's settings and its groups from a YAML file (see
examples/ in the repository); a flag given on the command line overrides
the file's setting, and a --group replaces the file's group of that name.
Without --config or --group, the node serves the group scores=demo.

Flags:
`

const usageSources = `
SOURCE, the origin of a --group, is one of:
  demo                      the embedded scores (Tom, Jack, Sam) behind a slow origin
  http(s)://host:port/path/{key}
                            GET the URL; {key} (and {group}) are escaped into it;
                            200 is the value, 404 not found, anything else an error
  sqlite:PATH?query=QUERY   an SQLite database, opened read-only; QUERY is URL-encoded
                            and has one ? for the key, e.g.
                            'sqlite:scores.db?query=SELECT+score+FROM+scores+WHERE+name=?'
  file:DIR                  the files under DIR: the key is a path, the file the value
  postgres://USER@HOST:PORT/DB?sslmode=disable&query=QUERY
                            PostgreSQL; QUERY is URL-encoded and has $1 for the key.
                            No password on the command line: give it in PGPASSWORD or
                            ~/.pgpass, or use a config file whose dsn_env names a variable
A group's TTL, load timeout, origin limits and HTTP headers are set in a config file.

Three nodes on one machine (and likewise :6381/:8002, :6382/:8003):
  rcache --addr 127.0.0.1:6380 --peer-addr 127.0.0.1:8001 \
    --peers http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003 \
    --group 'scores=http://127.0.0.1:9000/scores/{key}'
`

// parseFlags parses and checks the command line. It reads no files.
func parseFlags(args []string, out io.Writer) (*options, error) {
	fs := flag.NewFlagSet("rcache", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
		fmt.Fprint(out, usageSources)
	}
	o := &options{set: make(map[string]bool)}
	var peers, maxMemory, logLevel, join, gossipKey string
	var groups []string
	fs.StringVar(&o.config, "config", "", "read settings and groups from the YAML `file`; flags given override it")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:6380", "`host:port` for Redis clients")
	fs.StringVar(&o.peerAddr, "peer-addr", "127.0.0.1:8001", "`host:port` for the peer protocol (HTTP)")
	fs.StringVar(&o.self, "self", "", "this node's `URL` as peers reach it (default http://<peer-addr>)")
	fs.StringVar(&peers, "peers", "", "comma-separated peer `URLs`, this node included (default: this node alone)")
	fs.Func("group", "a group as `NAME=SOURCE` (repeatable; default scores=demo without --config)", func(s string) error {
		groups = append(groups, s)
		return nil
	})
	fs.StringVar(&maxMemory, "max-memory", "64mb", "memory `budget` of the default group and of each group (e.g. 512kb, 64mb, 1gb; 0: no limit)")
	fs.StringVar(&o.requirePass, "requirepass", "", "require clients to AUTH with this `password`")
	fs.StringVar(&logLevel, "log-level", "info", "`level` of logging: debug, info, warn or error")
	fs.IntVar(&o.maxClients, "maxclients", 0, "most client `connections` open at once (0: 10000)")
	fs.BoolVar(&o.protectedMode, "protected-mode", true, "without --requirepass, accept clients only from loopback (--protected-mode=false to allow all)")
	fs.StringVar(&o.peerSecret, "peer-secret", "", "shared `secret` that peers must present (default: $RCACHE_PEER_SECRET; empty: peers are not authenticated)")
	fs.StringVar(&join, "join", "", "join a gossip cluster through these comma-separated `host:port` seeds (any live members)")
	fs.StringVar(&o.gossipAddr, "gossip-addr", "", "`ip:port` for gossip membership (default 0.0.0.0:7946 when --join is given)")
	fs.StringVar(&o.gossipAdvertise, "gossip-advertise", "", "`ip:port` other members reach this node's gossip at (default: --gossip-addr)")
	fs.StringVar(&gossipKey, "gossip-key", "", "base64 `key` of 16, 24 or 32 bytes that encrypts gossip (default: $RCACHE_GOSSIP_KEY; empty: unencrypted)")
	fs.StringVar(&o.peersDNS, "peers-dns", "", "find peers by resolving this `name:port` every 5 s (e.g. a Kubernetes headless Service)")
	fs.IntVar(&o.handoffKeys, "handoff-keys", 10000, "at shutdown, push at most this many of each group's hottest `entries` to their new owners (0: none)")
	fs.DurationVar(&o.handoffWindow, "handoff-window", 30*time.Second, "after a ring change, a new owner asks a key's previous owner's memory before its origin for this `duration` (0: never)")
	fs.BoolVar(&o.peerStreams, "peer-streams", true, "send Gets to peers on one upgraded connection per peer (false: one HTTP request each)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "`host:port` for /metrics and the status page (default: on --peer-addr)")
	fs.StringVar(&o.tls.cert, "tls-cert", "", "serve clients and peers over TLS with this PEM certificate `file` (with --tls-key)")
	fs.StringVar(&o.tls.key, "tls-key", "", "PEM private key `file` of --tls-cert")
	fs.StringVar(&o.tls.ca, "tls-ca", "", "PEM `file` of the CA that signs peers' certificates (and clients' with --tls-auth-clients)")
	fs.BoolVar(&o.tls.authClient, "tls-auth-clients", false, "require Redis clients to present a certificate signed by --tls-ca")
	fs.DurationVar(&o.idleTimeout, "timeout", 0, "close a client connection idle for this `duration` (0: never), like Redis's timeout")
	fs.DurationVar(&o.keepAlive, "tcp-keepalive", 0, "TCP keepalive `period` of client connections (0: 300s; negative: off), like Redis's tcp-keepalive")
	fs.DurationVar(&o.writeTimeout, "write-timeout", 0, "close a client that takes no 128 KiB of its replies for this `duration` (0: 30s; negative: never)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see rcache -h)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	var err error
	if o.maxMemory, err = config.ParseBytes(maxMemory); err != nil {
		return nil, fmt.Errorf("--max-memory: %w", err)
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return nil, fmt.Errorf("--addr: %w", err)
	}
	if _, _, err := net.SplitHostPort(o.peerAddr); err != nil {
		return nil, fmt.Errorf("--peer-addr: %w", err)
	}
	if o.set["self"] {
		if err := config.CheckPeerURL(o.self); err != nil {
			return nil, fmt.Errorf("--self: %w", err)
		}
	}
	for _, p := range strings.Split(peers, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if err := config.CheckPeerURL(p); err != nil {
			return nil, fmt.Errorf("--peers: %w", err)
		}
		o.peers = append(o.peers, p)
	}
	if err := o.parseMembership(join, gossipKey); err != nil {
		return nil, err
	}
	if err := o.tls.check(); err != nil {
		return nil, err
	}
	if o.handoffKeys < 0 {
		return nil, fmt.Errorf("--handoff-keys: negative count %d", o.handoffKeys)
	}
	if o.handoffWindow < 0 {
		return nil, fmt.Errorf("--handoff-window: negative duration %s", o.handoffWindow)
	}
	if o.idleTimeout < 0 {
		return nil, fmt.Errorf("--timeout: negative duration %s", o.idleTimeout)
	}
	if o.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.metricsAddr); err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	seen := make(map[string]bool)
	for _, s := range groups {
		name, source, ok := strings.Cut(s, "=")
		if !ok || name == "" || source == "" {
			// Quote no more than the name: a SOURCE may hold a secret.
			return nil, fmt.Errorf("--group %q: want NAME=SOURCE", name)
		}
		if err := config.CheckGroupName(name); err != nil {
			return nil, fmt.Errorf("--group %s: %w", name, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("--group %s: the name is taken", name)
		}
		seen[name] = true
		orig, err := parseSource(source)
		if err != nil {
			return nil, fmt.Errorf("--group %s: %w", name, err)
		}
		o.groups = append(o.groups, flagGroup{name: name, origin: orig})
	}
	return o, nil
}

// parseMembership checks the membership flags: gossip, DNS discovery and a
// static --peers list exclude one another.
func (o *options) parseMembership(join, gossipKey string) error {
	for _, j := range strings.Split(join, ",") {
		if j = strings.TrimSpace(j); j == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(j); err != nil {
			return fmt.Errorf("--join: %w", err)
		}
		o.join = append(o.join, j)
	}
	gossip := len(o.join) > 0 || o.gossipAddr != ""
	var ways []string
	if len(o.peers) > 0 {
		ways = append(ways, "--peers")
	}
	if gossip {
		ways = append(ways, "--join/--gossip-addr")
	}
	if o.peersDNS != "" {
		ways = append(ways, "--peers-dns")
	}
	if len(ways) > 1 {
		return fmt.Errorf("%s: choose one way to find peers", strings.Join(ways, " and "))
	}
	if !gossip && (o.gossipAdvertise != "" || gossipKey != "") {
		return errors.New("--gossip-advertise and --gossip-key need --join or --gossip-addr")
	}
	for flag, addr := range map[string]string{"--gossip-addr": o.gossipAddr, "--gossip-advertise": o.gossipAdvertise} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	if gossip && o.gossipAddr == "" {
		o.gossipAddr = "0.0.0.0:7946"
	}
	if o.peersDNS != "" {
		host, port, err := net.SplitHostPort(o.peersDNS)
		if err == nil && (host == "" || port == "") {
			err = errors.New("want name:port")
		}
		if err != nil {
			return fmt.Errorf("--peers-dns: %w", err)
		}
	}
	if gossipKey != "" {
		key, err := decodeGossipKey(gossipKey)
		if err != nil {
			return fmt.Errorf("--gossip-key: %w", err)
		}
		o.gossipKey = key
	}
	return nil
}

// decodeGossipKey decodes a base64 gossip encryption key of 16, 24 or 32
// bytes (AES-128, -192 or -256). Errors never quote the key.
func decodeGossipKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not base64")
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("%d bytes, want 16, 24 or 32", len(key))
}

// check reports flags given without their partners.
func (t tlsOptions) check() error {
	if (t.cert == "") != (t.key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if t.authClient && t.ca == "" {
		return errors.New("--tls-auth-clients needs --tls-ca")
	}
	if t.cert == "" && (t.ca != "" || t.authClient) {
		return errors.New("--tls-ca and --tls-auth-clients need --tls-cert and --tls-key")
	}
	return nil
}
