package peerhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/cluster/ring"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeMember is a member of the cluster played by a handler, and a Pool
// whose ring holds it and an unreachable self.
type fakeMember struct {
	srv  *httptest.Server
	pool *peerhttp.Pool
	peer group.PeerGetter // the client for srv
	key  string           // a key srv owns
	hits atomic.Int64     // requests srv received
}

const fakeSelf = "http://127.0.0.1:1"

func newFakeMember(t *testing.T, cfg peerhttp.Config, h http.HandlerFunc) *fakeMember {
	t.Helper()
	f := &fakeMember{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	var err error
	cfg.DisableStreams = true // f.hits counts HTTP requests
	if f.pool, err = peerhttp.New(fakeSelf, cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(f.pool.Close)
	f.pool.Set(fakeSelf, f.srv.URL)
	m := ring.New(cfg.Replicas, cfg.Hash)
	m.Add(fakeSelf, f.srv.URL)
	for i := 0; f.key == ""; i++ {
		if k := "key-" + strconv.Itoa(i); m.Get(k) == f.srv.URL {
			f.key = k
		}
	}
	var ok bool
	if f.peer, ok = f.pool.PickPeer(f.key); !ok {
		t.Fatalf("PickPeer(%q) found no peer", f.key)
	}
	return f
}

// get asks the fake member for its key.
func (f *fakeMember) get(ctx context.Context) error {
	_, err := f.peer.Get(ctx, &pb.GetRequest{Group: "scores", Key: f.key})
	return err
}

// status returns the Pool's only PeerStatus.
func (f *fakeMember) status(t *testing.T) peerhttp.PeerStatus {
	t.Helper()
	st := f.pool.PeerStatus()
	if len(st) != 1 || st[0].URL != f.srv.URL {
		t.Fatalf("PeerStatus() = %+v, want one entry for %s", st, f.srv.URL)
	}
	return st[0]
}

// answerOK answers a valid GetResponse.
func answerOK(w http.ResponseWriter, _ *http.Request) {
	b, _ := proto.Marshal(&pb.GetResponse{Value: []byte("ok")})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// TestBreakerHangingPeer plays the owner that hangs (as under SIGSTOP):
// the first BreakerThreshold requests each wait out Config.Timeout, then
// the breaker opens and requests fail at once without reaching the peer,
// until the cooldown passes and one probe is let through. A failed probe
// doubles the cooldown; a successful one closes the breaker.
func TestBreakerHangingPeer(t *testing.T) {
	const timeout = 100 * time.Millisecond
	clock := newFakeClock()
	var healthy atomic.Bool
	f := newFakeMember(t, peerhttp.Config{Timeout: timeout, Now: clock.Now}, func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			answerOK(w, r)
			return
		}
		<-r.Context().Done()
	})
	ctx := testContext(t)

	for i := range peerhttp.DefaultBreakerThreshold {
		start := time.Now()
		err := f.get(ctx)
		if err == nil || errors.Is(err, peerhttp.ErrPeerUnavailable) {
			t.Fatalf("Get %d = %v, want a timeout", i, err)
		}
		if d := time.Since(start); d < timeout || d > 20*timeout {
			t.Errorf("Get %d took %v, want about %v", i, d, timeout)
		}
	}
	st := f.status(t)
	if st.State != peerhttp.BreakerOpen || st.ConsecutiveFailures != 3 || st.Requests != 3 || st.Errors != 3 || !st.LastError.Equal(clock.Now()) {
		t.Errorf("PeerStatus() = %+v, want open after 3 failures of 3 requests, last error now", st)
	}

	// Open: fail fast, without a request.
	steps := []struct {
		name     string
		advance  time.Duration
		healthy  bool
		wantErr  error // nil: no error; errAny: any error but ErrPeerUnavailable
		wantHits int64
		want     peerhttp.BreakerState
	}{
		{"open", 0, false, peerhttp.ErrPeerUnavailable, 3, peerhttp.BreakerOpen},
		{"cooldown not over", 999 * time.Millisecond, false, peerhttp.ErrPeerUnavailable, 3, peerhttp.BreakerOpen},
		{"probe fails", time.Millisecond, false, errAny, 4, peerhttp.BreakerOpen},
		{"cooldown doubled", time.Second, false, peerhttp.ErrPeerUnavailable, 4, peerhttp.BreakerOpen},
		{"second probe fails", time.Second, false, errAny, 5, peerhttp.BreakerOpen},
		{"cooldown doubled again", 3 * time.Second, false, peerhttp.ErrPeerUnavailable, 5, peerhttp.BreakerOpen},
		{"probe succeeds", time.Second, true, nil, 6, peerhttp.BreakerClosed},
		{"closed", 0, true, nil, 7, peerhttp.BreakerClosed},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		healthy.Store(s.healthy)
		start := time.Now()
		err := f.get(ctx)
		switch {
		case s.wantErr == nil && err != nil,
			s.wantErr == errAny && (err == nil || errors.Is(err, peerhttp.ErrPeerUnavailable)),
			s.wantErr != nil && s.wantErr != errAny && !errors.Is(err, s.wantErr):
			t.Errorf("%s: Get = %v, want %v", s.name, err, s.wantErr)
		}
		if s.wantErr == peerhttp.ErrPeerUnavailable && time.Since(start) > timeout/2 {
			t.Errorf("%s: failing fast took %v", s.name, time.Since(start))
		}
		if got := f.hits.Load(); got != s.wantHits {
			t.Errorf("%s: peer received %d requests, want %d", s.name, got, s.wantHits)
		}
		if got := f.status(t).State; got != s.want {
			t.Errorf("%s: state = %v, want %v", s.name, got, s.want)
		}
	}
	st = f.status(t)
	if st.ConsecutiveFailures != 0 || st.Requests != 7 || st.Errors != 5 || st.Rejected != 4 {
		t.Errorf("PeerStatus() = %+v, want 0 consecutive failures, 7 requests, 5 errors, 4 rejected", st)
	}
}

// errAny stands for any error but ErrPeerUnavailable in a table.
var errAny = errors.New("any error")

// TestBreakerCooldownCap checks that the doubling stops at
// BreakerMaxCooldown.
func TestBreakerCooldownCap(t *testing.T) {
	clock := newFakeClock()
	f := newFakeMember(t, peerhttp.Config{Now: clock.Now, BreakerThreshold: 1, BreakerCooldown: time.Second, BreakerMaxCooldown: 3 * time.Second},
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	ctx := testContext(t)
	_ = f.get(ctx) // opens for 1s
	for i, cooldown := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		clock.Advance(cooldown - time.Millisecond)
		if err := f.get(ctx); !errors.Is(err, peerhttp.ErrPeerUnavailable) {
			t.Errorf("probe %d: Get %v before the cooldown of %v = %v, want ErrPeerUnavailable", i, cooldown-time.Millisecond, cooldown, err)
		}
		clock.Advance(time.Millisecond)
		hits := f.hits.Load()
		_ = f.get(ctx) // the probe, which fails
		if got := f.hits.Load(); got != hits+1 {
			t.Errorf("probe %d: not sent after %v", i, cooldown)
		}
	}
}

// TestBreakerNotFailures checks what does not count against a peer: the
// outcomes the owner reports in a 200 (a key its origin does not have, an
// origin error), answers it gives on purpose (4xx, 504), and a request
// whose caller gave up first. A 5xx does count.
func TestBreakerNotFailures(t *testing.T) {
	notFound, _ := proto.Marshal(&pb.GetResponse{NotFound: true})
	originErr, _ := proto.Marshal(&pb.GetResponse{OriginError: "database on fire"})
	answer := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(b)
		}
	}
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", code) }
	}
	tests := []struct {
		name    string
		h       http.HandlerFunc
		wantErr bool
		want    int // consecutive failures after 5 requests
	}{
		{"not found", answer(notFound), false, 0},
		{"origin error", answer(originErr), false, 0},
		{"unknown group", status(http.StatusNotFound), true, 0},
		{"unauthorized", status(http.StatusUnauthorized), true, 0},
		{"deadline at the owner", status(http.StatusGatewayTimeout), true, 0},
		{"server error", status(http.StatusInternalServerError), true, 5},
		{"bad gateway", status(http.StatusBadGateway), true, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMember(t, peerhttp.Config{BreakerThreshold: 10}, tt.h)
			for range 5 {
				if err := f.get(testContext(t)); (err != nil) != tt.wantErr {
					t.Errorf("Get = %v, want error %v", err, tt.wantErr)
				}
			}
			if st := f.status(t); st.ConsecutiveFailures != tt.want || st.State != peerhttp.BreakerClosed {
				t.Errorf("PeerStatus() = %+v, want %d consecutive failures, closed", st, tt.want)
			}
		})
	}

	t.Run("caller gave up", func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		f := newFakeMember(t, peerhttp.Config{BreakerThreshold: 1}, func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(testContext(t))
		go func() {
			<-arrived
			cancel()
		}()
		if err := f.get(ctx); err == nil {
			t.Errorf("Get after cancel = nil, want an error")
		}
		if st := f.status(t); st.ConsecutiveFailures != 0 || st.State != peerhttp.BreakerClosed {
			t.Errorf("PeerStatus() = %+v, want no failure, closed", st)
		}
	})
}

