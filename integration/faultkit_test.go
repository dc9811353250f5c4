package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/ring"
	"github.com/redis/go-redis/v9"
)

// faultGroup is the group the fault tests serve, in front of a faultOrigin.
const faultGroup = "data"

// trueValue is the value a faultOrigin holds for key: distinct for every
// key, 32 KiB for a key that begins with "big", 8 KiB for one that begins
// with "mid", and a short string otherwise. A reply can be checked against
// it without asking the origin.
func trueValue(key string) string {
	size := 0
	switch {
	case strings.HasPrefix(key, "big"):
		size = 32 << 10
	case strings.HasPrefix(key, "mid"):
		size = 8 << 10
	default:
		return "v:" + key
	}
	unit := "<" + key + ">"
	return strings.Repeat(unit, size/len(unit)+1)[:size]
}

// Modes of a faultOrigin.
const (
	originOK    int32 = iota // answer trueValue
	originFail               // answer 500
	originAbort              // panic in the handler: the connection is cut without a response
)

// faultOrigin is an HTTP origin that counts the requests for each key and
// can be made to fail, to cut its connections, to be slow, or to hold every
// request at a gate. It is safe for concurrent use.
type faultOrigin struct {
	srv   *httptest.Server
	delay time.Duration // set before the first request: added to every answer

	mode  atomic.Int32 // originOK, originFail or originAbort
	total atomic.Int64

	mu    sync.Mutex // guards calls and gate
	calls map[string]int
	gate  chan struct{} // when not nil, every request waits for it to close
}

func newFaultOrigin(t *testing.T, delay time.Duration) *faultOrigin {
	t.Helper()
	o := &faultOrigin{calls: make(map[string]int), delay: delay}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(func() {
		o.open()
		o.srv.Close()
	})
	return o
}

func (o *faultOrigin) serve(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/v/")
	o.total.Add(1)
	o.mu.Lock()
	o.calls[key]++
	gate := o.gate
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if o.delay > 0 {
		time.Sleep(o.delay)
	}
	switch o.mode.Load() {
	case originFail:
		http.Error(w, "origin failure", http.StatusInternalServerError)
	case originAbort:
		// net/http recovers this panic, logs nothing and closes the
		// connection without an answer: an origin that crashed mid-request.
		panic(http.ErrAbortHandler)
	default:
		io.WriteString(w, trueValue(key))
	}
}

// hold makes the requests from now on wait until open is called.
func (o *faultOrigin) hold() {
	o.mu.Lock()
	o.gate = make(chan struct{})
	o.mu.Unlock()
}

// open releases the requests held since hold.
func (o *faultOrigin) open() {
	o.mu.Lock()
	if o.gate != nil {
		close(o.gate)
		o.gate = nil
	}
	o.mu.Unlock()
}

func (o *faultOrigin) callsFor(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[key]
}

// snapshot returns a copy of the calls per key.
func (o *faultOrigin) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := make(map[string]int, len(o.calls))
	for k, v := range o.calls {
		m[k] = v
	}
	return m
}

// url is the origin's URL template.
func (o *faultOrigin) url() string { return o.srv.URL + "/v/{key}" }

// faultConfig writes a config file with the group faultGroup in front of
// o, with the given group settings (YAML lines indented by four spaces),
// and returns the --config flags.
func faultConfig(t *testing.T, o *faultOrigin, settings string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rcache.yaml")
	yaml := fmt.Sprintf("groups:\n  - name: %s\n%s    origin:\n      http: {url: %q}\n", faultGroup, settings, o.url())
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return []string{"--config", path}
}

// ringOwner returns the member of urls that a node whose --peers are urls
// sends key to, as cluster/peerhttp's default ring places it.
func ringOwner(urls []string, key string) string {
	m := ring.New(0, nil)
	m.Add(urls...)
	return m.Get(key)
}

// ownerIndex returns the index of the node that owns key in a cluster
// started by startCluster.
func ownerIndex(nodes []*node, key string) int {
	urls := make([]string, len(nodes))
	for i, nd := range nodes {
		urls[i] = "http://" + nd.peerAddr
	}
	return slices.Index(urls, ringOwner(urls, key))
}

// keysOwnedBy returns n keys "prefix0", "prefix1", … that node i of nodes
// owns, skipping the others.
func keysOwnedBy(nodes []*node, i int, prefix string, n int) []string {
	var keys []string
	for j := 0; len(keys) < n; j++ {
		if k := fmt.Sprintf("%s%d", prefix, j); ownerIndex(nodes, k) == i {
			keys = append(keys, k)
		}
	}
	return keys
}

