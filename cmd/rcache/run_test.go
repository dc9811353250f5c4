package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that the node's log and the test can share.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRun runs a node with args (plus loopback addresses on free ports)
// until the test ends, and returns its client address and its log. The
// cleanup stops it and checks that run returns nil.
func startRun(t *testing.T, env lookupEnv, args ...string) (addr string, log *syncBuffer) {
	t.Helper()
	log = new(syncBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	args = append(args, "--addr", "127.0.0.1:0", "--peer-addr", "127.0.0.1:0")
	go func() {
		done <- run(ctx, args, env, log, func(respAddr, _ string) { ready <- respAddr })
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run(%q) = %v before serving\n%s", args, err, log)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run(%q) = %v after cancel, want nil\n%s", args, err, log)
		}
	})
	return addr, log
}

// get sends GET key over a raw RESP exchange and returns the reply as sent.
func get(t *testing.T, addr, key string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(key), key); err != nil {
		t.Fatalf("send GET %s: %v", key, err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply to GET %s: %v", key, err)
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		body, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply to GET %s: %v", key, err)
		}
		line += body
	}
	return line
}

// TestRunSQLiteExample runs examples/sqlite.yaml, on a database made from
// examples/scores.sql as the README makes it, and GETs scores:Tom.
func TestRunSQLiteExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yaml, err := os.ReadFile("../../examples/sqlite.yaml")
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	// The copy names scores.db, relative to it: dir/scores.db.
	conf := filepath.Join(dir, "sqlite.yaml")
	if err := os.WriteFile(conf, yaml, 0o644); err != nil {
		t.Fatalf("copy example: %v", err)
	}
	script, err := os.ReadFile("../../examples/scores.sql")
	if err != nil {
		t.Fatalf("read scores.sql: %v", err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "scores.db"))
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	_, err = db.Exec(string(script))
	db.Close()
	if err != nil {
		t.Fatalf("run scores.sql: %v", err)
	}

	addr, _ := startRun(t, mapEnv(nil), "--config", conf)
	for key, want := range map[string]string{
		"scores:Tom":    "$3\r\n630\r\n",
		"scores:Jack":   "$3\r\n589\r\n",
		"scores:Nobody": "$-1\r\n",
	} {
		if got := get(t, addr, key); got != want {
			t.Errorf("GET %s = %q, want %q", key, got, want)
		}
	}
}

// TestRunFilesExample runs examples/files.yaml as it is.
func TestRunFilesExample(t *testing.T) {
	t.Parallel()
	addr, log := startRun(t, mapEnv(nil), "--config", "../../examples/files.yaml")
	if got, want := get(t, addr, "scores:Tom"), "$3\r\n630\r\n"; got != want {
		t.Errorf("GET scores:Tom = %q, want %q", got, want)
	}
	if !strings.Contains(log.String(), "origin=file") {
		t.Errorf("log does not name the origin kind:\n%s", log)
	}
}

// TestRunGroupFlags runs the --group SOURCE forms that need no server.
func TestRunGroupFlags(t *testing.T) {
	t.Parallel()
	addr, _ := startRun(t, mapEnv(nil), "--group", "f=file:../../examples/files", "--max-memory", "1mb")
	if got, want := get(t, addr, "f:Sam"), "$3\r\n567\r\n"; got != want {
		t.Errorf("GET f:Sam = %q, want %q", got, want)
	}
	if got, want := get(t, addr, "scores:Tom"), "$-1\r\n"; got != want {
		t.Errorf("GET scores:Tom = %q, want %q: with a --group, no demo group", got, want)
	}
}

// TestRunHTTPHeaderSecret runs an HTTP origin whose Authorization header
// comes from the environment: the origin sees it, and the log never does.
func TestRunHTTPHeaderSecret(t *testing.T) {
	t.Parallel()
	const token = "Bearer s3cret-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, strings.TrimPrefix(r.URL.Path, "/scores/"))
	}))
	t.Cleanup(srv.Close)
	conf := filepath.Join(t.TempDir(), "http.yaml")
	data := fmt.Sprintf("log_level: debug\ngroups:\n  - name: api\n    origin:\n      http:\n        url: %s/scores/{key}\n"+
		"        headers: {Authorization: {env: API_TOKEN}}\n", srv.URL)
	if err := os.WriteFile(conf, []byte(data), 0o644); err != nil {
		t.Fatalf("write config: %v", err)
	}
	addr, log := startRun(t, mapEnv(map[string]string{"API_TOKEN": token}), "--config", conf)
	if got, want := get(t, addr, "api:hello"), "$5\r\nhello\r\n"; got != want {
		t.Errorf("GET api:hello = %q, want %q", got, want)
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Errorf("the log holds the header's value:\n%s", log)
	}
}

// TestRunStartupErrors checks that bad configurations stop run before it
// serves, with an error that says why.
func TestRunStartupErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
		return path
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"--config", write("typo.yaml", "groups:\n  - name: s\n    ttll: 1m\n    origin: {demo: {}}\n")},
			`typo.yaml:3: unknown key "ttll" in group`},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"missing env", []string{"--config", write("env.yaml", "requirepass_env: RCACHE_TEST_UNSET\n")},
			"environment variable RCACHE_TEST_UNSET is not set"},
		{"missing database", []string{"--config", write("db.yaml", "groups:\n  - name: s\n    origin:\n      sqlite: {path: none.db, query: \"SELECT 1 WHERE ? IS NOT NULL\"}\n")},
			`db.yaml:2: group "s": origin: sqlite open`},
		{"self not in peers", []string{"--peers", "http://127.0.0.1:9"}, "must include this node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(tt.args, "--addr", "127.0.0.1:0", "--peer-addr", "127.0.0.1:0")
			err := run(context.Background(), args, mapEnv(nil), io.Discard, func(string, string) {
				t.Errorf("run(%q) started serving", args)
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", args, err, tt.want)
			}
		})
	}
}
