//go:build unix

package group_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rcache/rcache/engine/group"
)

// setBenchKeys is how many distinct keys the Set benchmarks draw from, as
// redis-benchmark -r 100000 does.
const setBenchKeys = 100_000

// setBenchGroup returns a single-node group (NoPeers) with the budget
// cmd/rcache gives its default group, and the keys to write.
func setBenchGroup(b *testing.B) (*group.Group, []string) {
	b.Helper()
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name:       "bench",
		CacheBytes: 64 << 20,
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return nil, group.ErrNotFound
		}),
	})
	if err != nil {
		b.Fatalf("NewGroupWithConfig = %v", err)
	}
	g.RegisterPeers(group.NoPeers{})
	keys := make([]string, setBenchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	return g, keys
}

// nextKey steps a xorshift generator and returns an index below n.
func nextKey(x *uint64, n int) int {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return int(*x % uint64(n))
}

// cpuNanos returns the CPU time, user and system, the process has used.
func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports cpu-ns/op: the process's CPU time per operation since
// start, garbage collection included. On a machine shared with other work
// it varies less than ns/op, which counts the time spent descheduled.
func reportCPU(b *testing.B, start int64) {
	b.ReportMetric(float64(cpuNanos(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSet measures SET on a single node: keys drawn at random from
// 100k, values of 64 B and 4 KiB, from one goroutine and from GOMAXPROCS.
// The budget is cmd/rcache's default, so 4 KiB values also evict.
func BenchmarkSet(b *testing.B) {
	for _, size := range []int{64, 4096} {
		value := make([]byte, size)
		b.Run(fmt.Sprintf("value=%d/serial", size), func(b *testing.B) {
			g, keys := setBenchGroup(b)
			ctx := context.Background()
			x := uint64(88172645463325252)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			start := cpuNanos(b)
			for b.Loop() {
				k := keys[nextKey(&x, len(keys))]
				if _, err := g.SetWithOptions(ctx, k, value, group.SetOptions{}); err != nil {
					b.Fatalf("Set(%q) = %v", k, err)
				}
			}
			reportCPU(b, start)
		})
		b.Run(fmt.Sprintf("value=%d/parallel", size), func(b *testing.B) {
			g, keys := setBenchGroup(b)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var seed atomic.Uint64
			b.ResetTimer()
			start := cpuNanos(b)
			b.RunParallel(func(pb *testing.PB) {
				x := 88172645463325252 + 2*seed.Add(1) // a different nonzero seed each
				for pb.Next() {
					k := keys[nextKey(&x, len(keys))]
					if _, err := g.SetWithOptions(ctx, k, value, group.SetOptions{}); err != nil {
						b.Errorf("Set(%q) = %v", k, err)
						return
					}
				}
			})
			reportCPU(b, start)
		})
	}
}
