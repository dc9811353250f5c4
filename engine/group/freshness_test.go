package group_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// TestNegativeCaching checks penetration protection: a flood of Gets for a
// missing key reaches the origin once per NegativeTTL, and a write to the
// key forgets the remembered "not found" at once.
func TestNegativeCaching(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "neg", Getter: db, NegativeTTL: 5 * time.Second, Now: clk.Now})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := g.Get(ctx, "Kate"); !errors.Is(err, group.ErrNotFound) {
				t.Errorf("Get(Kate) = %v, want ErrNotFound", err)
			}
		})
	}
	wg.Wait()
	if n := db.Calls("Kate"); n != 1 {
		t.Errorf("origin calls for a missing key under 100 Gets = %d, want 1", n)
	}
	clk.Advance(4 * time.Second)
	hits := g.Stats.NegativeHits.Load()
	for range 10 {
		g.Get(ctx, "Kate")
	}
	if n := db.Calls("Kate"); n != 1 {
		t.Errorf("origin calls within NegativeTTL = %d, want 1", n)
	}
	if n := g.Stats.NegativeHits.Load() - hits; n != 10 {
		t.Errorf("Stats.NegativeHits grew by %d over 10 Gets, want 10", n)
	}
	clk.Advance(time.Second)
	g.Get(ctx, "Kate")
	if n := db.Calls("Kate"); n != 2 {
		t.Errorf("origin calls after NegativeTTL = %d, want 2", n)
	}
	if err := g.Set(ctx, "Kate", []byte("601"), 0); err != nil {
		t.Fatalf("Set(Kate): %v", err)
	}
	mustGet(t, g, "Kate", "601")
}

// TestNegativeCachingFromPeer checks that a "not found" from the owner is
// remembered at the asking node too, no longer than HotTTL, and forgotten
// when the owner's invalidation arrives.
func TestNegativeCachingFromPeer(t *testing.T) {
	t.Parallel()
	clk := newClock()
	peer := valuesPeer(map[string]string{})
	g := newTestGroup(t, group.Config{Name: "negpeer", Getter: newOrigin(nil), NegativeTTL: time.Minute, HotTTL: 5 * time.Second, Now: clk.Now})
	g.RegisterPeers(ownedBy(peer))
	ctx := context.Background()
	for range 3 {
		if _, err := g.Get(ctx, "x"); !errors.Is(err, group.ErrNotFound) {
			t.Fatalf("Get(x) = %v, want ErrNotFound", err)
		}
	}
	if n := peer.gets.Load(); n != 1 {
		t.Errorf("peer Gets = %d, want 1", n)
	}
	clk.Advance(5 * time.Second) // HotTTL bounds the remembered answer
	g.Get(ctx, "x")
	if n := peer.gets.Load(); n != 2 {
		t.Errorf("peer Gets after HotTTL = %d, want 2", n)
	}
	g.ServeWrite(ctx, &pb.WriteRequest{Key: "x", Op: pb.WriteRequest_OP_DROP})
	g.Get(ctx, "x")
	if n := peer.gets.Load(); n != 3 {
		t.Errorf("peer Gets after the owner's DROP = %d, want 3", n)
	}
}

// TestTTLJitter checks that loaded values expire between (1-j)·TTL and
// (1+j)·TTL, spread by the injected randomness.
func TestTTLJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rand float64
		want time.Duration
	}{
		{0, 90 * time.Second},
		{0.5, 100 * time.Second},
		{0.999999, 110 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rand), func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			g, _ := serveGroup(t, group.Config{TTL: 100 * time.Second, TTLJitter: 0.1, Now: clk.Now, Rand: func() float64 { return tt.rand }})
			res := g.ServeGet(context.Background(), &pb.GetRequest{Key: "Tom"})
			got := time.Duration(res.GetTtlMs()) * time.Millisecond
			if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("TTL with rand %v = %v, want %v", tt.rand, got, tt.want)
			}
		})
	}
}