// latencies collects request durations; it is safe for concurrent use.
type latencies struct {
	mu sync.Mutex // guards d
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// pct returns the p-th quantile (0 < p <= 1), nearest rank.
func (l *latencies) pct(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := max(0, int(math.Ceil(p*float64(len(s))))-1)
	return s[i]
}

func (l *latencies) n() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// String is "n=…, p50=…, p99=…, max=…".
func (l *latencies) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", l.n(), r(l.pct(0.5)), r(l.pct(0.99)), r(l.pct(1)))
}

// isReplyError reports whether err is an error reply from the server, as
// opposed to a failure of the connection.
func isReplyError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.Nil)
}

// isConnClosed reports whether err says that the connection was closed or
// refused: what a client of a node that is going away may see.
func isConnClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) || errors.Is(err, redis.ErrClosed)
}

// Modes of a faultProxy connection.
const (
	proxyPass      = iota // pass the first response whole
	proxyCutHeader        // close (FIN) halfway through the first response's header
	proxyCutBody          // close (FIN) halfway through the first response's body
	proxyResetBody        // reset (RST) halfway through the first response's body
	proxyModes
)

var proxyModeNames = [proxyModes]string{"pass", "cut-header", "cut-body", "reset-body"}

// faultProxy is a TCP proxy in front of an HTTP server that carries one
// response per connection. Its connections take the modes in turn: the
// first passes its response, the second cuts it in the header, and so on.
// It is safe for concurrent use.
type faultProxy struct {
	ln     net.Listener
	target string

	conns [proxyModes]atomic.Int64 // accepted connections, by mode
	hits  [proxyModes]atomic.Int64 // responses actually cut, by mode

	wg sync.WaitGroup
}

// startFaultProxy starts a proxy to target, stopped when the test ends.
func startFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &faultProxy{ln: ln, target: target}
	var mu sync.Mutex // guards open
	open := map[net.Conn]bool{}
	track := func(c net.Conn, add bool) {
		mu.Lock()
		if add {
			open[c] = true
		} else {
			delete(open, c)
		}
		mu.Unlock()
	}
	p.wg.Go(func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c, true)
			p.wg.Go(func() {
				defer track(c, false)
				p.serve(c, i%proxyModes)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) serve(client net.Conn, mode int) {
	p.conns[mode].Add(1)
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		io.Copy(server, client)
		server.(*net.TCPConn).CloseWrite()
	}()
	// Read the first response whole (the peer protocol sets
	// Content-Length), then pass on all of it or only part, and close: one
	// response per connection, so that the modes take turns request by
	// request.
	var buf []byte
	chunk := make([]byte, 32<<10)
	headerEnd, length := -1, -1
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	for headerEnd < 0 || len(buf) < headerEnd+length {
		n, err := server.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if headerEnd < 0 {
			if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
				headerEnd = i + 4
				length = contentLength(buf[:headerEnd])
			}
		}
		if err != nil {
			return
		}
	}
	var cut int
	switch mode {
	case proxyPass:
		client.Write(buf)
		return
	case proxyCutHeader:
		cut = headerEnd / 2
	default:
		cut = headerEnd + length/2
	}
	if _, err := client.Write(buf[:cut]); err != nil {
		return
	}
	p.hits[mode].Add(1)
	if mode == proxyResetBody {
		client.(*net.TCPConn).SetLinger(0) // Close sends RST
	}
}

// contentLength returns the Content-Length of an HTTP header, or 0.
func contentLength(header []byte) int {
	for line := range strings.Lines(string(header)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.EqualFold(name, "Content-Length") {
			var n int
			fmt.Sscan(strings.TrimSpace(value), &n)
			return n
		}
	}
	return 0
}

// faults sums the responses the proxy cut.
func (p *faultProxy) faults() int64 {
	var n int64
	for m := proxyPass + 1; m < proxyModes; m++ {
		n += p.hits[m].Load()
	}
	return n
}

// String reports the connections and cut responses by mode.
func (p *faultProxy) String() string {
	var b strings.Builder
	for m := range proxyModes {
		fmt.Fprintf(&b, "%s: %d conns", proxyModeNames[m], p.conns[m].Load())
		if m != proxyPass {
			fmt.Fprintf(&b, " %d cut", p.hits[m].Load())
		}
		if m < proxyModes-1 {
			b.WriteString("; ")
		}
	}
	return b.String()
}
