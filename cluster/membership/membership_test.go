package membership

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/goleak"
)

// fastGossip scales memberlist's LAN timings down ten times, so that
// failure detection that takes seconds in production takes a fraction of a
// second here. SuspicionMult stays at its default, so the measured times
// are about a tenth of the LAN ones.
func fastGossip(c *memberlist.Config) {
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 3 * time.Second
	c.GossipToTheDeadTime = 3 * time.Second
	c.TCPTimeout = time.Second
}

// recorder keeps every OnChange call and signals each one.
type recorder struct {
	signal chan struct{} // capacity 1

	mu    sync.Mutex // guards calls
	calls [][]string
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

func (r *recorder) onChange(urls []string) {
	r.mu.Lock()
	r.calls = append(r.calls, urls)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// all returns a copy of the calls so far.
func (r *recorder) all() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recorder) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		return nil
	}
	return r.calls[len(r.calls)-1]
}

// waitFor waits up to limit for the last call to be want.
func (r *recorder) waitFor(want []string, limit time.Duration) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !slices.Equal(r.last(), want) {
		select {
		case <-r.signal:
		case <-deadline.C:
			return fmt.Errorf("after %v OnChange got %v, want %v", limit, r.last(), want)
		}
	}
	return nil
}

// node is one member started by startNode.
type node struct {
	m   *Membership
	rec *recorder
	url string
}

// nodeConfig returns the Config of test node i: gossip on a free port of
// 127.0.0.1 and peer URL http://127.0.0.1:800i (only carried, never dialed).
func nodeConfig(i int, rec *recorder, join ...string) Config {
	return Config{
		Name:        "node" + strconv.Itoa(i),
		BindAddr:    "127.0.0.1:0",
		Join:        join,
		PeerURL:     peerURL(i),
		OnChange:    rec.onChange,
		Settle:      10 * time.Millisecond,
		JoinBackoff: 20 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tune:        fastGossip,
	}
}

func peerURL(i int) string { return "http://127.0.0.1:" + strconv.Itoa(8000+i) }

func urls(ids ...int) []string {
	var u []string
	for _, i := range ids {
		u = append(u, peerURL(i))
	}
	slices.Sort(u)
	return u
}

func startNodeConfig(t *testing.T, cfg Config, rec *recorder) *node {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(); err != nil {
			t.Errorf("Shutdown(%s): %v", cfg.Name, err)
		}
	})
	return &node{m: m, rec: rec, url: cfg.PeerURL}
}

func startNode(t *testing.T, i int, join ...string) *node {
	t.Helper()
	rec := newRecorder()
	return startNodeConfig(t, nodeConfig(i, rec, join...), rec)
}

// converge waits until every node's last OnChange is want, and returns how
// long that took from start.
func converge(t *testing.T, start time.Time, want []string, nodes ...*node) time.Duration {
	t.Helper()
	for _, n := range nodes {
		if err := n.rec.waitFor(want, 10*time.Second); err != nil {
			t.Fatalf("%s: %v", n.url, err)
		}
	}
	return time.Since(start)
}

// checkCalls checks that every OnChange call of n was sorted, distinct,
// included n itself, and differed from the call before, and that Changes
// counts them.
func checkCalls(t *testing.T, n *node) {
	t.Helper()
	calls := n.rec.all()
	for i, c := range calls {
		if !slices.IsSorted(c) || len(slices.Compact(slices.Clone(c))) != len(c) {
			t.Errorf("%s: OnChange call %d = %v, not sorted and distinct", n.url, i, c)
		}
		if !slices.Contains(c, n.url) {
			t.Errorf("%s: OnChange call %d = %v, without self", n.url, i, c)
		}
		if i > 0 && slices.Equal(c, calls[i-1]) {
			t.Errorf("%s: OnChange call %d = %v, same as the one before", n.url, i, c)
		}
	}
	if got := n.m.Changes(); got != uint64(len(calls)) {
		t.Errorf("%s: Changes() = %d, want %d (the OnChange calls)", n.url, got, len(calls))
	}
}

