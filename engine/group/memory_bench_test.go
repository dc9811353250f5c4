package group_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// fillGroup stores n keys of 16 bytes with 64-byte values into a group with
// no budget, through Set (a Get miss stores the same entry, at several
// times the cost of the load path), and returns it.
func fillGroup(tb testing.TB, n int) *group.Group {
	tb.Helper()
	value := make([]byte, 64)
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name: "memory",
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return value, nil
		}),
	})
	if err != nil {
		tb.Fatalf("NewGroupWithConfig = %v", err)
	}
	ctx := context.Background()
	for i := range n {
		key := fmt.Sprintf("key-%012d", i)
		if err := g.Set(ctx, key, value, 0); err != nil {
			tb.Fatalf("Set(%q) = %v", key, err)
		}
	}
	return g
}

// BenchmarkHeapPerKey reports what 1M cached keys (16-byte keys, 64-byte
// values) cost on the heap, per key, after a GC: bytes
// and objects. The keys are built inside the measurement, so a layout that
// keeps the caller's key string pays for it. Run with -benchtime=1x.
func BenchmarkHeapPerKey(b *testing.B) {
	const n = 1 << 20
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g := fillGroup(b, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/key")
		b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "objs/key")
		b.ReportMetric(float64(g.CacheStats(group.MainCache).Bytes)/n, "chargedB/key")
		runtime.KeepAlive(g)
	}
}

// BenchmarkGC reports the wall time of a full runtime.GC() with 1M and 5M
// keys cached (us/gc), and two measures of the mark work the cache's layout
// costs every cycle that do not depend on how loaded the machine is: the
// heap bytes the GC must scan for pointers (scanMB) and the heap objects
// (Mobjs).
func BenchmarkGC(b *testing.B) {
	for _, n := range []int{1 << 20, 5 << 20} {
		b.Run(fmt.Sprintf("keys=%dM", n>>20), func(b *testing.B) {
			g := fillGroup(b, n)
			runtime.GC()
			var total time.Duration
			runs := 0
			for b.Loop() {
				start := time.Now()
				runtime.GC()
				total += time.Since(start)
				runs++
			}
			b.ReportMetric(float64(total.Microseconds())/float64(runs), "us/gc")
			sample := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/objects:objects"}}
			metrics.Read(sample)
			b.ReportMetric(float64(sample[0].Value.Uint64())/(1<<20), "scanMB")
			b.ReportMetric(float64(sample[1].Value.Uint64())/1e6, "Mobjs")
			runtime.KeepAlive(g)
		})
	}
}
