package main

import (
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rcache/rcache/config"
)

// mapEnv is an environment for resolve: the variables in m, and no others.
func mapEnv(m map[string]string) lookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// load parses the config file text data as rcache.yaml and the command line
// args, as run does.
func load(t *testing.T, data string, args ...string) (*options, *config.File) {
	t.Helper()
	f, err := config.Parse("rcache.yaml", []byte(data))
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	o, err := parseFlags(append([]string{"--config", "rcache.yaml"}, args...), io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", args, err)
	}
	return o, f
}

const precedenceFile = `
addr: 127.0.0.1:7000
peer_addr: 127.0.0.1:7001
peers: [http://127.0.0.1:7001, http://127.0.0.1:7002]
requirepass: from-file
max_memory: 32mb
log_level: warn
groups:
  - name: scores
    ttl: 10m
    origin: {demo: {}}
  - name: big
    max_memory: 1gb
    load_timeout: 3s
    max_origin_calls: 5
    origin: {file: {dir: /srv/data}}
`

func TestResolveFileOnly(t *testing.T) {
	t.Parallel()
	o, f := load(t, precedenceFile)
	n, err := resolve(o, f, mapEnv(nil))
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if n.addr != "127.0.0.1:7000" || n.peerAddr != "127.0.0.1:7001" || n.self != "" || n.requirePass != "from-file" ||
		n.maxMemory != 32<<20 || n.logLevel != slog.LevelWarn {
		t.Errorf("node = %+v, want the file's settings", n)
	}
	if !slices.Equal(n.peers, []string{"http://127.0.0.1:7001", "http://127.0.0.1:7002"}) {
		t.Errorf("peers = %v, want the file's", n.peers)
	}
	if len(n.groups) != 2 {
		t.Fatalf("groups = %+v, want the file's two", n.groups)
	}
	if g := n.groups[0]; g.name != "scores" || g.cacheBytes != 32<<20 || g.ttl != 10*time.Minute || g.origin.kind != "demo" ||
		g.where != `rcache.yaml:9: group "scores"` {
		t.Errorf("group scores = %+v, want the node's budget and a 10m TTL", g)
	}
	if g := n.groups[1]; g.cacheBytes != 1<<30 || g.loadTimeout != 3*time.Second || g.maxOriginCalls != 5 ||
		g.origin.file == nil || g.origin.file.Dir != "/srv/data" {
		t.Errorf("group big = %+v, want its own budget, load timeout and origin calls", g)
	}
}

func TestResolveFlagsOverrideFile(t *testing.T) {
	t.Parallel()
	o, f := load(t, precedenceFile,
		"--addr", "127.0.0.1:6390", "--peers", "http://127.0.0.1:7001",
		"--requirepass", "from-flag", "--max-memory", "1mb", "--log-level", "debug",
		"--group", "scores=file:/tmp", "--group", "extra=demo")
	n, err := resolve(o, f, mapEnv(nil))
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if n.addr != "127.0.0.1:6390" || n.requirePass != "from-flag" || n.maxMemory != 1<<20 || n.logLevel != slog.LevelDebug {
		t.Errorf("node = %+v, want the flags' settings", n)
	}
	if n.peerAddr != "127.0.0.1:7001" {
		t.Errorf("peer addr = %q, want the file's (no --peer-addr given)", n.peerAddr)
	}
	if !slices.Equal(n.peers, []string{"http://127.0.0.1:7001"}) {
		t.Errorf("peers = %v, want the flag's", n.peers)
	}
	var names []string
	for _, g := range n.groups {
		names = append(names, g.name+"="+g.origin.kind)
	}
	if want := []string{"scores=file", "big=file", "extra=demo"}; !slices.Equal(names, want) {
		t.Errorf("groups = %v, want %v (--group replaces the file's scores, adds extra)", names, want)
	}
	if g := n.groups[0]; g.ttl != 0 || g.cacheBytes != 1<<20 || g.where != "--group scores" {
		t.Errorf("replaced group = %+v, want the --group's settings", g)
	}
	if g := n.groups[1]; g.cacheBytes != 1<<30 {
		t.Errorf("group big budget = %d, want its own 1 GiB (--max-memory sets the node default)", g.cacheBytes)
	}
}

func TestResolveDefaults(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	n, err := resolve(o, nil, mapEnv(nil))
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if n.addr != "127.0.0.1:6380" || n.peerAddr != "127.0.0.1:8001" || n.maxMemory != 64<<20 || n.requirePass != "" {
		t.Errorf("node = %+v, want the flags' defaults", n)
	}
	if len(n.groups) != 1 || n.groups[0].name != "scores" || n.groups[0].origin.kind != "demo" {
		t.Errorf("groups = %+v, want scores=demo", n.groups)
	}

	// A config file without groups serves the default cache alone.
	o, f := load(t, "addr: 127.0.0.1:7000\n")
	if n, err = resolve(o, f, mapEnv(nil)); err != nil || len(n.groups) != 0 {
		t.Errorf("resolve(file without groups) = %+v, %v, want no groups", n, err)
	}
}