// TestBreakerOneProbe checks that a half-open breaker lets exactly one
// request through: while the probe is in flight, the others fail fast.
func TestBreakerOneProbe(t *testing.T) {
	clock := newFakeClock()
	var probing atomic.Bool
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	f := newFakeMember(t, peerhttp.Config{Now: clock.Now, BreakerThreshold: 1}, func(w http.ResponseWriter, r *http.Request) {
		if !probing.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		select {
		case arrived <- struct{}{}:
		default: // a request after the probe
		}
		<-release
		answerOK(w, r)
	})
	ctx := testContext(t)
	_ = f.get(ctx) // opens
	clock.Advance(peerhttp.DefaultBreakerCooldown)
	probing.Store(true)
	probeErr := make(chan error, 1)
	go func() { probeErr <- f.get(ctx) }()
	<-arrived
	if got := f.status(t).State; got != peerhttp.BreakerHalfOpen {
		t.Errorf("state during the probe = %v, want half-open", got)
	}
	for i := range 3 {
		if err := f.get(ctx); !errors.Is(err, peerhttp.ErrPeerUnavailable) {
			t.Errorf("Get %d during the probe = %v, want ErrPeerUnavailable", i, err)
		}
	}
	close(release)
	if err := <-probeErr; err != nil {
		t.Errorf("probe Get = %v, want nil", err)
	}
	if got := f.status(t).State; got != peerhttp.BreakerClosed {
		t.Errorf("state after the probe = %v, want closed", got)
	}
	if err := f.get(ctx); err != nil {
		t.Errorf("Get after the probe = %v, want nil", err)
	}
}

