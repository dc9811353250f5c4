package group_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcache/rcache/cluster/flight"
	"github.com/rcache/rcache/engine/group"
)

// scores is the design document's demo data.
var scores = map[string]string{"Tom": "630", "Jack": "589", "Sam": "567"}

// origin is a Getter over a fixed map that counts its calls per key, like the
// design document's loadCounts. A key missing from the map is reported as
// ErrNotFound. It is safe for concurrent use: loads call it from the
// flight's goroutine.
type origin struct {
	db map[string]string // read-only after newOrigin

	mu    sync.Mutex // guards calls
	calls map[string]int
}

func newOrigin(db map[string]string) *origin {
	return &origin{db: db, calls: make(map[string]int)}
}

func (o *origin) Get(_ context.Context, key string) ([]byte, error) {
	o.mu.Lock()
	o.calls[key]++
	o.mu.Unlock()
	v, ok := o.db[key]
	if !ok {
		return nil, fmt.Errorf("origin: %q: %w", key, group.ErrNotFound)
	}
	return []byte(v), nil
}

// Calls returns how many times the Getter was called for key.
func (o *origin) Calls(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[key]
}

// Total returns how many times the Getter was called for any key.
func (o *origin) Total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.calls {
		n += c
	}
	return n
}

// clock is a fake clock for Config.Now. It is safe for concurrent use, since
// loads read it from the flight's goroutine.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, time.January, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newTestGroup creates a group from cfg in a registry of its own.
func newTestGroup(t *testing.T, cfg group.Config) *group.Group {
	t.Helper()
	g, err := group.NewRegistry().NewGroupWithConfig(cfg)
	if err != nil {
		t.Fatalf("NewGroupWithConfig(%q) = %v", cfg.Name, err)
	}
	return g
}

// mustGet calls g.Get and checks that it returns want.
func mustGet(t *testing.T, g *group.Group, key, want string) {
	t.Helper()
	v, err := g.Get(context.Background(), key)
	if err != nil || v.String() != want {
		t.Errorf("Get(%q) = %q, %v, want %q, <nil>", key, v, err, want)
	}
}

var errBoom = errors.New("boom")

// TestGetLoadsOnce is the design document's test: the first Get of a key
// calls the Getter, the second is served from the cache.
func TestGetLoadsOnce(t *testing.T) {
	t.Parallel()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "scores", CacheBytes: 2 << 10, Getter: db})
	for _, key := range []string{"Tom", "Jack", "Sam"} {
		t.Run(key, func(t *testing.T) {
			mustGet(t, g, key, scores[key])
			if n := db.Calls(key); n != 1 {
				t.Errorf("after the first Get(%q), loadCounts[%q] = %d, want 1", key, key, n)
			}
			mustGet(t, g, key, scores[key])
			if n := db.Calls(key); n != 1 {
				t.Errorf("after the second Get(%q), loadCounts[%q] = %d, want 1 (cache hit)", key, key, n)
			}
		})
	}
	stats := []struct {
		name string
		c    *atomic.Int64
		want int64
	}{
		{"Gets", &g.Stats.Gets, 6},
		{"CacheHits", &g.Stats.CacheHits, 3},
		{"Loads", &g.Stats.Loads, 3},
		{"LoadsDeduped", &g.Stats.LoadsDeduped, 3},
		{"LocalLoads", &g.Stats.LocalLoads, 3},
		{"PeerLoads", &g.Stats.PeerLoads, 0},
	}
	for _, s := range stats {
		if got := s.c.Load(); got != s.want {
			t.Errorf("Stats.%s = %d, want %d", s.name, got, s.want)
		}
	}
	if got := g.CacheStats(group.MainCache).Items; got != 3 {
		t.Errorf("CacheStats(MainCache).Items = %d, want 3", got)
	}
}