func TestJoinConverges(t *testing.T) {
	n1 := startNode(t, 1)
	if err := n1.rec.waitFor(urls(1), time.Second); err != nil {
		t.Fatalf("first OnChange: %v", err)
	}
	start := time.Now()
	n2 := startNode(t, 2, n1.m.Addr())
	n3 := startNode(t, 3, n1.m.Addr())
	t.Logf("3 nodes converged in %v", converge(t, start, urls(1, 2, 3), n1, n2, n3))

	// The fourth joins through a member that was not anyone's seed.
	start = time.Now()
	n4 := startNode(t, 4, n3.m.Addr())
	t.Logf("4th node converged in %v", converge(t, start, urls(1, 2, 3, 4), n1, n2, n3, n4))

	for _, n := range []*node{n1, n2, n3, n4} {
		checkCalls(t, n)
		if got := n.m.URLs(); !slices.Equal(got, urls(1, 2, 3, 4)) {
			t.Errorf("%s: URLs() = %v, want %v", n.url, got, urls(1, 2, 3, 4))
		}
	}
	members := n1.m.Members()
	if len(members) != 4 {
		t.Fatalf("Members() = %v, want 4", members)
	}
	for i, mb := range members {
		want := Member{Name: "node" + strconv.Itoa(i+1), PeerURL: peerURL(i + 1), Addr: mb.Addr}
		if mb != want {
			t.Errorf("Members()[%d] = %+v, want %+v", i, mb, want)
		}
		if host, _, err := net.SplitHostPort(mb.Addr); err != nil || host != "127.0.0.1" {
			t.Errorf("Members()[%d].Addr = %q, want 127.0.0.1:port", i, mb.Addr)
		}
	}
}

func TestLeave(t *testing.T) {
	n1 := startNode(t, 1)
	n2 := startNode(t, 2, n1.m.Addr())
	n3 := startNode(t, 3, n1.m.Addr())
	converge(t, time.Now(), urls(1, 2, 3), n1, n2, n3)

	start := time.Now()
	if err := n3.m.Leave(time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	t.Logf("leave: others dropped the node in %v", converge(t, start, urls(1, 2), n1, n2))
	if got := n3.m.Addr(); got != "" {
		t.Errorf("Addr() after Leave = %q, want empty", got)
	}
	if err := n3.m.Leave(time.Second); err != nil {
		t.Errorf("second Leave = %v, want nil", err)
	}
	if err := n3.m.Shutdown(); err != nil {
		t.Errorf("Shutdown after Leave = %v, want nil", err)
	}
	if got := n3.rec.last(); !slices.Equal(got, urls(1, 2, 3)) {
		t.Errorf("leaver's last OnChange = %v, want %v (none after Leave)", got, urls(1, 2, 3))
	}
	checkCalls(t, n1)
	checkCalls(t, n2)
}

// TestCrashDetected shuts the last of n nodes down without a leave
// message, as a crash would, and measures how long the failure detector
// takes to drop it everywhere. With n > 3 memberlist waits for other
// members to confirm the suspicion, so both paths are covered.
func TestCrashDetected(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(strconv.Itoa(n)+" nodes", func(t *testing.T) {
			crash(t, n, "fast", fastGossip, 10*time.Second)
		})
	}
}

// TestCrashDetectedLAN measures the same with memberlist's LAN timings,
// the production default, to check the bound stated in the package
// comment.
func TestCrashDetectedLAN(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 5 s")
	}
	// Registered first, so it runs after the nodes' Shutdown.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { waitGoroutinesEnd(t, before, 3*time.Second) })
	crash(t, 3, "LAN", nil, 30*time.Second)
}

// waitGoroutinesEnd waits up to limit for every goroutine started since
// before was taken to end. memberlist.Shutdown does not wait for a probe in flight
// (probeNode): it ends by itself within one ProbeInterval, which with LAN
// timings (1 s) is longer than goleak's retries at TestMain (about 0.5 s)
// but not with fastGossip's 100 ms.
func waitGoroutinesEnd(t *testing.T, before goleak.Option, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		err := goleak.Find(before)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines still running %v after Shutdown: %v", limit, err)
			return
		}
	}
}

