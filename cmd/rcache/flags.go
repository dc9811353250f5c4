package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

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

	set map[string]bool // the flags given on the command line, by name
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
	var peers, maxMemory, logLevel string
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
