package group

import (
	"fmt"
	"hash/maphash"
	"testing"
	"time"
)

// BenchmarkCacheShardsParallel measures parallel hits on the main cache
// split into independent lru+mutex shards (the budget would be split too),
// to decide whether sharding pays: shards=1 is the cache as it is.
func BenchmarkCacheShardsParallel(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			seed := maphash.MakeSeed()
			shards := make([]cache, n)
			keys := make([]string, 1<<10)
			value := make([]byte, 64)
			for i := range keys {
				keys[i] = fmt.Sprintf("key%08d", i)
				shards[maphash.String(seed, keys[i])%uint64(n)].add(keys[i], NewByteView(value), time.Time{})
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					k := keys[i%len(keys)]
					if _, _, ok := shards[maphash.String(seed, k)%uint64(n)].get(k); !ok {
						b.Errorf("get(%q) missed", k)
						return
					}
				}
			})
		})
	}
}