func crash(t *testing.T, n int, timings string, tune func(*memberlist.Config), limit time.Duration) {
	nodes := make([]*node, n)
	all := make([]int, n)
	for i := range nodes {
		all[i] = i + 1
		rec := newRecorder()
		var join []string
		if i > 0 {
			join = []string{nodes[0].m.Addr()}
		}
		cfg := nodeConfig(i+1, rec, join...)
		cfg.Tune = tune
		nodes[i] = startNodeConfig(t, cfg, rec)
	}
	converge(t, time.Now(), urls(all...), nodes...)

	start := time.Now()
	if err := nodes[n-1].m.Shutdown(); err != nil { // no leave message
		t.Fatalf("Shutdown: %v", err)
	}
	survivors := nodes[:n-1]
	for _, nd := range survivors {
		if err := nd.rec.waitFor(urls(all[:n-1]...), limit); err != nil {
			t.Fatalf("%s: %v", nd.url, err)
		}
	}
	t.Logf("crash of 1 of %d nodes, %s timings: failure detector dropped it everywhere in %v", n, timings, time.Since(start))
	for _, nd := range survivors {
		checkCalls(t, nd)
	}
}

// freePort returns a port of 127.0.0.1 that is free for both TCP and UDP
// right now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 10 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		tl.Close()
		if err == nil {
			ul.Close()
			return port
		}
	}
	t.Fatalf("no port free for both TCP and UDP")
	return 0
}

func TestJoinBeforeSeedIsUp(t *testing.T) {
	seed := "127.0.0.1:" + strconv.Itoa(freePort(t))
	n1 := startNode(t, 1, seed)
	if err := n1.rec.waitFor(urls(1), time.Second); err != nil {
		t.Fatalf("node alone: %v", err)
	}
	start := time.Now()
	rec := newRecorder()
	cfg := nodeConfig(2, rec)
	cfg.BindAddr = seed
	n2 := startNodeConfig(t, cfg, rec)
	t.Logf("late seed: joined in %v", converge(t, start, urls(1, 2), n1, n2))
}

// TestRejoinWhenAlone cuts a node off by shutting down the only other
// member, then restarts that member at the same address: the survivor, now
// alone, joins it again without help.
func TestRejoinWhenAlone(t *testing.T) {
	seed := "127.0.0.1:" + strconv.Itoa(freePort(t))
	rec2 := newRecorder()
	cfg2 := nodeConfig(2, rec2)
	cfg2.BindAddr = seed
	n2 := startNodeConfig(t, cfg2, rec2)
	n1 := startNode(t, 1, seed)
	converge(t, time.Now(), urls(1, 2), n1, n2)

	if err := n2.m.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := n1.rec.waitFor(urls(1), 10*time.Second); err != nil {
		t.Fatalf("survivor: %v", err)
	}
	rec3 := newRecorder()
	cfg3 := nodeConfig(3, rec3)
	cfg3.BindAddr = seed
	n3 := startNodeConfig(t, cfg3, rec3)
	converge(t, time.Now(), urls(1, 3), n1, n3)
}

func TestSecretKey(t *testing.T) {
	key := []byte("0123456789abcdef")
	withKey := func(i int, key []byte, join ...string) *node {
		rec := newRecorder()
		cfg := nodeConfig(i, rec, join...)
		cfg.SecretKey = key
		return startNodeConfig(t, cfg, rec)
	}
	n1 := withKey(1, key)
	n2 := withKey(2, key, n1.m.Addr())
	converge(t, time.Now(), urls(1, 2), n1, n2)

	n3 := withKey(3, []byte("fedcba9876543210"))
	if n, err := n3.m.ml.Join([]string{n1.m.Addr()}); err == nil {
		t.Errorf("Join with the wrong key reached %d nodes, want an error", n)
	}
	n4 := withKey(4, nil)
	if n, err := n4.m.ml.Join([]string{n1.m.Addr()}); err == nil {
		t.Errorf("Join without a key reached %d nodes, want an error", n)
	}
	if got := n1.m.URLs(); !slices.Equal(got, urls(1, 2)) {
		t.Errorf("URLs() = %v, want %v", got, urls(1, 2))
	}
}

