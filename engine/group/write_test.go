package group_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// TestSetDelete checks Set and Delete on a node that owns every key.
func TestSetDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "write", Getter: db})

	value := []byte("700")
	if err := g.Set(ctx, "Tom", value, 0); err != nil {
		t.Errorf("Set(%q, %q) = %v, want <nil>", "Tom", value, err)
	}
	value[0] = 'X' // Set copied it
	mustGet(t, g, "Tom", "700")
	if n := db.Calls("Tom"); n != 0 {
		t.Errorf("Get after Set called the Getter %d times, want 0", n)
	}

	for i, want := range []bool{true, false} {
		if ok, err := g.Delete(ctx, "Tom"); ok != want || err != nil {
			t.Errorf("Delete(%q) #%d = %t, %v, want %t, <nil>", "Tom", i+1, ok, err, want)
		}
	}
	// Delete drops the cached value; the origin still has one.
	mustGet(t, g, "Tom", "630")
	if n := db.Calls("Tom"); n != 1 {
		t.Errorf("Get after Delete called the Getter %d times, want 1", n)
	}
	if ok, err := g.Delete(ctx, "Jack"); ok || err != nil {
		t.Errorf("Delete(%q) of a key never cached = %t, %v, want false, <nil>", "Jack", ok, err)
	}
	if got := g.Stats.Writes.Load(); got != 4 {
		t.Errorf("Stats.Writes = %d, want 4", got)
	}
}

// TestSetTTL checks with a fake clock how long a value stored by Set lives.
func TestSetTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ttl      time.Duration
		wantLife time.Duration // zero: never expires
	}{
		{"seconds", 30 * time.Second, 30 * time.Second},
		{"sub-millisecond rounds up", 500 * time.Microsecond, time.Millisecond},
		{"zero never expires", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			db := newOrigin(scores)
			// The group's TTL applies to loads only, not to Set.
			g := newTestGroup(t, group.Config{Name: "ttl", Getter: db, Now: clk.Now, TTL: time.Hour})
			if err := g.Set(context.Background(), "Tom", []byte("700"), tt.ttl); err != nil {
				t.Fatalf("Set(%q, %q, %v) = %v", "Tom", "700", tt.ttl, err)
			}
			if tt.wantLife == 0 {
				clk.Advance(365 * 24 * time.Hour)
				mustGet(t, g, "Tom", "700")
				return
			}
			clk.Advance(tt.wantLife - time.Nanosecond)
			mustGet(t, g, "Tom", "700")
			clk.Advance(time.Nanosecond)
			mustGet(t, g, "Tom", "630")
		})
	}
}

// TestIncrBy checks IncrBy on a node that owns every key. The origin holds
// "ten" = 10 and "abc" = abc; other keys are not found there.
func TestIncrBy(t *testing.T) {
	t.Parallel()
	const key = "n"
	tests := []struct {
		name      string
		key       string
		set       string // stored with Set first, unless empty
		delta     int64
		want      int64
		wantErr   error
		wantValue string // by Get afterwards
		wantCalls int    // of the Getter
	}{
		{"missing counts as zero", key, "", 5, 5, nil, "5", 1},
		{"missing, negative delta", key, "", -3, -3, nil, "-3", 1},
		{"origin value is the base", "ten", "", 5, 15, nil, "15", 1},
		{"cached value is the base", key, "7", 3, 10, nil, "10", 0},
		{"zero delta", key, "7", 0, 7, nil, "7", 0},
		{"not an integer", key, "abc", 1, 0, group.ErrNotInteger, "abc", 0},
		{"origin not an integer", "abc", "", 1, 0, group.ErrNotInteger, "abc", 1},
		{"space", key, " 5", 1, 0, group.ErrNotInteger, " 5", 0},
		{"plus sign", key, "+5", 1, 0, group.ErrNotInteger, "+5", 0},
		{"leading zero", key, "05", 1, 0, group.ErrNotInteger, "05", 0},
		{"minus zero", key, "-0", 1, 0, group.ErrNotInteger, "-0", 0},
		{"zero", key, "0", 1, 1, nil, "1", 0},
		{"too long", key, "9223372036854775808", 1, 0, group.ErrNotInteger, "9223372036854775808", 0},
		{"up to max", key, strconv.FormatInt(math.MaxInt64-1, 10), 1, math.MaxInt64, nil, strconv.FormatInt(math.MaxInt64, 10), 0},
		{"max+1", key, strconv.FormatInt(math.MaxInt64, 10), 1, 0, group.ErrOverflow, strconv.FormatInt(math.MaxInt64, 10), 0},
		{"down to min", key, strconv.FormatInt(math.MinInt64+1, 10), -1, math.MinInt64, nil, strconv.FormatInt(math.MinInt64, 10), 0},
		{"min-1", key, strconv.FormatInt(math.MinInt64, 10), -1, 0, group.ErrOverflow, strconv.FormatInt(math.MinInt64, 10), 0},
		{"min delta from -1", key, "-1", math.MinInt64, 0, group.ErrOverflow, "-1", 0},
		{"min delta from 0", key, "0", math.MinInt64, math.MinInt64, nil, strconv.FormatInt(math.MinInt64, 10), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := newOrigin(map[string]string{"ten": "10", "abc": "abc"})
			g := newTestGroup(t, group.Config{Name: "incr", Getter: db})
			if tt.set != "" {
				if err := g.Set(ctx, tt.key, []byte(tt.set), 0); err != nil {
					t.Fatalf("Set(%q, %q) = %v", tt.key, tt.set, err)
				}
			}
			n, err := g.IncrBy(ctx, tt.key, tt.delta)
			if tt.wantErr == nil && (n != tt.want || err != nil) {
				t.Errorf("IncrBy(%q, %d) = %d, %v, want %d, <nil>", tt.key, tt.delta, n, err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("IncrBy(%q, %d) = %d, %v, want error %v", tt.key, tt.delta, n, err, tt.wantErr)
			}
			if tt.wantValue != "" {
				mustGet(t, g, tt.key, tt.wantValue)
			}
			if c := db.Calls(tt.key); c != tt.wantCalls {
				t.Errorf("the Getter ran %d times, want %d", c, tt.wantCalls)
			}
		})
	}
}

