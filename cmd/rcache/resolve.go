package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/rcache/rcache/config"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/origin"
)

// lookupEnv looks up an environment variable, as os.LookupEnv does; tests
// pass a map's lookup instead.
type lookupEnv func(name string) (string, bool)

// node is what a node runs with: the configuration file's settings,
// overridden by the flags given on the command line, with each environment
// variable a setting names replaced by its value.
type node struct {
	addr        string
	peerAddr    string
	self        string   // "" : http://<peer-addr>; see clusterURLs
	peers       []string // empty: this node alone
	requirePass string
	maxClients  int
	allowRemote bool   // protected mode off
	peerSecret  string // never logged
	maxMemory   int64
	logLevel    slog.Level
	groups      []groupSpec

	cliOnly
}

// groupSpec is a group to serve.
type groupSpec struct {
	name           string
	where          string // how errors about it begin: "--group scores" or `rcache.yaml:7: group "scores"`
	cacheBytes     int64
	ttl            time.Duration
	ttlJitter      float64       // as group.Config.TTLJitter: 0 default, < 0 off
	negativeTTL    time.Duration // as group.Config.NegativeTTL: 0 default, < 0 off
	hotTTL         time.Duration
	maxStale       time.Duration
	hotProbability float64 // as group.Config.HotProbability: 0 default, < 0 off
	hotRandomOnly  bool
	loadTimeout    time.Duration
	maxOriginCalls int
	origin         originSpec
}

// originSpec is a group's origin, ready to open: the configuration of one
// kind, or none for the demo.
type originSpec struct {
	kind     string // what logs show: "demo", "http", "sqlite", "postgres" or "file"
	http     *origin.HTTPConfig
	sqlite   *origin.SQLiteConfig
	postgres *origin.PostgresConfig
	file     *origin.FileConfig
}