// TestGetNotFound checks that a key the origin lacks is reported with
// ErrNotFound and, with negative caching off, is not cached: the next Get
// asks the origin again.
func TestGetNotFound(t *testing.T) {
	t.Parallel()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "scores", Getter: db, NegativeTTL: -1})
	for i := 1; i <= 2; i++ {
		v, err := g.Get(context.Background(), "Kate")
		if !errors.Is(err, group.ErrNotFound) {
			t.Errorf("Get(%q) = %q, %v, want an error wrapping ErrNotFound", "Kate", v, err)
		}
		if n := db.Calls("Kate"); n != i {
			t.Errorf("after Get(%q) #%d, the Getter ran %d times, want %d", "Kate", i, n, i)
		}
	}
	if got := g.CacheStats(group.MainCache).Items; got != 0 {
		t.Errorf("CacheStats(MainCache).Items = %d, want 0", got)
	}
	if got := g.Stats.LocalNotFound.Load(); got != 2 {
		t.Errorf("Stats.LocalNotFound = %d, want 2", got)
	}
}

// TestEmptyKey checks that every operation refuses the empty key without
// calling the Getter.
func TestEmptyKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		op   func(context.Context, *group.Group) error
	}{
		{"Get", func(ctx context.Context, g *group.Group) error {
			_, err := g.Get(ctx, "")
			return err
		}},
		{"GetMany", func(ctx context.Context, g *group.Group) error {
			return g.GetMany(ctx, []string{""})[0].Err
		}},
		{"Exists", func(ctx context.Context, g *group.Group) error {
			_, err := g.Exists(ctx, "")
			return err
		}},
		{"Set", func(ctx context.Context, g *group.Group) error {
			return g.Set(ctx, "", []byte("v"), 0)
		}},
		{"Delete", func(ctx context.Context, g *group.Group) error {
			_, err := g.Delete(ctx, "")
			return err
		}},
		{"IncrBy", func(ctx context.Context, g *group.Group) error {
			_, err := g.IncrBy(ctx, "", 1)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newOrigin(map[string]string{"": "empty"})
			g := newTestGroup(t, group.Config{Name: "empty", Getter: db})
			if err := tt.op(context.Background(), g); !errors.Is(err, group.ErrEmptyKey) {
				t.Errorf("%s(%q) error = %v, want ErrEmptyKey", tt.name, "", err)
			}
			if n := db.Total(); n != 0 {
				t.Errorf("%s(%q) called the Getter %d times, want 0", tt.name, "", n)
			}
			if n := g.Len(); n != 0 {
				t.Errorf("after %s(%q), Len() = %d, want 0", tt.name, "", n)
			}
		})
	}
}

// TestGetDedup starts 100 Gets of one cold key while the Getter is held open.
// synctest.Wait returns only once every caller is blocked waiting on the
// load, so all 100 are known to have missed the cache and joined it.
func TestGetDedup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		release := make(chan struct{})
		g := newTestGroup(t, group.Config{Name: "dedup", Getter: group.GetterFunc(
			func(context.Context, string) ([]byte, error) {
				calls.Add(1)
				<-release
				return []byte("630"), nil
			})})

		const n = 100
		type result struct {
			v   group.ByteView
			err error
		}
		results := make(chan result, n)
		for range n {
			go func() {
				v, err := g.Get(context.Background(), "Tom")
				results <- result{v, err}
			}()
		}
		synctest.Wait()
		if got := g.Stats.Loads.Load(); got != n {
			t.Errorf("with the load held, Stats.Loads = %d, want %d", got, n)
		}
		close(release)
		for range n {
			if r := <-results; r.err != nil || r.v.String() != "630" {
				t.Errorf("Get(%q) = %q, %v, want %q, <nil>", "Tom", r.v, r.err, "630")
			}
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("the Getter ran %d times, want 1", got)
		}
		// Loads counts the callers that waited; LoadsDeduped the loads that
		// ran once singleflight had merged them.
		if got := g.Stats.Loads.Load(); got != n {
			t.Errorf("Stats.Loads = %d, want %d", got, n)
		}
		if got := g.Stats.LoadsDeduped.Load(); got != 1 {
			t.Errorf("Stats.LoadsDeduped = %d, want 1", got)
		}
	})
}