// TestIncrByKeepsTTL checks that IncrBy, like Redis INCRBY, keeps the
// expiry of the value it changes.
func TestIncrByKeepsTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	g := newTestGroup(t, group.Config{Name: "incr", Getter: newOrigin(nil), Now: clk.Now})
	if err := g.Set(ctx, "n", []byte("5"), 10*time.Second); err != nil {
		t.Fatalf("Set(%q, %q) = %v", "n", "5", err)
	}
	clk.Advance(5 * time.Second)
	if n, err := g.IncrBy(ctx, "n", 1); n != 6 || err != nil {
		t.Errorf("IncrBy(%q, 1) = %d, %v, want 6, <nil>", "n", n, err)
	}
	clk.Advance(5 * time.Second)
	if v, err := g.Get(ctx, "n"); !errors.Is(err, group.ErrNotFound) {
		t.Errorf("Get(%q) after the TTL = %q, %v, want ErrNotFound", "n", v, err)
	}
}

// TestIncrByConcurrent runs 100 goroutines that each increment one key 10
// times. Every increment must count and return a distinct value.
func TestIncrByConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		base int64
	}{
		{"missing", "n", 0},
		{"origin value", "ten", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const goroutines, each = 100, 10
			db := newOrigin(map[string]string{"ten": "10"})
			g := newTestGroup(t, group.Config{Name: "incr", Getter: db})
			results := make(chan int64, goroutines*each)
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for range each {
						n, err := g.IncrBy(context.Background(), tt.key, 1)
						if err != nil {
							t.Errorf("IncrBy(%q, 1) = %v", tt.key, err)
						}
						results <- n
					}
				})
			}
			wg.Wait()
			close(results)
			var got []int64
			for n := range results {
				got = append(got, n)
			}
			slices.Sort(got)
			for i, n := range got {
				if want := tt.base + int64(i) + 1; n != want {
					t.Errorf("sorted IncrBy results[%d] = %d, want %d", i, n, want)
					break
				}
			}
			mustGet(t, g, tt.key, strconv.FormatInt(tt.base+goroutines*each, 10))
		})
	}
}