// TestCloseCancelsLoads checks that Close cancels a load in flight (the
// origin sees its context end) and that later loads fail at once.
func TestCloseCancelsLoads(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	cause := make(chan error, 1)
	g := newTestGroup(t, group.Config{Name: "close", Getter: group.GetterFunc(
		func(ctx context.Context, key string) ([]byte, error) {
			close(entered)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil, ctx.Err()
		})})
	errc := make(chan error, 1)
	go func() {
		_, err := g.Get(context.Background(), "k")
		errc <- err
	}()
	<-entered
	g.Close()
	if err := <-cause; !errors.Is(err, group.ErrClosed) {
		t.Errorf("origin's context cause after Close = %v, want ErrClosed", err)
	}
	if err := <-errc; err == nil {
		t.Errorf("Get cancelled by Close returned no error")
	}
	if _, err := g.Get(context.Background(), "k2"); !errors.Is(err, group.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
}

// TestFlushEmptiesEverything checks that Flush empties the caches and the
// remembered misses.
func TestFlushEmptiesEverything(t *testing.T) {
	t.Parallel()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "flush", Getter: db})
	mustGet(t, g, "Tom", "630")
	g.Get(context.Background(), "Kate")
	g.Flush()
	if n := g.Len(); n != 0 {
		t.Errorf("Len after Flush = %d, want 0", n)
	}
	mustGet(t, g, "Tom", "630")
	g.Get(context.Background(), "Kate")
	if a, b := db.Calls("Tom"), db.Calls("Kate"); a != 2 || b != 2 {
		t.Errorf("origin calls after Flush: Tom %d, Kate %d, want 2 and 2", a, b)
	}
}

// TestServeStaleOnOriginError checks MaxStale: once a value expired, an
// origin failure is answered with the old value until MaxStale runs out,
// the origin is retried at most once per StaleRetry meanwhile, and a
// recovered origin refreshes the value.
func TestServeStaleOnOriginError(t *testing.T) {
	t.Parallel()
	clk := newClock()
	var mu sync.Mutex
	failing, calls, value := false, 0, "v1"
	g := newTestGroup(t, group.Config{Name: "stale", TTL: 10 * time.Second, TTLJitter: -1, MaxStale: time.Minute, Now: clk.Now,
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if failing {
				return nil, errBoom
			}
			return []byte(value), nil
		})})
	set := func(f bool, v string) { mu.Lock(); failing, value = f, v; mu.Unlock() }
	origin := func() int { mu.Lock(); defer mu.Unlock(); return calls }

	mustGet(t, g, "k", "v1")
	set(true, "")
	clk.Advance(11 * time.Second) // expired; origin failing
	mustGet(t, g, "k", "v1")
	if n := origin(); n != 2 {
		t.Errorf("origin calls after the first stale serve = %d, want 2", n)
	}
	for range 5 {
		mustGet(t, g, "k", "v1") // within StaleRetry: no new origin attempt
	}
	if n := origin(); n != 2 {
		t.Errorf("origin calls within StaleRetry = %d, want 2", n)
	}
	clk.Advance(group.StaleRetry)
	mustGet(t, g, "k", "v1")
	if n := origin(); n != 3 {
		t.Errorf("origin calls after StaleRetry = %d, want 3", n)
	}
	if n := g.Stats.StaleServes.Load(); n != 2 {
		t.Errorf("Stats.StaleServes = %d, want 2", n)
	}
	set(false, "v2") // the origin recovers
	clk.Advance(group.StaleRetry)
	mustGet(t, g, "k", "v2")

	set(true, "")
	clk.Advance(10*time.Second + time.Minute + time.Second) // past TTL and MaxStale
	if _, err := g.Get(context.Background(), "k"); err == nil {
		t.Errorf("Get past MaxStale with a failing origin succeeded, want the origin's error")
	}
}

// TestNoStaleByDefault checks that without MaxStale an origin failure after
// expiry is an error.
func TestNoStaleByDefault(t *testing.T) {
	t.Parallel()
	clk := newClock()
	fail := false
	var mu sync.Mutex
	g := newTestGroup(t, group.Config{Name: "nostale", TTL: time.Second, TTLJitter: -1, Now: clk.Now,
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return nil, errBoom
			}
			return []byte("v"), nil
		})})
	mustGet(t, g, "k", "v")
	mu.Lock()
	fail = true
	mu.Unlock()
	clk.Advance(2 * time.Second)
	if _, err := g.Get(context.Background(), "k"); !errors.Is(err, errBoom) {
		t.Errorf("Get after expiry with a failing origin = %v, want errBoom", err)
	}
}
