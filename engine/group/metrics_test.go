package group_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// TestOnLoad checks that Config.OnLoad sees every Getter call, with its
// outcome and a duration that covers the call.
func TestOnLoad(t *testing.T) {
	t.Parallel()
	type call struct {
		d   time.Duration
		err error
	}
	var mu sync.Mutex
	var calls []call
	boom := errors.New("boom")
	g := newTestGroup(t, group.Config{
		Name: "onload",
		Getter: group.GetterFunc(func(_ context.Context, key string) ([]byte, error) {
			switch key {
			case "slow":
				time.Sleep(20 * time.Millisecond)
				return []byte("v"), nil
			case "missing":
				return nil, group.ErrNotFound
			case "panic":
				panic("getter panics")
			}
			return nil, boom
		}),
		OnLoad: func(d time.Duration, err error) {
			mu.Lock()
			calls = append(calls, call{d, err})
			mu.Unlock()
		},
	})
	ctx := context.Background()
	for _, key := range []string{"slow", "slow", "missing", "broken", "panic"} {
		g.Get(ctx, key)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 4 {
		t.Fatalf("OnLoad called %d times, want 4 (the second slow is a hit): %v", len(calls), calls)
	}
	if calls[0].err != nil || calls[0].d < 20*time.Millisecond {
		t.Errorf("OnLoad for slow = %v, %v, want >= 20ms, <nil>", calls[0].d, calls[0].err)
	}
	if !errors.Is(calls[1].err, group.ErrNotFound) {
		t.Errorf("OnLoad for missing got %v, want ErrNotFound", calls[1].err)
	}
	if !errors.Is(calls[2].err, boom) {
		t.Errorf("OnLoad for broken got %v, want boom", calls[2].err)
	}
	if calls[3].err == nil {
		t.Errorf("OnLoad for a panicking Getter got a nil error")
	}
}

// TestHotHits checks that hits on hot copies are counted apart from all
// cache hits.
func TestHotHits(t *testing.T) {
	t.Parallel()
	peer := valuesPeer(map[string]string{"Tom": "630"})
	g := newTestGroup(t, group.Config{Name: "hot", Getter: newOrigin(nil), HotProbability: 1, Rand: func() float64 { return 0 }})
	g.RegisterPeers(ownedBy(peer))
	mustGet(t, g, "Tom", "630") // from the peer, kept as a hot copy
	mustGet(t, g, "Tom", "630") // hot hit
	g.Lookup("Tom")             // hot hit
	if h, c := g.Stats.HotHits.Load(), g.Stats.CacheHits.Load(); h != 2 || c != 2 {
		t.Errorf("HotHits, CacheHits = %d, %d, want 2, 2", h, c)
	}
	if err := g.ServeWrite(context.Background(), &pb.WriteRequest{Key: "Tom", Op: pb.WriteRequest_OP_SET, Value: []byte("1")}); err.GetError() != pb.WriteResponse_ERROR_NONE {
		t.Fatalf("ServeWrite(SET) = %v", err)
	}
	mustGet(t, g, "Tom", "1") // main hit
	if h, c := g.Stats.HotHits.Load(), g.Stats.CacheHits.Load(); h != 2 || c != 3 {
		t.Errorf("after a main hit, HotHits, CacheHits = %d, %d, want 2, 3", h, c)
	}
}