// TestWriteAtOwner checks that a write to a key a peer owns is sent to it,
// and that this node's hot copy is dropped.
func TestWriteAtOwner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(context.Context, *group.Group) (any, error)
		want any
		req  *pb.WriteRequest
	}{
		{"Set", func(ctx context.Context, g *group.Group) (any, error) {
			return nil, g.Set(ctx, "Tom", []byte("700"), 1500*time.Millisecond)
		}, nil, &pb.WriteRequest{Group: "owner", Key: "Tom", Op: pb.WriteRequest_OP_SET, Value: []byte("700"), TtlMs: 1500}},
		{"Delete", func(ctx context.Context, g *group.Group) (any, error) {
			return g.Delete(ctx, "Tom")
		}, true, &pb.WriteRequest{Group: "owner", Key: "Tom", Op: pb.WriteRequest_OP_DELETE}},
		{"IncrBy", func(ctx context.Context, g *group.Group) (any, error) {
			return g.IncrBy(ctx, "Tom", 3)
		}, int64(42), &pb.WriteRequest{Group: "owner", Key: "Tom", Op: pb.WriteRequest_OP_INCR, Delta: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			peer := valuesPeer(scores)
			peer.write = func(in *pb.WriteRequest) (*pb.WriteResponse, error) {
				return &pb.WriteResponse{Count: 1, IntValue: 42}, nil
			}
			db := newOrigin(scores)
			g := newTestGroup(t, group.Config{
				Name: "owner", Getter: db, HotProbability: 1, Rand: func() float64 { return 0 },
			})
			g.RegisterPeers(ownedBy(peer))
			mustGet(t, g, "Tom", "630")
			if n := g.CacheStats(group.HotCache).Items; n != 1 {
				t.Fatalf("CacheStats(HotCache).Items = %d before the write, want 1", n)
			}

			got, err := tt.do(ctx, g)
			if got != tt.want || err != nil {
				t.Errorf("%s = %v, %v, want %v, <nil>", tt.name, got, err, tt.want)
			}
			if w := peer.writes(); len(w) != 1 || !proto.Equal(w[0], tt.req) {
				t.Errorf("the owner got writes %v, want [%v]", w, tt.req)
			}
			if n := g.CacheStats(group.HotCache).Items; n != 0 {
				t.Errorf("CacheStats(HotCache).Items = %d after the write, want 0", n)
			}
			if n := db.Total(); n != 0 {
				t.Errorf("the local Getter ran %d times, want 0", n)
			}
			mustGet(t, g, "Tom", "630") // from the owner again
			if n := peer.gets.Load(); n != 2 {
				t.Errorf("the owner was asked %d times, want 2", n)
			}
		})
	}
}

// TestWriteAtOwnerErrors checks how a refusal or a transport failure at the
// owner reaches the caller.
func TestWriteAtOwnerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		res     *pb.WriteResponse
		err     error
		wantErr error
	}{
		{"not integer", &pb.WriteResponse{Error: pb.WriteResponse_ERROR_NOT_INTEGER}, nil, group.ErrNotInteger},
		{"overflow", &pb.WriteResponse{Error: pb.WriteResponse_ERROR_OVERFLOW}, nil, group.ErrOverflow},
		{"transport", nil, errBoom, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peer := &fakePeer{write: func(*pb.WriteRequest) (*pb.WriteResponse, error) { return tt.res, tt.err }}
			g := newTestGroup(t, group.Config{Name: "owner", Getter: newOrigin(nil)})
			g.RegisterPeers(ownedBy(peer))
			if n, err := g.IncrBy(context.Background(), "n", 1); !errors.Is(err, tt.wantErr) {
				t.Errorf("IncrBy(%q, 1) = %d, %v, want error %v", "n", n, err, tt.wantErr)
			}
		})
	}
}

// TestWriteInvalidatesPeers checks that a write this node owns tells every
// other node to drop its copy once a peer has fetched the key, and that a
// node it cannot reach is counted but does not fail the write.
func TestWriteInvalidatesPeers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(context.Context, *group.Group) error
	}{
		{"Set", func(ctx context.Context, g *group.Group) error { return g.Set(ctx, "Tom", []byte("700"), 0) }},
		{"Delete", func(ctx context.Context, g *group.Group) error { _, err := g.Delete(ctx, "Tom"); return err }},
		{"IncrBy", func(ctx context.Context, g *group.Group) error { _, err := g.IncrBy(ctx, "Tom", 1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := &fakePeer{}
			down := &fakePeer{write: func(*pb.WriteRequest) (*pb.WriteResponse, error) { return nil, errBoom }}
			g := newTestGroup(t, group.Config{Name: "inval", Getter: newOrigin(scores)})
			g.RegisterPeers(&picker{peers: []group.PeerGetter{up, down}}) // this node owns every key
			// A peer fetches Tom, and so may hold a hot copy of it.
			if res := g.ServeGet(context.Background(), &pb.GetRequest{Key: "Tom"}); string(res.GetValue()) != "630" {
				t.Fatalf("ServeGet(Tom) = %v", res)
			}

			if err := tt.do(context.Background(), g); err != nil {
				t.Errorf("%s(%q) = %v, want <nil>", tt.name, "Tom", err)
			}
			want := &pb.WriteRequest{Group: "inval", Key: "Tom", Op: pb.WriteRequest_OP_DROP}
			for name, p := range map[string]*fakePeer{"up": up, "down": down} {
				if w := p.writes(); len(w) != 1 || !proto.Equal(w[0], want) {
					t.Errorf("peer %s got writes %v, want [%v]", name, w, want)
				}
			}
			if n := g.Stats.Invalidations.Load(); n != 1 {
				t.Errorf("Stats.Invalidations = %d, want 1 (the peer that is down)", n)
			}
		})
	}

	t.Run("refused write", func(t *testing.T) {
		t.Parallel()
		peer := &fakePeer{}
		g := newTestGroup(t, group.Config{Name: "inval", Getter: newOrigin(map[string]string{"abc": "abc"})})
		g.RegisterPeers(&picker{peers: []group.PeerGetter{peer}})
		if _, err := g.IncrBy(context.Background(), "abc", 1); !errors.Is(err, group.ErrNotInteger) {
			t.Errorf("IncrBy(%q, 1) error = %v, want ErrNotInteger", "abc", err)
		}
		if w := peer.writes(); len(w) != 0 {
			t.Errorf("a refused write sent %v, want nothing", w)
		}
	})
}