// TestNoDedup recreates the interleaving that the re-check at the top of each
// load guards (groupcache's TestNoDedup): caller B misses the cache, then
// caller A's load fills it before B's load starts, so B starts a load of its
// own rather than joining A's. That load must find A's value instead of
// fetching it again. PickPeer runs between the cache lookup and the load, so
// holding B inside it forces the schedule.
func TestNoDedup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		remote bool // the key is owned by a peer and A's load keeps a hot copy
	}{
		{"local", false},
		{"peer", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newOrigin(scores)
			owner := valuesPeer(scores)
			var held atomic.Bool
			bMissed, proceed := make(chan struct{}), make(chan struct{})
			g := newTestGroup(t, group.Config{
				Name: "nodedup", Getter: db,
				HotProbability: 1, Rand: func() float64 { return 0 },
			})
			g.RegisterPeers(&picker{owner: func(string) group.PeerGetter {
				if held.CompareAndSwap(false, true) { // B, the first caller
					close(bMissed)
					<-proceed
				}
				if tt.remote {
					return owner
				}
				return nil
			}})

			bDone := make(chan error, 1)
			go func() {
				v, err := g.Get(context.Background(), "Tom")
				if err == nil && v.String() != "630" {
					err = fmt.Errorf("got %q", v)
				}
				bDone <- err
			}()
			<-bMissed
			mustGet(t, g, "Tom", "630") // A
			close(proceed)
			if err := <-bDone; err != nil {
				t.Errorf("B: Get(%q) = %v, want %q", "Tom", err, "630")
			}

			if n := db.Calls("Tom") + int(owner.gets.Load()); n != 1 {
				t.Errorf("the value was fetched %d times, want 1", n)
			}
			if got := g.Stats.Loads.Load(); got != 2 {
				t.Errorf("Stats.Loads = %d, want 2", got)
			}
			if got := g.Stats.LoadsDeduped.Load(); got != 1 {
				t.Errorf("Stats.LoadsDeduped = %d, want 1", got)
			}
		})
	}
}

// TestLoadOutlivesCaller checks that the caller that started a shared load
// can leave without cancelling it: the load's ctx stays alive, and the caller
// still waiting gets the value.
func TestLoadOutlivesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		started, release := make(chan struct{}), make(chan struct{})
		loadCtxErr := make(chan error, 1)
		g := newTestGroup(t, group.Config{Name: "outlive", Getter: group.GetterFunc(
			func(ctx context.Context, _ string) ([]byte, error) {
				calls.Add(1)
				close(started)
				<-release // released only after caller 1 has returned
				loadCtxErr <- ctx.Err()
				return []byte("630"), nil
			})})

		ctx1, cancel1 := context.WithTimeout(context.Background(), time.Second)
		defer cancel1()
		done1 := make(chan error, 1)
		go func() {
			_, err := g.Get(ctx1, "Tom")
			done1 <- err
		}()
		<-started

		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Hour)
		defer cancel2()
		type result struct {
			v   group.ByteView
			err error
		}
		done2 := make(chan result, 1)
		go func() {
			v, err := g.Get(ctx2, "Tom")
			done2 <- result{v, err}
		}()
		synctest.Wait() // caller 2 has joined the load

		cancel1()
		if err := <-done1; !errors.Is(err, context.Canceled) {
			t.Errorf("caller 1: Get(%q) error = %v, want one wrapping context.Canceled", "Tom", err)
		}
		close(release)
		if err := <-loadCtxErr; err != nil {
			t.Errorf("after caller 1 left, the load's ctx.Err() = %v, want <nil>", err)
		}
		if r := <-done2; r.err != nil || r.v.String() != "630" {
			t.Errorf("caller 2: Get(%q) = %q, %v, want %q, <nil>", "Tom", r.v, r.err, "630")
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("the Getter ran %d times, want 1", got)
		}
	})
}

// TestLoadTimeout checks that LoadTimeout bounds a load that nobody waits on
// any more: the Getter's ctx ends after exactly LoadTimeout (fake time), and
// the failure is not cached.
func TestLoadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 10 * time.Millisecond
		var calls atomic.Int64
		g := newTestGroup(t, group.Config{Name: "timeout", LoadTimeout: timeout, Getter: group.GetterFunc(
			func(ctx context.Context, _ string) ([]byte, error) {
				calls.Add(1)
				<-ctx.Done()
				return nil, ctx.Err()
			})})
		start := time.Now()
		v, err := g.Get(context.Background(), "Tom")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get(%q) = %q, %v, want an error wrapping context.DeadlineExceeded", "Tom", v, err)
		}
		if d := time.Since(start); d != timeout {
			t.Errorf("Get(%q) returned after %v, want %v", "Tom", d, timeout)
		}
		if _, err := g.Get(context.Background(), "Tom"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("second Get(%q) error = %v, want context.DeadlineExceeded", "Tom", err)
		}
		if got := calls.Load(); got != 2 {
			t.Errorf("the Getter ran %d times, want 2 (failures are not cached)", got)
		}
		if got := g.Stats.LocalLoadErrs.Load(); got != 2 {
			t.Errorf("Stats.LocalLoadErrs = %d, want 2", got)
		}
	})
}