// TestBreakerGroupFallsBack checks the whole path: with the owner down,
// the group loads every key from its own origin, and once the breaker is
// open it does so without a request to the owner.
func TestBreakerGroupFallsBack(t *testing.T) {
	nodes := newCluster(t, clusterConfig{nodes: 2, pool: peerhttp.Config{Timeout: time.Second}})
	asker, owner := nodes[0], nodes[1]
	owner.srv.Close() // down: connections are refused
	ctx := testContext(t)
	for i := range 10 {
		key := keyOwnedBy(t, nodes, owner, "down-"+strconv.Itoa(i)+"-")
		if v, err := asker.group.Get(ctx, key); err != nil || v.String() != "v:"+key {
			t.Errorf("Get(%q) = %q, %v; want %q", key, v, err, "v:"+key)
		}
	}
	st := asker.pool.PeerStatus()
	if len(st) != 1 || st[0].State != peerhttp.BreakerOpen || st[0].Requests != 3 || st[0].Rejected != 7 {
		t.Errorf("PeerStatus() = %+v, want open after 3 requests, 7 rejected", st)
	}
	if got := asker.group.Stats.PeerErrors.Load(); got != 10 {
		t.Errorf("PeerErrors = %d, want 10", got)
	}
}

func TestBreakerStateString(t *testing.T) {
	for s, want := range map[peerhttp.BreakerState]string{
		peerhttp.BreakerClosed: "closed", peerhttp.BreakerOpen: "open", peerhttp.BreakerHalfOpen: "half-open", 7: "unknown",
	} {
		if got := s.String(); got != want {
			t.Errorf("BreakerState(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