// TestExists checks that Exists reports what is cached at the owner and
// never calls a Getter.
func TestExists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("local", func(t *testing.T) {
		t.Parallel()
		db := newOrigin(scores)
		g := newTestGroup(t, group.Config{Name: "exists", Getter: db})
		if ok, err := g.Exists(ctx, "Tom"); ok || err != nil {
			t.Errorf("Exists(%q) before Get = %t, %v, want false, <nil>", "Tom", ok, err)
		}
		mustGet(t, g, "Tom", "630")
		if ok, err := g.Exists(ctx, "Tom"); !ok || err != nil {
			t.Errorf("Exists(%q) after Get = %t, %v, want true, <nil>", "Tom", ok, err)
		}
		if n := db.Total(); n != 1 {
			t.Errorf("the Getter ran %d times, want 1 (the Get)", n)
		}
	})

	t.Run("peer", func(t *testing.T) {
		t.Parallel()
		peer := &fakePeer{get: func(in *pb.GetRequest) (*pb.GetResponse, error) {
			if !in.GetPeek() {
				t.Errorf("Exists sent %v, want a peek", in)
			}
			if in.GetKey() == "Tom" {
				return &pb.GetResponse{Value: []byte("630")}, nil
			}
			return &pb.GetResponse{NotFound: true}, nil
		}}
		db := newOrigin(scores)
		g := newTestGroup(t, group.Config{Name: "exists", Getter: db})
		g.RegisterPeers(ownedBy(peer))
		for key, want := range map[string]bool{"Tom": true, "Sam": false} {
			if ok, err := g.Exists(ctx, key); ok != want || err != nil {
				t.Errorf("Exists(%q) = %t, %v, want %t, <nil>", key, ok, err, want)
			}
		}
		if n := db.Total(); n != 0 {
			t.Errorf("the local Getter ran %d times, want 0", n)
		}
	})

	t.Run("peer down", func(t *testing.T) {
		t.Parallel()
		g := newTestGroup(t, group.Config{Name: "exists", Getter: newOrigin(scores)})
		g.RegisterPeers(ownedBy(fixedPeer(nil, errBoom)))
		if ok, err := g.Exists(ctx, "Tom"); !errors.Is(err, errBoom) {
			t.Errorf("Exists(%q) = %t, %v, want an error wrapping boom", "Tom", ok, err)
		}
	})
}

// TestWriteInvalidatesOnlySharedKeys checks that writes skip the
// invalidation round trip for keys no peer fetched within the last hot-copy
// lifetime (plus margin), and send it for those that were.
func TestWriteInvalidatesOnlySharedKeys(t *testing.T) {
	t.Parallel()
	clk := newClock()
	peer := &fakePeer{}
	g := newTestGroup(t, group.Config{Name: "shared", Getter: newOrigin(scores), HotTTL: 5 * time.Second, Now: clk.Now})
	g.RegisterPeers(&picker{peers: []group.PeerGetter{peer}})
	ctx := context.Background()

	set := func(key string) int {
		t.Helper()
		before := len(peer.writes())
		if err := g.Set(ctx, key, []byte("x"), 0); err != nil {
			t.Fatalf("Set(%q) = %v", key, err)
		}
		return len(peer.writes()) - before
	}
	if n := set("Tom"); n != 0 {
		t.Errorf("Set of a key no peer fetched sent %d invalidations, want 0", n)
	}
	g.ServeGet(ctx, &pb.GetRequest{Key: "Jack"})
	g.ServeGet(ctx, &pb.GetRequest{Key: "Sam", Peek: true}) // a peek leaves no copy
	if n := set("Jack"); n != 1 {
		t.Errorf("Set of a key a peer fetched sent %d invalidations, want 1", n)
	}
	if n := set("Sam"); n != 0 {
		t.Errorf("Set of a key a peer only peeked at sent %d invalidations, want 0", n)
	}
	clk.Advance(5 * time.Second) // still within HotTTL plus margin of the fetch
	if n := set("Jack"); n != 1 {
		t.Errorf("Set %v after the fetch sent %d invalidations, want 1", 5*time.Second, n)
	}
	clk.Advance(7 * time.Second) // two periods of HotTTL+1s after the fetch: no copy can be alive
	if n := set("Jack"); n != 0 {
		t.Errorf("Set %v after the fetch sent %d invalidations, want 0", 12*time.Second, n)
	}
}
