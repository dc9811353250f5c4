package group_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rcache/rcache/engine/group"
)

// benchGroup returns a group whose Getter answers every key with a 64-byte
// value, holding n keys already loaded, and those keys.
func benchGroup(b *testing.B, n int) (*group.Group, []string) {
	b.Helper()
	value := make([]byte, 64)
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name: "bench",
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return value, nil
		}),
	})
	if err != nil {
		b.Fatalf("NewGroupWithConfig = %v", err)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%08d", i)
		if _, err := g.Get(context.Background(), keys[i]); err != nil {
			b.Fatalf("Get(%q) = %v", keys[i], err)
		}
	}
	return g, keys
}

// BenchmarkGetHit measures a Get served from the main cache.
func BenchmarkGetHit(b *testing.B) {
	g, keys := benchGroup(b, 1<<10)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := g.Get(ctx, keys[i%len(keys)]); err != nil {
			b.Fatalf("Get(%q) = %v", keys[i%len(keys)], err)
		}
	}
}

// BenchmarkGetHitParallel measures cache hits from GOMAXPROCS goroutines,
// which all contend on the main cache's mutex.
func BenchmarkGetHitParallel(b *testing.B) {
	g, keys := benchGroup(b, 1<<10)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := g.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Errorf("Get(%q) = %v", keys[i%len(keys)], err)
				return
			}
		}
	})
}

// BenchmarkGetMiss measures the load path: the key is never cached because
// the Getter reports it not found, so every Get starts a load.
func BenchmarkGetMiss(b *testing.B) {
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name: "bench",
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return nil, group.ErrNotFound
		}),
	})
	if err != nil {
		b.Fatalf("NewGroupWithConfig = %v", err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Get(ctx, "missing"); err == nil {
			b.Fatalf("Get(%q) = <nil>, want ErrNotFound", "missing")
		}
	}
}