// resolve merges the configuration file f (nil without --config) and the
// command line o, and looks up the environment variables f names with env.
// A flag given on the command line overrides the file's setting; a flag
// not given yields to the file, and its default applies when the file is
// silent too. A --group replaces the file's group of the same name, or adds
// a group. Without a file or a --group, the node serves scores=demo.
//
// An environment variable that is unset or empty is an error that names it;
// no error quotes a value read from the environment.
func resolve(o *options, f *config.File, env lookupEnv) (*node, error) {
	n := &node{
		addr:        o.addr,
		peerAddr:    o.peerAddr,
		self:        o.self,
		peers:       o.peers,
		requirePass: o.requirePass,
		maxMemory:   o.maxMemory,
		logLevel:    o.logLevel,
		maxClients:  o.maxClients,
		allowRemote: !o.protectedMode,
		peerSecret:  o.peerSecret,

		cliOnly: o.cliOnly,
	}
	if n.peerSecret == "" {
		// An environment variable keeps the secret out of ps.
		n.peerSecret, _ = env("RCACHE_PEER_SECRET")
	}
	if n.gossipAddr != "" && n.gossipKey == nil {
		if s, ok := env("RCACHE_GOSSIP_KEY"); ok && s != "" {
			key, err := decodeGossipKey(s)
			if err != nil {
				return nil, fmt.Errorf("$RCACHE_GOSSIP_KEY: %w", err)
			}
			n.gossipKey = key
		}
	}
	if f == nil {
		f = &config.File{}
	}
	// fromFile reports whether the file's setting applies: the flag was not
	// given and the file sets it.
	fromFile := func(flag string, inFile bool) bool { return !o.set[flag] && inFile }
	if fromFile("addr", f.Addr != "") {
		n.addr = f.Addr
	}
	if fromFile("peer-addr", f.PeerAddr != "") {
		n.peerAddr = f.PeerAddr
	}
	if fromFile("self", f.Self != "") {
		n.self = f.Self
	}
	if fromFile("peers", len(f.Peers) > 0) {
		n.peers = f.Peers
	}
	if fromFile("max-memory", f.MaxMemory != nil) {
		n.maxMemory = int64(*f.MaxMemory)
	}
	if fromFile("log-level", f.LogLevel != "") {
		if err := n.logLevel.UnmarshalText([]byte(f.LogLevel)); err != nil {
			return nil, fmt.Errorf("%s: log_level: %w", o.config, err) // Validate let it through: cannot happen
		}
	}
	switch {
	case o.set["requirepass"]:
	case f.RequirePassEnv != "":
		v, err := getenv(env, f.RequirePassEnv)
		if err != nil {
			return nil, fmt.Errorf("%s: requirepass_env: %w", o.config, err)
		}
		n.requirePass = v
	case f.RequirePass != "":
		n.requirePass = f.RequirePass
	}

	for i := range f.Groups {
		g := &f.Groups[i]
		spec := groupSpec{
			name:           g.Name,
			where:          fmt.Sprintf("%s: group %q", g.Pos(), g.Name),
			cacheBytes:     n.maxMemory,
			ttl:            time.Duration(g.TTL),
			ttlJitter:      offOrValue(g.TTLJitter),
			negativeTTL:    time.Duration(offOrValue(g.NegativeTTL)),
			hotTTL:         time.Duration(g.HotTTL),
			maxStale:       time.Duration(g.MaxStale),
			hotProbability: offOrValue(g.HotProbability),
			hotRandomOnly:  g.HotOnRepeat != nil && !*g.HotOnRepeat,
			loadTimeout:    time.Duration(g.LoadTimeout),
			maxOriginCalls: g.MaxOriginCalls,
		}
		if g.MaxMemory != nil {
			spec.cacheBytes = int64(*g.MaxMemory)
		}
		var err error
		if spec.origin, err = originSpecOf(g.Name, &g.Origin, env); err != nil {
			return nil, fmt.Errorf("%s: %w", spec.where, err)
		}
		n.groups = append(n.groups, spec)
	}
	flagGroups := o.groups
	if o.config == "" && len(flagGroups) == 0 {
		flagGroups = []flagGroup{{name: "scores", origin: config.Origin{Demo: &config.DemoOrigin{}}}}
	}
	for _, fg := range flagGroups {
		spec := groupSpec{name: fg.name, where: "--group " + fg.name, cacheBytes: n.maxMemory}
		var err error
		if spec.origin, err = originSpecOf(fg.name, &fg.origin, env); err != nil {
			return nil, fmt.Errorf("%s: %w", spec.where, err)
		}
		replaced := false
		for i := range n.groups {
			if n.groups[i].name == fg.name {
				n.groups[i], replaced = spec, true
			}
		}
		if !replaced {
			n.groups = append(n.groups, spec)
		}
	}
	return n, nil
}

// originSpecOf returns the configuration of the origin o describes for the
// group named name, with the environment variables it names looked up.
func originSpecOf(name string, o *config.Origin, env lookupEnv) (originSpec, error) {
	s := originSpec{kind: o.Kind()}
	switch {
	case o.Demo != nil:
	case o.HTTP != nil:
		h := o.HTTP
		s.http = &origin.HTTPConfig{
			URL:          h.URL,
			Group:        name,
			Timeout:      time.Duration(h.Timeout),
			MaxBodyBytes: int64(h.MaxBodyBytes),
		}
		if len(h.Headers) > 0 {
			s.http.Headers = make(map[string]string, len(h.Headers))
		}
		for _, hd := range h.Headers {
			v := hd.Value
			if hd.Env != "" {
				var err error
				if v, err = getenv(env, hd.Env); err != nil {
					return originSpec{}, fmt.Errorf("header %s: %w", hd.Name, err)
				}
			}
			s.http.Headers[hd.Name] = v
		}
	case o.SQLite != nil:
		q := o.SQLite
		s.sqlite = &origin.SQLiteConfig{
			Path:         q.Path,
			Query:        q.Query,
			MaxOpenConns: q.MaxOpenConns,
			Timeout:      time.Duration(q.Timeout),
		}
	case o.Postgres != nil:
		p := o.Postgres
		s.postgres = &origin.PostgresConfig{
			DSN:      p.DSN,
			Query:    p.Query,
			MaxConns: int32(p.MaxConns), // config.Validate caps it
			Timeout:  time.Duration(p.Timeout),
		}
		if p.DSNEnv != "" {
			var err error
			if s.postgres.DSN, err = getenv(env, p.DSNEnv); err != nil {
				return originSpec{}, fmt.Errorf("dsn_env: %w", err)
			}
		}
	case o.File != nil:
		s.file = &origin.FileConfig{Dir: o.File.Dir, MaxFileBytes: int64(o.File.MaxFileBytes)}
	default:
		return originSpec{}, errors.New("no origin") // config.Validate and parseSource make sure of one
	}
	return s, nil
}

