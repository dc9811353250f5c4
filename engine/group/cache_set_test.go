package group

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/lru"
)

// TestCacheSetIsModifyPut drives two caches with the same random writes,
// one through set and one through modify with a function that puts without
// looking, as a plain SET did before set existed, and checks that they
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
			a, b := newCache(), newCache()
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
				if sa, sb := a.stats(), b.stats(); sa != sb {
					t.Fatalf("step %d: set's stats %+v, modify's %+v", step, sa, sb)
				}
				now = now.Add(time.Duration(r.IntN(1500)) * time.Millisecond)
			}
			entries := func(c *cache) []lru.Entry {
				var es []lru.Entry
				c.lru.Walk(func(e lru.Entry) bool { es = append(es, e); return true })
				return es
			}
			if ea, eb := entries(a), entries(b); !slices.Equal(ea, eb) {
				t.Errorf("entries differ:\nset:    %+v\nmodify: %+v", ea, eb)
			}
			if st := a.stats(); st.Evictions == 0 || st.Items == 0 {
				t.Errorf("stats %+v: the test covers too little", st)
			}
		})
	}
}