func TestStartError(t *testing.T) {
	taken := startNode(t, 1)
	cfg := nodeConfig(2, newRecorder())
	cfg.BindAddr = taken.m.Addr()
	if m, err := Start(cfg); err == nil {
		m.Shutdown()
		t.Errorf("Start on a port in use succeeded, want an error")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "minimal", cfg: Config{PeerURL: "http://10.0.0.5:8001"}},
		{name: "full", cfg: Config{PeerURL: "https://a.example:8001", BindAddr: "0.0.0.0:7946", AdvertiseAddr: "[::1]:7946", SecretKey: make([]byte, 32)}},
		{name: "empty host binds all", cfg: Config{PeerURL: "http://a:1", BindAddr: ":7946"}},
		{name: "no PeerURL", cfg: Config{}, wantErr: true},
		{name: "PeerURL without scheme", cfg: Config{PeerURL: "10.0.0.5:8001"}, wantErr: true},
		{name: "PeerURL other scheme", cfg: Config{PeerURL: "redis://10.0.0.5:6379"}, wantErr: true},
		{name: "PeerURL too long", cfg: Config{PeerURL: "http://a/" + string(make([]byte, 510))}, wantErr: true},
		{name: "BindAddr without port", cfg: Config{PeerURL: "http://a:1", BindAddr: "0.0.0.0"}, wantErr: true},
		{name: "BindAddr bad port", cfg: Config{PeerURL: "http://a:1", BindAddr: "0.0.0.0:99999"}, wantErr: true},
		{name: "BindAddr host name", cfg: Config{PeerURL: "http://a:1", BindAddr: "localhost:7946"}, wantErr: true},
		{name: "AdvertiseAddr host name", cfg: Config{PeerURL: "http://a:1", AdvertiseAddr: "rcache-0:7946"}, wantErr: true},
		{name: "AdvertiseAddr empty host", cfg: Config{PeerURL: "http://a:1", AdvertiseAddr: ":7946"}, wantErr: true},
		{name: "AdvertiseAddr without port", cfg: Config{PeerURL: "http://a:1", AdvertiseAddr: "10.0.0.5"}, wantErr: true},
		{name: "key of 10 bytes", cfg: Config{PeerURL: "http://a:1", SecretKey: make([]byte, 10)}, wantErr: true},
		{name: "negative Settle", cfg: Config{PeerURL: "http://a:1", Settle: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestRestartSameName restarts a node under the same name and address, as
// a process supervisor would, both before and after the others notice the
// crash: memberlist must accept the new incarnation either way.
func TestRestartSameName(t *testing.T) {
	for _, detected := range []bool{false, true} {
		t.Run("detected="+strconv.FormatBool(detected), func(t *testing.T) {
			seed := "127.0.0.1:" + strconv.Itoa(freePort(t))
			rec2 := newRecorder()
			cfg2 := nodeConfig(2, rec2)
			cfg2.BindAddr = seed
			n2 := startNodeConfig(t, cfg2, rec2)
			n1 := startNode(t, 1, seed)
			converge(t, time.Now(), urls(1, 2), n1, n2)

			if err := n2.m.Shutdown(); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if detected {
				if err := n1.rec.waitFor(urls(1), 10*time.Second); err != nil {
					t.Fatalf("survivor: %v", err)
				}
			}
			rec3 := newRecorder()
			cfg3 := nodeConfig(2, rec3, n1.m.Addr())
			cfg3.BindAddr = seed
			again := startNodeConfig(t, cfg3, rec3)
			converge(t, time.Now(), urls(1, 2), n1, again)
		})
	}
}