const envFile = `
requirepass_env: RCACHE_PASSWORD
groups:
  - name: api
    origin:
      http:
        url: http://127.0.0.1:9000/{key}
        headers:
          Authorization: {env: API_TOKEN}
          X-Team: {value: cache}
  - name: pg
    origin:
      postgres: {dsn_env: RCACHE_PG_DSN, query: "SELECT v FROM t WHERE k = $1"}
`

func TestResolveEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"RCACHE_PASSWORD": "pass-secret",
		"API_TOKEN":       "Bearer token-secret",
		"RCACHE_PG_DSN":   "postgres://u:dsn-secret@db/app",
	}
	o, f := load(t, envFile)
	n, err := resolve(o, f, mapEnv(env))
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if n.requirePass != "pass-secret" {
		t.Errorf("requirepass = %q, want the environment's", n.requirePass)
	}
	h := n.groups[0].origin.http
	if h == nil || h.Headers["Authorization"] != "Bearer token-secret" || h.Headers["X-Team"] != "cache" || h.Group != "api" {
		t.Errorf("http origin = %+v, want the token from the environment", h)
	}
	if p := n.groups[1].origin.postgres; p == nil || p.DSN != env["RCACHE_PG_DSN"] {
		t.Errorf("postgres origin = %+v, want the DSN from the environment", p)
	}

	// Each variable missing in turn, then set but empty: the error names
	// the variable and quotes no value.
	for _, missing := range []string{"RCACHE_PASSWORD", "API_TOKEN", "RCACHE_PG_DSN"} {
		for _, empty := range []bool{false, true} {
			partial := make(map[string]string)
			for k, v := range env {
				if k != missing {
					partial[k] = v
				} else if empty {
					partial[k] = ""
				}
			}
			_, err := resolve(o, f, mapEnv(partial))
			if err == nil || !strings.Contains(err.Error(), "environment variable "+missing) {
				t.Errorf("resolve without %s (empty %v) = %v, want an error naming it", missing, empty, err)
				continue
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("resolve without %s = %v, which quotes a value", missing, err)
			}
		}
	}

	// --requirepass on the command line wins: the variable is not needed.
	o, f = load(t, "requirepass_env: RCACHE_PASSWORD\n", "--requirepass", "p")
	if n, err := resolve(o, f, mapEnv(nil)); err != nil || n.requirePass != "p" {
		t.Errorf("resolve with --requirepass = %+v, %v, want the flag's password", n, err)
	}
}

func TestClusterURLs(t *testing.T) {
	t.Parallel()
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 43210}
	tests := []struct {
		name, self, peerAddr string
		peers                []string
		wantSelf             string
		wantPeers            []string
		wantErr              string
	}{
		{name: "defaults", peerAddr: "127.0.0.1:8001",
			wantSelf: "http://127.0.0.1:8001", wantPeers: []string{"http://127.0.0.1:8001"}},
		{name: "port 0 takes the bound port", peerAddr: "127.0.0.1:0",
			wantSelf: "http://127.0.0.1:43210", wantPeers: []string{"http://127.0.0.1:43210"}},
		{name: "host kept as written", peerAddr: "localhost:8001",
			wantSelf: "http://localhost:8001", wantPeers: []string{"http://localhost:8001"}},
		{name: "explicit self and peers", self: "http://a:1/", peerAddr: "127.0.0.1:0", peers: []string{"http://a:1", "http://b:1/"},
			wantSelf: "http://a:1", wantPeers: []string{"http://a:1", "http://b:1"}},
		{name: "self not in peers", peerAddr: "127.0.0.1:8001", peers: []string{"http://127.0.0.1:9"},
			wantErr: "must include this node (http://127.0.0.1:8001)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			self, peers, err := clusterURLs("http", tt.self, tt.peers, tt.peerAddr, bound)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("clusterURLs = %q, %q, %v, want an error containing %q", self, peers, err, tt.wantErr)
				}
				return
			}
			if err != nil || self != tt.wantSelf || !slices.Equal(peers, tt.wantPeers) {
				t.Errorf("clusterURLs = %q, %q, %v, want %q, %q", self, peers, err, tt.wantSelf, tt.wantPeers)
			}
		})
	}
}

func TestAccessFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"--maxclients", "7", "--protected-mode=false", "--peer-secret", "s3cret"}, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	n, err := resolve(o, nil, mapEnv(map[string]string{"RCACHE_PEER_SECRET": "from-env"}))
	if err != nil || n.maxClients != 7 || !n.allowRemote || n.peerSecret != "s3cret" {
		t.Errorf("resolve = %+v, %v; want maxclients 7, protected mode off, the flag's secret", n, err)
	}
	o, _ = parseFlags(nil, io.Discard)
	n, err = resolve(o, nil, mapEnv(map[string]string{"RCACHE_PEER_SECRET": "from-env"}))
	if err != nil || n.allowRemote || n.peerSecret != "from-env" {
		t.Errorf("resolve without flags = %+v, %v; want protected mode on and the secret from RCACHE_PEER_SECRET", n, err)
	}
}