// getenv returns the value of the environment variable name, or an error
// naming it (and never quoting a value) when it is unset or empty.
func getenv(env lookupEnv, name string) (string, error) {
	v, ok := env(name)
	switch {
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set", name)
	case v == "":
		return "", fmt.Errorf("environment variable %s is empty", name)
	}
	return v, nil
}

// openTimeout bounds the opening of one origin: connecting to a database
// and having it check the query.
const openTimeout = 15 * time.Second

// open opens the origin: it opens its file or directory, or connects to its
// database and checks the query. The Closer is nil for an origin that holds
// nothing open.
func (s originSpec) open(ctx context.Context) (group.Getter, io.Closer, error) {
	switch {
	case s.http != nil:
		h, err := origin.NewHTTP(*s.http)
		return h, nil, err
	case s.sqlite != nil:
		db, err := origin.NewSQLite(*s.sqlite)
		if err != nil {
			return nil, nil, err
		}
		return db, db, nil
	case s.postgres != nil:
		ctx, cancel := context.WithTimeout(ctx, openTimeout)
		defer cancel()
		db, err := origin.NewPostgres(ctx, *s.postgres)
		if err != nil {
			return nil, nil, err
		}
		return db, db, nil
	case s.file != nil:
		dir, err := origin.NewFile(*s.file)
		if err != nil {
			return nil, nil, err
		}
		return dir, dir, nil
	}
	return origin.NewDemo(origin.DemoDelay), nil, nil
}

// clusterURLs returns this node's URL and its peers, once the peer listener
// is bound at bound. self defaults to scheme://<peer-addr>, with the port the
// listener was given when peer-addr asked for port 0; peers default to this
// node alone, and must include it. Trailing slashes are dropped.
func clusterURLs(scheme, self string, peers []string, peerAddr string, bound net.Addr) (string, []string, error) {
	if self == "" {
		host, port, err := net.SplitHostPort(peerAddr)
		if err != nil {
			return "", nil, fmt.Errorf("peer address %q: %w", peerAddr, err)
		}
		if port == "0" {
			if _, port, err = net.SplitHostPort(bound.String()); err != nil {
				return "", nil, fmt.Errorf("peer listener %s: %w", bound, err)
			}
		}
		self = scheme + "://" + net.JoinHostPort(host, port)
	}
	self = strings.TrimSuffix(self, "/")
	if len(peers) == 0 {
		return self, []string{self}, nil
	}
	list := make([]string, len(peers))
	found := false
	for i, p := range peers {
		list[i] = strings.TrimSuffix(p, "/")
		found = found || list[i] == self
	}
	if !found {
		return "", nil, fmt.Errorf("the peers must include this node (%s)", self)
	}
	return self, list, nil
}

// offOrValue maps a file setting where nil means "default" and 0 means
// "off" onto group.Config's convention, where 0 means default and a
// negative value off.
func offOrValue[T ~int64 | ~float64](v *T) T {
	switch {
	case v == nil:
		return 0
	case *v == 0:
		return -1
	}
	return *v
}
