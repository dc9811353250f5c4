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
