// Package integration starts real rcache processes and talks to them the
// way users do: with go-redis, redis-cli and redis-benchmark.
package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// binary is the rcache binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rcache-integration")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "rcache")
	// Not -race: the packages' own tests run under the race detector, and a
	// race-enabled server makes redis-benchmark ten times slower.
	out, err := exec.Command("go", "build", "-o", binary, "../cmd/rcache").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build rcache: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// origin is an HTTP origin that counts the requests for each key.
type origin struct {
	srv *httptest.Server

	mu     sync.Mutex // guards calls and values
	calls  map[string]int
	values map[string]string

	total atomic.Int64
	// gate, when not nil, is waited on by every request before it answers.
	gate chan struct{}
	// failing makes every request answer 500.
	failing atomic.Bool
}

func newOrigin(t *testing.T, values map[string]string) *origin {
	t.Helper()
	o := &origin{calls: make(map[string]int), values: values}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/v/")
	o.total.Add(1)
	o.mu.Lock()
	o.calls[key]++
	v, ok := o.values[key]
	gate := o.gate
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if key == "fail" || o.failing.Load() {
		http.Error(w, "origin failure", http.StatusInternalServerError)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, v)
}

func (o *origin) callsFor(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[key]
}

func (o *origin) set(key, value string) {
	o.mu.Lock()
	o.values[key] = value
	o.mu.Unlock()
}

// url is the --group source for this origin.
func (o *origin) url() string { return o.srv.URL + "/v/{key}" }

// node is one running rcache process.
type node struct {
	addr, peerAddr string
	cmd            *exec.Cmd
	done           chan struct{} // closed when the process has exited
	exitErr        error         // set before done is closed
	stderr         *lockedBuffer
}

// lockedBuffer collects a process's log lines for failure messages.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (l *lockedBuffer) add(line string) {
	l.mu.Lock()
	l.b.WriteString(line + "\n")
	l.mu.Unlock()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddrs returns n loopback addresses that were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var lns []net.Listener
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}

// startCluster starts n nodes that know each other, each with the extra
// flags given, and stops them when the test ends.
func startCluster(t *testing.T, n int, extra ...string) []*node {
	t.Helper()
	addrs := freeAddrs(t, 2*n)
	var peers []string
	for i := range n {
		peers = append(peers, "http://"+addrs[n+i])
	}
	nodes := make([]*node, n)
	for i := range n {
		args := append([]string{
			"--addr", addrs[i], "--peer-addr", addrs[n+i],
			"--peers", strings.Join(peers, ","),
		}, extra...)
		nodes[i] = startNode(t, addrs[i], addrs[n+i], args...)
	}
	return nodes
}

// startNode starts one rcache process and waits until it logs that it is
// serving.
func startNode(t *testing.T, addr, peerAddr string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(binary, args...)
	// If the test binary dies (a timeout, a kill), the nodes die with it
	// instead of living on as orphans.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rcache: %v", err)
	}
	nd := &node{addr: addr, peerAddr: peerAddr, cmd: cmd, done: make(chan struct{}), stderr: &lockedBuffer{}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		signalled := false
		for sc.Scan() {
			nd.stderr.add(sc.Text())
			if !signalled && strings.Contains(sc.Text(), "rcache started") {
				signalled = true
				close(ready)
			}
		}
		nd.exitErr = cmd.Wait()
		close(nd.done)
	}()
	t.Cleanup(func() {
		nd.cmd.Process.Kill()
		<-nd.done
		if t.Failed() {
			t.Logf("log of node %s:\n%s", nd.addr, nd.stderr)
		}
	})
	select {
	case <-ready:
	case <-nd.done:
		t.Fatalf("rcache %v exited before serving: %v\n%s", args, nd.exitErr, nd.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("rcache %v did not start within 30s\n%s", args, nd.stderr)
	}
	return nd
}

// client returns a go-redis client of the node speaking protocol proto
// (2 or 3), closed when the test ends.
func (nd *node) client(t *testing.T, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: nd.addr, Protocol: proto, MaxRetries: -1, PoolSize: 64})
	t.Cleanup(func() { c.Close() })
	return c
}

// stop sends sig to the node and waits for it to exit.
func (nd *node) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := nd.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-nd.done:
		return nd.exitErr
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not exit within 20s of %v", nd.addr, sig)
		return nil
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// protocols runs f once per RESP protocol version.
func protocols(t *testing.T, f func(t *testing.T, proto int)) {
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) { f(t, proto) })
	}
}

// needTool returns the path of a command-line tool, skipping the test on a
// developer's machine without it and failing it in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (apt-get install redis-tools): %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install redis-tools)", name)
	}
	return p
}