// TestGetterPanic checks that a panicking Getter fails the callers waiting on
// its load with a *flight.PanicError, leaves the process running, and is
// called again by the next Get.
func TestGetterPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		release := make(chan struct{})
		g := newTestGroup(t, group.Config{Name: "panic", Getter: group.GetterFunc(
			func(context.Context, string) ([]byte, error) {
				if calls.Add(1) == 1 {
					<-release
					panic("boom")
				}
				return []byte("630"), nil
			})})

		const waiters = 2
		errs := make(chan error, waiters)
		for range waiters {
			go func() {
				_, err := g.Get(context.Background(), "Tom")
				errs <- err
			}()
		}
		synctest.Wait()
		close(release)
		for range waiters {
			err := <-errs
			var pe *flight.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("Get(%q) error = %v, want a *flight.PanicError with value boom", "Tom", err)
			}
		}
		mustGet(t, g, "Tom", "630")
		if got := calls.Load(); got != 2 {
			t.Errorf("the Getter ran %d times, want 2", got)
		}
		if got := g.Stats.LocalLoadErrs.Load(); got != 1 {
			t.Errorf("Stats.LocalLoadErrs = %d, want 1 (the panic)", got)
		}
	})
}

// TestErrorsNotCached checks that a failed load is not remembered: the next
// Get calls the Getter again.
func TestErrorsNotCached(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	g := newTestGroup(t, group.Config{Name: "errors", Getter: group.GetterFunc(
		func(context.Context, string) ([]byte, error) {
			if calls.Add(1) == 1 {
				return nil, errBoom
			}
			return []byte("630"), nil
		})})
	if v, err := g.Get(context.Background(), "Tom"); !errors.Is(err, errBoom) || errors.Is(err, group.ErrNotFound) {
		t.Errorf("Get(%q) = %q, %v, want an error wrapping boom", "Tom", v, err)
	}
	mustGet(t, g, "Tom", "630")
	if got := calls.Load(); got != 2 {
		t.Errorf("the Getter ran %d times, want 2", got)
	}
}

// TestTTL checks with a fake clock that a value loaded from the Getter is
// cached for exactly Config.TTL.
func TestTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "ttl", Getter: db, TTL: time.Minute, TTLJitter: -1, Now: clk.Now})
	steps := []struct {
		advance   time.Duration
		wantCalls int
	}{
		{0, 1},                             // first load
		{time.Minute - time.Nanosecond, 1}, // still fresh
		{time.Nanosecond, 2},               // expired at exactly TTL: reload
		{time.Minute - time.Nanosecond, 2}, // the reload got a new TTL
		{time.Minute + time.Nanosecond, 3}, // long gone
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		mustGet(t, g, "Tom", "630")
		if n := db.Calls("Tom"); n != s.wantCalls {
			t.Errorf("step %d (+%v): the Getter ran %d times, want %d", i, s.advance, n, s.wantCalls)
		}
	}
}

// TestEvictions fills the main cache past its budget. The budget is 80
// bytes: 70 for the main cache and 10 for the hot cache. Each entry costs
// len(key)+len(value) = 2+10 = 12 bytes, so five fit and the sixth evicts the
// oldest.
func TestEvictions(t *testing.T) {
	t.Parallel()
	db := map[string]string{"big": strings.Repeat("x", 100)}
	for i := range 6 {
		db[fmt.Sprintf("k%d", i)] = "0123456789"
	}
	// Each k entry costs its key, value and the per-entry overhead; the
	// budget, all of it the main cache's, holds five and a half of them.
	per := int64(group.EntryOverhead + 2 + 10)
	o := newOrigin(db)
	g := newTestGroup(t, group.Config{Name: "evict", CacheBytes: 5*per + per/2, Getter: o,
		HotProbability: -1, NegativeTTL: -1, MaxItemBytes: -1})
	for i := range 6 {
		key := fmt.Sprintf("k%d", i)
		mustGet(t, g, key, db[key])
	}
	want := group.CacheStats{Bytes: 5 * per, Items: 5, Gets: 12, Hits: 0, Evictions: 1}
	if got := g.CacheStats(group.MainCache); got != want {
		t.Errorf("CacheStats(MainCache) = %+v, want %+v", got, want)
	}

	// The oldest entry, k0, was evicted; k5 was not.
	mustGet(t, g, "k0", db["k0"])
	mustGet(t, g, "k5", db["k5"])
	if n, m := o.Calls("k0"), o.Calls("k5"); n != 2 || m != 1 {
		t.Errorf("Getter calls for k0, k5 = %d, %d, want 2, 1", n, m)
	}
}

