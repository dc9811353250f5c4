package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(no flags): %v", err)
	}
	if o.addr != "127.0.0.1:6380" || o.peerAddr != "127.0.0.1:8001" || o.self != "" || o.config != "" {
		t.Errorf("defaults: addr %q peer-addr %q self %q config %q", o.addr, o.peerAddr, o.self, o.config)
	}
	if len(o.peers) != 0 || len(o.groups) != 0 || len(o.set) != 0 {
		t.Errorf("defaults: peers %v groups %v set %v, want none", o.peers, o.groups, o.set)
	}
	if o.maxMemory != 64<<20 || o.logLevel != slog.LevelInfo {
		t.Errorf("defaults: max memory %d log level %v, want 64 MiB and info", o.maxMemory, o.logLevel)
	}

	o, err = parseFlags([]string{
		"--config", "rcache.yaml",
		"--addr", "127.0.0.1:7000", "--peer-addr", "127.0.0.1:9001",
		"--peers", "http://127.0.0.1:9001, http://127.0.0.1:9002/",
		"--group", "a=demo", "--group", "b=http://127.0.0.1:1/x/{key}",
		"--max-memory", "1mb", "--log-level", "debug",
	}, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if o.config != "rcache.yaml" || o.addr != "127.0.0.1:7000" || o.peerAddr != "127.0.0.1:9001" {
		t.Errorf("config %q addr %q peer-addr %q", o.config, o.addr, o.peerAddr)
	}
	if !slices.Equal(o.peers, []string{"http://127.0.0.1:9001", "http://127.0.0.1:9002/"}) {
		t.Errorf("peers = %v", o.peers)
	}
	if len(o.groups) != 2 || o.groups[0].name != "a" || o.groups[0].origin.Demo == nil ||
		o.groups[1].name != "b" || o.groups[1].origin.HTTP == nil || o.maxMemory != 1<<20 || o.logLevel != slog.LevelDebug {
		t.Errorf("groups = %+v, max memory %d, log level %v", o.groups, o.maxMemory, o.logLevel)
	}
	var set []string
	for name := range o.set {
		set = append(set, name)
	}
	slices.Sort(set)
	if want := []string{"addr", "config", "group", "log-level", "max-memory", "peer-addr", "peers"}; !slices.Equal(set, want) {
		t.Errorf("flags given = %v, want %v", set, want)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"bad peer url", []string{"--peers", "127.0.0.1:8001"}},
		{"bad self", []string{"--self", "127.0.0.1:8001"}},
		{"group without source", []string{"--group", "a"}},
		{"group without name", []string{"--group", "=demo"}},
		{"unknown source", []string{"--group", "a=ftp://x"}},
		{"duplicate group", []string{"--group", "a=demo", "--group", "a=demo"}},
		{"reserved group name", []string{"--group", "default=demo"}},
		{"colon in group name", []string{"--group", "a:b=demo"}},
		{"sqlite without query", []string{"--group", "a=sqlite:x.db"}},
		{"postgres without query", []string{"--group", "a=postgres://u@h/db"}},
		{"bad memory", []string{"--max-memory", "lots"}},
		{"bad log level", []string{"--log-level", "loud"}},
		{"bad addr", []string{"--addr", "6380"}},
		{"bad peer addr", []string{"--peer-addr", "8001"}},
		{"stray argument", []string{"extra"}},
		{"peers and join", []string{"--peers", "http://127.0.0.1:8001", "--join", "127.0.0.1:7946"}},
		{"peers and dns", []string{"--peers", "http://127.0.0.1:8001", "--peers-dns", "rcache:8001"}},
		{"join and dns", []string{"--join", "127.0.0.1:7946", "--peers-dns", "rcache:8001"}},
		{"bad join", []string{"--join", "7946"}},
		{"bad gossip addr", []string{"--gossip-addr", "7946"}},
		{"dns without port", []string{"--peers-dns", "rcache"}},
		{"gossip key without gossip", []string{"--gossip-key", "AAAAAAAAAAAAAAAAAAAAAA=="}},
		{"gossip key not base64", []string{"--join", "127.0.0.1:7946", "--gossip-key", "not base64!"}},
		{"gossip key of 10 bytes", []string{"--join", "127.0.0.1:7946", "--gossip-key", "AAAAAAAAAAAAAA=="}},
		{"tls cert without key", []string{"--tls-cert", "c.pem"}},
		{"tls ca without cert", []string{"--tls-ca", "ca.pem"}},
		{"tls client auth without ca", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-auth-clients"}},
		{"negative timeout", []string{"--timeout", "-1s"}},
		{"negative handoff keys", []string{"--handoff-keys", "-1"}},
		{"bad metrics addr", []string{"--metrics-addr", "9100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := parseFlags(tt.args, io.Discard); err == nil {
				t.Errorf("parseFlags(%q) succeeded, want an error", tt.args)
			}
		})
	}
}

func TestParseFlagsMembership(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"--join", "10.0.0.1:7946, 10.0.0.2:7946", "--gossip-key", "AAAAAAAAAAAAAAAAAAAAAA=="}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.join, []string{"10.0.0.1:7946", "10.0.0.2:7946"}) || o.gossipAddr != "0.0.0.0:7946" || len(o.gossipKey) != 16 {
		t.Errorf("join %q, gossip addr %q, key of %d bytes; want two seeds, 0.0.0.0:7946 and 16 bytes", o.join, o.gossipAddr, len(o.gossipKey))
	}
	n, err := resolve(&options{cliOnly: cliOnly{gossipAddr: "127.0.0.1:7946"}, set: map[string]bool{}}, nil, func(name string) (string, bool) {
		if name == "RCACHE_GOSSIP_KEY" {
			return "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true
		}
		return "", false
	})
	if err != nil || len(n.gossipKey) != 32 {
		t.Errorf("resolve with $RCACHE_GOSSIP_KEY: key of %d bytes, %v; want 32 bytes", len(n.gossipKey), err)
	}
}

// TestUsage checks that rcache -h mentions --config and every SOURCE form.
func TestUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseFlags(-h) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-config file", "demo", "http(s)://", "sqlite:PATH?query=", "file:DIR", "postgres://", "-max-memory"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rcache -h does not mention %q:\n%s", want, out.String())
		}
	}
}
