package group

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/lru"
)

// TestCacheSetIsModifyPut drives three caches with the same random writes,
// one through set, one through setBytes (whose bytes are then cleared) and
// one through modify with a function that puts without looking, as a plain
// SET did before set existed, and checks that they
// count the same evictions and hold the same entries: with expiring and
// stale-kept values, a budget, and values over maxItem.
func TestCacheSetIsModifyPut(t *testing.T) {
	for _, staleFor := range []time.Duration{0, 3 * time.Second} {
		t.Run(fmt.Sprintf("staleFor %v", staleFor), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(staleFor), 11))
			now := time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			newCache := func() *cache {
				return &cache{maxBytes: 2000, maxItem: 400, now: clock, staleFor: staleFor}
			}
			a, b, c := newCache(), newCache(), newCache()
			for step := range 3000 {
				key := fmt.Sprint("k", r.IntN(20))
				v := StringView(strings.Repeat("v", r.IntN(450)))
				var expire time.Time
				if r.IntN(2) == 0 {
					expire = now.Add(time.Duration(r.IntN(10)) * time.Second)
				}
				a.set(key, v, expire)
				b.modify(key, func(ByteView, time.Time, bool) change {
					return change{op: putEntry, view: v, expire: expire}
				})
				buf := v.ByteSlice()
				c.setBytes(key, buf, expire)
				clear(buf) // the cache must have copied them
				if sa, sb, sc := a.stats(), b.stats(), c.stats(); sa != sb || sc != sb {
					t.Fatalf("step %d: set's stats %+v, setBytes' %+v, modify's %+v", step, sa, sc, sb)
				}
				now = now.Add(time.Duration(r.IntN(1500)) * time.Millisecond)
			}
			entries := func(c *cache) []lru.Entry {
				var es []lru.Entry
				c.lru.Walk(func(e lru.Entry) bool { es = append(es, e); return true })
				return es
			}
			if ea, eb, ec := entries(a), entries(b), entries(c); !slices.Equal(ea, eb) || !slices.Equal(ec, eb) {
				t.Errorf("entries differ:\nset:      %+v\nsetBytes: %+v\nmodify:   %+v", ea, ec, eb)
			}
			if st := a.stats(); st.Evictions == 0 || st.Items == 0 {
				t.Errorf("stats %+v: the test covers too little", st)
			}
		})
	}
}

// TestCacheSetBytesAllocs checks that storing a value from bytes the
// caller owns allocates nothing in steady state, where storing it as a
// ByteView first costs the view's copy: the SET path's one allocation.
func TestCacheSetBytesAllocs(t *testing.T) {
	c := &cache{maxBytes: 1 << 20}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	value := make([]byte, 64)
	for range 3 {
		for _, k := range keys {
			c.setBytes(k, value, time.Time{})
		}
	}
	const sets = 100_000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range sets {
		c.setBytes(keys[i%len(keys)], value, time.Time{})
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.Mallocs-before.Mallocs) / sets; per >= 0.01 {
		t.Errorf("setBytes of 64 bytes allocates %.4f times, want < 0.01", per)
	}
}

// BenchmarkCacheSet measures a plain SET's store into the cache: from a
// ByteView copied from the request's bytes first (set(NewByteView)), or
// from the bytes themselves (setBytes).
func BenchmarkCacheSet(b *testing.B) {
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	for _, size := range []int{64, 4096} {
		value := make([]byte, size)
		for _, path := range []string{"view", "bytes"} {
			b.Run(fmt.Sprintf("value=%d/%s", size, path), func(b *testing.B) {
				c := &cache{maxBytes: 64 << 20}
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for i := 0; b.Loop(); i++ {
					k := keys[i%len(keys)]
					if path == "view" {
						c.set(k, NewByteView(value), time.Time{})
					} else {
						c.setBytes(k, value, time.Time{})
					}
				}
			})
		}
	}
}