// TestMaxItemBytes checks that a value over the group's item limit is
// returned but not cached, and costs the cached values nothing, with the
// default limit (an eighth of the main cache) and an explicit one.
func TestMaxItemBytes(t *testing.T) {
	t.Parallel()
	per := int64(group.EntryOverhead + 2 + 10)
	budget := 64 * per
	for _, tc := range []struct {
		name     string
		limit    int64
		size     int // of "big"'s value
		isCached bool
	}{
		{"default limit, under", 0, int(budget/8 - per), true},
		{"default limit, over", 0, int(budget/8 + 1), false},
		{"explicit limit, over", 2 * per, int(2 * per), false},
		{"explicit limit, under", 2 * per, 10, true},
		{"larger than the budget", -1, int(budget) + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := map[string]string{"big": strings.Repeat("x", tc.size)}
			for i := range 8 {
				db[fmt.Sprintf("k%d", i)] = "0123456789"
			}
			o := newOrigin(db)
			g := newTestGroup(t, group.Config{Name: "max", CacheBytes: budget, Getter: o,
				HotProbability: -1, NegativeTTL: -1, MaxItemBytes: tc.limit})
			for i := range 8 {
				key := fmt.Sprintf("k%d", i)
				mustGet(t, g, key, db[key])
			}
			before := g.CacheStats(group.MainCache)
			mustGet(t, g, "big", db["big"])
			mustGet(t, g, "big", db["big"])
			wantCalls := 2
			if tc.isCached {
				wantCalls = 1
			}
			if n := o.Calls("big"); n != wantCalls {
				t.Errorf("the Getter ran %d times for big, want %d", n, wantCalls)
			}
			after := g.CacheStats(group.MainCache)
			if tc.isCached {
				return
			}
			if after.Items != before.Items || after.Bytes != before.Bytes || after.Evictions != before.Evictions {
				t.Errorf("after a too-large value, CacheStats(MainCache) = %+v, want items, bytes and evictions of %+v", after, before)
			}
			// A SET of a too-large value drops the key's old value: the
			// next Get asks the origin rather than serving the old one.
			ctx := context.Background()
			if err := g.Set(ctx, "k0", []byte(db["big"]), 0); err != nil {
				t.Fatalf("Set(k0, big) = %v", err)
			}
			calls := o.Calls("k0")
			mustGet(t, g, "k0", db["k0"])
			if n := o.Calls("k0"); n != calls+1 {
				t.Errorf("Get(k0) after a too-large SET ran the Getter %d times, want 1", n-calls)
			}
		})
	}
}

// TestConfigDefaults checks that Group.Config reports the defaults it runs
// with.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	g := newTestGroup(t, group.Config{Name: "defaults", Getter: newOrigin(scores)})
	c := g.Config()
	if c.LoadTimeout != group.DefaultLoadTimeout || c.HotTTL != group.DefaultHotTTL ||
		c.HotProbability != group.DefaultHotProbability || c.InvalidateTimeout != group.DefaultInvalidateTimeout {
		t.Errorf("Config() = LoadTimeout %v, HotTTL %v, HotProbability %v, InvalidateTimeout %v, want the defaults",
			c.LoadTimeout, c.HotTTL, c.HotProbability, c.InvalidateTimeout)
	}
	if c.Now == nil || c.Rand == nil || c.Logger == nil {
		t.Errorf("Config() left Now, Rand or Logger nil")
	}
	if c.TTL != 0 || c.CacheBytes != 0 {
		t.Errorf("Config() = TTL %v, CacheBytes %d, want 0, 0", c.TTL, c.CacheBytes)
	}
}
