package lru

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// String is the cache's value type; the tests name it to read like the
// values they store.
type String = string

// base is the fake clock's starting instant in the expiry tests.
var base = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// recorder collects the keys passed to OnEvicted, in call order.
type recorder struct{ keys []string }

func (r *recorder) onEvicted(key, _ string) { r.keys = append(r.keys, key) }

// newClockCache returns a cache with the given budget whose OnEvicted feeds
// the returned recorder and whose clock reads *now.
func newClockCache(maxBytes int64, now *time.Time) (*Cache, *recorder) {
	rec := &recorder{}
	c := New(maxBytes, rec.onEvicted)
	c.Now = func() time.Time { return *now }
	return c, rec
}

// checkInvariants verifies the cache's internal bookkeeping: the list is
// linked both ways, the index and the list hold the same entries, every
// slot is either listed or free, nbytes is the sum of the entries' sizes,
// and each page's live bytes are the sizes of the records nodes point at.
func checkInvariants(t *testing.T, c *Cache) {
	t.Helper()
	var sum int64
	listed := 0
	live := make(map[int32]int64)
	if len(c.nodes) > 0 {
		for i := c.nodes[0].next; i != 0; i = c.nodes[i].next {
			n := &c.nodes[i]
			if c.nodes[n.next].prev != i {
				t.Errorf("node %d's next does not link back", i)
				return
			}
			if listed++; listed > len(c.nodes) {
				t.Errorf("the list has a cycle")
				return
			}
			if n.page < 0 || int(n.page) >= len(c.pages) || c.pages[n.page].buf == nil {
				t.Errorf("node %d points at page %d, which does not exist", i, n.page)
				return
			}
			buf, r := c.rec(i)
			if got := int32(binary.LittleEndian.Uint32(buf[n.off:])); got != i {
				t.Errorf("node %d's record names node %d", i, got)
			}
			live[n.page] += r.size
			sum += c.EntryOverhead + int64(r.klen+r.vlen)
			if j := c.lookup(c.entry(i).Key()); j != i {
				t.Errorf("lookup(%q) = %d, want node %d", c.entry(i).Key(), j, i)
			}
		}
	}
	free := 0
	for i := c.free; i != 0; i = c.nodes[i].next {
		if c.nodes[i].page >= 0 {
			t.Errorf("free node %d still points at page %d", i, c.nodes[i].page)
		}
		if free++; free > len(c.nodes) {
			t.Errorf("the free list has a cycle")
			return
		}
	}
	chained := 0
	for _, s := range c.items.slots {
		if s != 0 {
			chained++
		}
	}
	if chained != c.items.n {
		t.Errorf("the index counts %d slots in use, holds %d", c.items.n, chained)
	}
	if got, want := c.Len(), listed; got != want || chained != want {
		t.Errorf("Len() = %d, the index holds %d, want the list's %d", got, chained, want)
	}
	if len(c.nodes) > 0 && listed+free != len(c.nodes)-1 {
		t.Errorf("%d listed + %d free nodes, want %d", listed, free, len(c.nodes)-1)
	}
	if got := c.Bytes(); got != sum {
		t.Errorf("Bytes() = %d, want sum of EntryOverhead+len(key)+len(value) = %d", got, sum)
	}
	if c.maxBytes > 0 && c.Bytes() > c.maxBytes {
		t.Errorf("Bytes() = %d, over budget %d", c.Bytes(), c.maxBytes)
	}
	var liveSum, pageSum int64
	for p, pg := range c.pages {
		if pg.buf == nil {
			continue
		}
		pageSum += int64(cap(pg.buf))
		liveSum += pg.live
		if pg.live != live[int32(p)] {
			t.Errorf("page %d counts %d live bytes, its records hold %d", p, pg.live, live[int32(p)])
		}
		if pg.live == 0 && int32(p) != c.head {
			t.Errorf("page %d holds no live record but was kept", p)
		}
	}
	if liveSum != c.liveBytes || pageSum != c.pageBytes {
		t.Errorf("liveBytes, pageBytes = %d, %d; the pages sum to %d, %d", c.liveBytes, c.pageBytes, liveSum, pageSum)
	}
	// While the first pages, smaller than full-grown, are around, they may
	// hold a page's worth of dead bytes more; see compactIfNeeded.
	bound := c.maxDead()
	if c.fullPage() > minPageSize {
		bound += c.fullPage()
	}
	if d := c.deadBytes(); d > bound {
		t.Errorf("%d dead bytes in %d bytes of pages, over the bound %d", d, c.pageBytes, bound)
	}
}

// checkGet checks that Get(key) returns want, or misses if wantOK is false.
func checkGet(t *testing.T, c *Cache, key string, want String, wantOK bool) {
	t.Helper()
	v, ok := c.Get(key)
	switch {
	case ok != wantOK:
		t.Errorf("Get(%q) ok = %v, want %v", key, ok, wantOK)
	case ok && v != want:
		t.Errorf("Get(%q) = %q, want %q", key, v, want)
	case !ok && v != "":
		t.Errorf("Get(%q) = %q on a miss, want \"\"", key, v)
	}
}

func checkLenBytes(t *testing.T, c *Cache, wantLen int, wantBytes int64) {
	t.Helper()
	if got := c.Len(); got != wantLen {
		t.Errorf("Len() = %d, want %d", got, wantLen)
	}
	if got := c.Bytes(); got != wantBytes {
		t.Errorf("Bytes() = %d, want %d", got, wantBytes)
	}
}

func checkEvicted(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	if !slices.Equal(rec.keys, want) {
		t.Errorf("OnEvicted saw %q, want %q", rec.keys, want)
	}
}

// TestAddEvictsOldest is the design doc's removal case: the budget holds the
// first two entries exactly, so the third pushes out the first.
func TestAddEvictsOldest(t *testing.T) {
	k1, k2, k3 := "key1", "key2", "k3"
	v1, v2, v3 := "value1", "value2", "v3"
	c := New(int64(len(k1+k2+v1+v2)), nil)
	c.Add(k1, String(v1))
	c.Add(k2, String(v2))
	c.Add(k3, String(v3))

	checkGet(t, c, k1, "", false)
	checkGet(t, c, k2, String(v2), true)
	checkGet(t, c, k3, String(v3), true)
	if got := c.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
}

// TestOnEvicted is the design doc's callback case: key1 fills the budget on
// its own, so k2 pushes it out, and k4 later pushes out k2.
func TestOnEvicted(t *testing.T) {
	rec := &recorder{}
	c := New(10, rec.onEvicted)
	c.Add("key1", String("123456"))
	c.Add("k2", String("k2"))
	c.Add("k3", String("k3"))
	c.Add("k4", String("k4"))

	checkEvicted(t, rec, "key1", "k2")
	checkLenBytes(t, c, 2, 8)
}

func TestGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		want   String
		wantOK bool
	}{
		{name: "hit", key: "a", want: "1", wantOK: true},
		{name: "hit empty value", key: "empty", want: "", wantOK: true},
		{name: "hit empty key", key: "", want: "nokey", wantOK: true},
		{name: "miss", key: "b", wantOK: false},
		{name: "miss prefix of a key", key: "emp", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New(0, nil)
			c.Add("a", String("1"))
			c.Add("empty", String(""))
			c.Add("", String("nokey"))
			checkGet(t, c, tt.key, tt.want, tt.wantOK)
			checkLenBytes(t, c, 3, 2+5+5)
		})
	}
}

// TestGetMovesToFront checks that a Get makes its entry the most recently
// used, so the next eviction takes the entry after it instead.
func TestGetMovesToFront(t *testing.T) {
	rec := &recorder{}
	c := New(6, rec.onEvicted) // room for three 2-byte entries
	c.Add("a", String("1"))
	c.Add("b", String("2"))
	c.Add("c", String("3"))
	checkGet(t, c, "a", "1", true)
	c.Add("d", String("4"))

	checkEvicted(t, rec, "b")
	checkGet(t, c, "a", "1", true)
	checkGet(t, c, "b", "", false)
	checkGet(t, c, "c", "3", true)
	checkGet(t, c, "d", "4", true)
}

func TestAddUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		maxBytes    int64
		value       String // new value for "a", initially "1234"
		wantBytes   int64
		wantEvicted []string
	}{
		{name: "same size", maxBytes: 0, value: "abcd", wantBytes: 5 + 5 + 5},
		{name: "grow", maxBytes: 0, value: "123456789", wantBytes: 10 + 5 + 5},
		{name: "shrink", maxBytes: 0, value: "1", wantBytes: 2 + 5 + 5},
		{name: "shrink to empty", maxBytes: 0, value: "", wantBytes: 1 + 5 + 5},
		// "a" moves to the front when updated, so growing it past the budget
		// evicts "b" and then "c", never "a" itself.
		{name: "grow past budget", maxBytes: 15, value: "12345678", wantBytes: 9 + 5, wantEvicted: []string{"b"}},
		{name: "grow to whole budget", maxBytes: 15, value: "12345678901234", wantBytes: 15, wantEvicted: []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			c := New(tt.maxBytes, rec.onEvicted)
			c.Add("a", String("1234"))
			c.Add("b", String("1234"))
			c.Add("c", String("1234"))
			checkLenBytes(t, c, 3, 15)

			c.Add("a", tt.value)

			checkEvicted(t, rec, tt.wantEvicted...)
			checkLenBytes(t, c, 3-len(tt.wantEvicted), tt.wantBytes)
			checkInvariants(t, c)
			checkGet(t, c, "a", tt.value, true)
		})
	}
}

// TestAddTooLarge checks that an entry larger than the whole budget is
// refused without emptying the cache to make room for it.
func TestAddTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		value   String
		wantLen int
	}{
		// The budget is 10; "a", "b" and "c" take 2 bytes each.
		{name: "new key", key: "big", value: "12345678", wantLen: 3},
		{name: "new key one over budget", key: "x", value: "1234567890", wantLen: 3},
		{name: "existing key drops old value", key: "b", value: "1234567890", wantLen: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			c := New(10, rec.onEvicted)
			c.Add("a", String("1"))
			c.Add("b", String("2"))
			c.Add("c", String("3"))

			c.Add(tt.key, tt.value)

			checkGet(t, c, tt.key, "", false)
			for _, k := range []string{"a", "b", "c"} {
				if k != tt.key {
					checkGet(t, c, k, String(map[string]string{"a": "1", "b": "2", "c": "3"}[k]), true)
				}
			}
			checkLenBytes(t, c, tt.wantLen, int64(2*tt.wantLen))
			checkEvicted(t, rec)
			checkInvariants(t, c)
		})
	}
}

// TestAddWholeBudget checks the boundary next to TestAddTooLarge: an entry
// exactly as large as the budget is stored, evicting everything else.
func TestAddWholeBudget(t *testing.T) {
	rec := &recorder{}
	c := New(10, rec.onEvicted)
	c.Add("a", String("1"))
	c.Add("b", String("2"))
	c.Add("big", String("1234567"))

	checkGet(t, c, "big", "1234567", true)
	checkLenBytes(t, c, 1, 10)
	checkEvicted(t, rec, "a", "b")
}

func TestNoLimit(t *testing.T) {
	rec := &recorder{}
	c := New(0, rec.onEvicted)
	const n = 1000
	var want int64
	for i := range n {
		k, v := fmt.Sprintf("key%d", i), String(strings.Repeat("v", i%50))
		c.Add(k, v)
		want += int64(len(k) + len(v))
	}

	checkLenBytes(t, c, n, want)
	checkEvicted(t, rec)
	for i := range n {
		checkGet(t, c, fmt.Sprintf("key%d", i), String(strings.Repeat("v", i%50)), true)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		keys      []string // removed in order
		want      []bool
		wantLen   int
		wantBytes int64
	}{
		{name: "present", keys: []string{"a"}, want: []bool{true}, wantLen: 1, wantBytes: 3},
		{name: "absent", keys: []string{"z"}, want: []bool{false}, wantLen: 2, wantBytes: 5},
		{name: "twice", keys: []string{"bb", "bb"}, want: []bool{true, false}, wantLen: 1, wantBytes: 2},
		{name: "all", keys: []string{"a", "bb"}, want: []bool{true, true}, wantLen: 0, wantBytes: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			c := New(100, rec.onEvicted)
			c.Add("a", String("1"))
			c.Add("bb", String("2"))

			for i, k := range tt.keys {
				if got := c.Remove(k); got != tt.want[i] {
					t.Errorf("Remove(%q) #%d = %v, want %v", k, i+1, got, tt.want[i])
				}
				checkGet(t, c, k, "", false)
			}

			checkLenBytes(t, c, tt.wantLen, tt.wantBytes)
			checkEvicted(t, rec)
			checkInvariants(t, c)
		})
	}
}

func TestRemoveOldestEmpty(t *testing.T) {
	rec := &recorder{}
	c := New(10, rec.onEvicted)
	c.RemoveOldest()

	checkLenBytes(t, c, 0, 0)
	checkEvicted(t, rec)
}

func TestRemoveOldest(t *testing.T) {
	rec := &recorder{}
	c := New(0, rec.onEvicted)
	c.Add("a", String("1"))
	c.Add("b", String("2"))
	checkGet(t, c, "a", "1", true) // "b" is now the oldest

	c.RemoveOldest()
	checkEvicted(t, rec, "b")
	c.RemoveOldest()
	checkEvicted(t, rec, "b", "a")
	c.RemoveOldest()
	checkEvicted(t, rec, "b", "a")
	checkLenBytes(t, c, 0, 0)
}

func TestClear(t *testing.T) {
	rec := &recorder{}
	c := New(6, rec.onEvicted)
	c.Add("a", String("1"))
	c.Add("b", String("2"))

	c.Clear()

	checkLenBytes(t, c, 0, 0)
	checkGet(t, c, "a", "", false)
	checkGet(t, c, "b", "", false)
	checkEvicted(t, rec)

	// The cache stays usable and keeps its budget after Clear.
	for _, k := range []string{"c", "d", "e", "f"} {
		c.Add(k, String("1"))
	}
	checkLenBytes(t, c, 3, 6)
	checkEvicted(t, rec, "c")
	checkInvariants(t, c)
}

// TestExpiry checks Get and GetWithExpiry on either side of the expiry
// instant: the entry is live strictly before it and gone from it on.
func TestExpiry(t *testing.T) {
	t.Parallel()
	expire := base.Add(10 * time.Second)
	tests := []struct {
		name    string
		advance time.Duration
		wantOK  bool
	}{
		{name: "at add", advance: 0, wantOK: true},
		{name: "before", advance: 9 * time.Second, wantOK: true},
		{name: "1ns before", advance: 10*time.Second - 1, wantOK: true},
		{name: "at", advance: 10 * time.Second, wantOK: false},
		{name: "after", advance: time.Hour, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := base
			c, rec := newClockCache(0, &now)
			c.AddWithExpiry("a", String("1"), expire)
			c.Add("b", String("2"))
			now = now.Add(tt.advance)

			v, gotExpire, ok := c.GetWithExpiry("a")
			if ok != tt.wantOK {
				t.Fatalf("GetWithExpiry(%q) ok = %v, want %v", "a", ok, tt.wantOK)
			}
			if ok {
				if v != String("1") {
					t.Errorf("GetWithExpiry(%q) = %q, want %q", "a", v, "1")
				}
				if !gotExpire.Equal(expire) {
					t.Errorf("GetWithExpiry(%q) expire = %v, want %v", "a", gotExpire, expire)
				}
				checkGet(t, c, "a", "1", true)
				checkLenBytes(t, c, 2, 4)
				checkEvicted(t, rec)
				return
			}
			if v != "" || !gotExpire.IsZero() {
				t.Errorf("GetWithExpiry(%q) = %q, %v on a miss, want \"\", zero time", "a", v, gotExpire)
			}
			checkGet(t, c, "a", "", false)
			checkLenBytes(t, c, 1, 2) // reclaimed on the first read
			checkEvicted(t, rec, "a")
			checkGet(t, c, "b", "2", true)
		})
	}
}

// TestGetExpired checks that a plain Get, not only GetWithExpiry, reclaims an
// expired entry and reports it to OnEvicted exactly once.
func TestGetExpired(t *testing.T) {
	now := base
	c, rec := newClockCache(0, &now)
	c.AddWithExpiry("a", String("1"), base.Add(time.Second))
	now = now.Add(time.Second)

	checkGet(t, c, "a", "", false)
	checkLenBytes(t, c, 0, 0)
	checkGet(t, c, "a", "", false)
	checkEvicted(t, rec, "a")
}

// TestExpiryRange checks expiries whose Unix nanosecond count is zero or
// does not fit in an int64: the epoch behaves like any other instant, and
// the others are clamped to the years 1678 to 2262 (wantExpire).
func TestExpiryRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		now    time.Time
		expire time.Time
		wantOK bool
		// wantExpire is the expiry GetWithExpiry reports; zero: expire.
		wantExpire time.Time
	}{
		{name: "epoch not reached", now: time.Unix(-1, 0), expire: time.Unix(0, 0), wantOK: true},
		{name: "epoch reached", now: time.Unix(0, 0), expire: time.Unix(0, 0), wantOK: false},
		{name: "year 3000", now: base, expire: time.Date(3000, time.January, 1, 0, 0, 0, 0, time.UTC), wantOK: true,
			wantExpire: time.Unix(0, math.MaxInt64-1)},
		{name: "year 9999", now: base, expire: time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC), wantOK: true,
			wantExpire: time.Unix(0, math.MaxInt64-1)},
		{name: "year 1600", now: base, expire: time.Date(1600, time.January, 1, 0, 0, 0, 0, time.UTC), wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := tt.now
			c, _ := newClockCache(0, &now)
			c.AddWithExpiry("a", String("1"), tt.expire)

			_, gotExpire, ok := c.GetWithExpiry("a")
			if ok != tt.wantOK {
				t.Errorf("GetWithExpiry(%q) ok = %v at %v with expiry %v, want %v", "a", ok, tt.now, tt.expire, tt.wantOK)
			}
			want := tt.wantExpire
			if want.IsZero() {
				want = tt.expire
			}
			if ok && !gotExpire.Equal(want) {
				t.Errorf("GetWithExpiry(%q) expire = %v, want %v", "a", gotExpire, want)
			}
		})
	}
}

func TestAddNeverExpires(t *testing.T) {
	now := base
	c, rec := newClockCache(0, &now)
	c.Add("a", String("1"))
	c.AddWithExpiry("b", String("2"), time.Time{})
	now = now.Add(200 * 365 * 24 * time.Hour)

	for _, k := range []string{"a", "b"} {
		_, expire, ok := c.GetWithExpiry(k)
		if !ok || !expire.IsZero() {
			t.Errorf("GetWithExpiry(%q) = _, %v, %v, want _, zero time, true", k, expire, ok)
		}
	}
	if got := c.Sweep(10); got != 0 {
		t.Errorf("Sweep(10) = %d, want 0", got)
	}
	checkEvicted(t, rec)
}

// TestClockReadOnlyForExpiry checks that entries without an expiry never
// consult the clock, so the common case does not pay for a time.Now call.
func TestClockReadOnlyForExpiry(t *testing.T) {
	reads := 0
	c := New(0, nil)
	c.Now = func() time.Time { reads++; return base }
	c.Add("a", String("1"))
	c.Get("a")
	c.GetWithExpiry("a")
	c.Add("a", String("2"))
	c.Remove("a")
	c.Remove("missing")
	if reads != 0 {
		t.Errorf("clock read %d times for entries without expiry, want 0", reads)
	}

	c.AddWithExpiry("b", String("1"), base.Add(time.Second))
	c.Get("b")
	if reads != 1 {
		t.Errorf("clock read %d times for one Get of an expiring entry, want 1", reads)
	}
}

// TestReAddReplacesExpiry checks that adding an existing key again sets its
// expiry to the new one, whether later, earlier or none.
func TestReAddReplacesExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		first   time.Duration // expiry of the first add, after base
		second  time.Duration // expiry of the second add; 0 means none
		advance time.Duration
		wantOK  bool
	}{
		{name: "extend", first: 10 * time.Second, second: time.Hour, advance: 20 * time.Second, wantOK: true},
		{name: "shorten", first: time.Hour, second: 5 * time.Second, advance: 6 * time.Second, wantOK: false},
		{name: "drop expiry", first: 10 * time.Second, second: 0, advance: time.Hour, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := base
			c, rec := newClockCache(0, &now)
			c.AddWithExpiry("a", String("1"), base.Add(tt.first))
			var second time.Time
			if tt.second != 0 {
				second = base.Add(tt.second)
			}
			c.AddWithExpiry("a", String("2"), second)
			now = now.Add(tt.advance)

			v, expire, ok := c.GetWithExpiry("a")
			if ok != tt.wantOK {
				t.Fatalf("GetWithExpiry(%q) ok = %v, want %v", "a", ok, tt.wantOK)
			}
			if !ok {
				checkEvicted(t, rec, "a")
				return
			}
			if v != String("2") {
				t.Errorf("GetWithExpiry(%q) = %q, want %q", "a", v, "2")
			}
			if !expire.Equal(second) {
				t.Errorf("GetWithExpiry(%q) expire = %v, want %v", "a", expire, second)
			}
			checkEvicted(t, rec)
		})
	}
}

// TestRemoveExpired checks that removing an expired entry that is still
// stored reclaims it, reports false, and does not call OnEvicted.
func TestRemoveExpired(t *testing.T) {
	now := base
	c, rec := newClockCache(0, &now)
	c.AddWithExpiry("a", String("1"), base.Add(10*time.Second))
	c.AddWithExpiry("b", String("2"), base.Add(20*time.Second))
	now = now.Add(10 * time.Second)

	if c.Remove("a") {
		t.Errorf("Remove(%q) = true for an expired entry, want false", "a")
	}
	if !c.Remove("b") {
		t.Errorf("Remove(%q) = false for a live entry, want true", "b")
	}
	checkLenBytes(t, c, 0, 0)
	checkEvicted(t, rec)
}

// TestEvictExpiredForRoom checks that the budget evicts from the least
// recently used end whether or not the entries there have expired, and
// reports each to OnEvicted.
func TestEvictExpiredForRoom(t *testing.T) {
	now := base
	c, rec := newClockCache(4, &now)
	c.AddWithExpiry("a", String("1"), base.Add(time.Second))
	c.Add("b", String("2"))
	now = now.Add(time.Hour)
	c.Add("c", String("3"))

	checkEvicted(t, rec, "a")
	checkLenBytes(t, c, 2, 4)
}

func TestSweep(t *testing.T) {
	t.Parallel()
	// From least to most recently used: a, c and e expire at base+5s, b
	// never does and d expires at base+1h. The clock then reads base+10s.
	tests := []struct {
		name        string
		n           int
		wantEvicted []string
	}{
		{name: "negative", n: -1},
		{name: "zero", n: 0},
		{name: "one", n: 1, wantEvicted: []string{"a"}},
		{name: "two", n: 2, wantEvicted: []string{"a"}},
		{name: "three", n: 3, wantEvicted: []string{"a", "c"}},
		{name: "four", n: 4, wantEvicted: []string{"a", "c"}},
		{name: "all", n: 5, wantEvicted: []string{"a", "c", "e"}},
		{name: "more than all", n: 100, wantEvicted: []string{"a", "c", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := base
			c, rec := newClockCache(0, &now)
			soon, late := base.Add(5*time.Second), base.Add(time.Hour)
			c.AddWithExpiry("a", String("1"), soon)
			c.Add("b", String("2"))
			c.AddWithExpiry("c", String("3"), soon)
			c.AddWithExpiry("d", String("4"), late)
			c.AddWithExpiry("e", String("5"), soon)
			now = now.Add(10 * time.Second)

			if got := c.Sweep(tt.n); got != len(tt.wantEvicted) {
				t.Errorf("Sweep(%d) = %d, want %d", tt.n, got, len(tt.wantEvicted))
			}
			checkEvicted(t, rec, tt.wantEvicted...)
			checkLenBytes(t, c, 5-len(tt.wantEvicted), int64(2*(5-len(tt.wantEvicted))))
			checkInvariants(t, c)
			// Sweep leaves the survivors in order: b is still the oldest
			// live entry.
			rec.keys = nil
			c.RemoveOldest()
			if want := []string{"b"}; len(tt.wantEvicted) > 0 && !slices.Equal(rec.keys, want) {
				t.Errorf("RemoveOldest() after Sweep(%d) evicted %q, want %q", tt.n, rec.keys, want)
			}
		})
	}
}

// model is a reference LRU cache kept deliberately simple: a slice ordered
// from least to most recently used, with linear searches.
type model struct {
	maxBytes int64
	order    []modelEntry
	evicted  []string // key=value of each eviction, in order
}

type modelEntry struct {
	key    string
	value  String
	expire time.Time
	aux    int64
}

func (m *model) index(key string) int {
	return slices.IndexFunc(m.order, func(e modelEntry) bool { return e.key == key })
}

func (m *model) bytes() int64 {
	var n int64
	for _, e := range m.order {
		n += int64(len(e.key) + len(e.value))
	}
	return n
}

func (m *model) expired(e modelEntry, now time.Time) bool {
	return !e.expire.IsZero() && !now.Before(e.expire)
}

func (m *model) evict(i int) {
	e := m.order[i]
	m.evicted = append(m.evicted, e.key+"="+string(e.value))
	m.order = slices.Delete(m.order, i, i+1)
}

func (m *model) add(key string, value String, expire time.Time, aux int64) {
	i := m.index(key)
	if i >= 0 {
		m.order = slices.Delete(m.order, i, i+1)
	}
	if m.maxBytes > 0 && int64(len(key)+len(value)) > m.maxBytes {
		return
	}
	m.order = append(m.order, modelEntry{key, value, expire, aux})
	for m.maxBytes > 0 && m.bytes() > m.maxBytes {
		m.evict(0)
	}
}

func (m *model) get(key string, now time.Time) (String, bool) {
	i := m.index(key)
	if i < 0 {
		return "", false
	}
	e := m.order[i]
	if m.expired(e, now) {
		m.evict(i)
		return "", false
	}
	m.order = append(slices.Delete(m.order, i, i+1), e)
	return e.value, true
}

// replace is what ReplaceKV does: evict an expired entry under key, then
// add, and report whether a live entry was there and the new one fits.
func (m *model) replace(key string, value String, expire time.Time, aux int64, now time.Time) bool {
	i := m.index(key)
	if i >= 0 && m.expired(m.order[i], now) {
		m.evict(i)
		i = -1
	}
	m.add(key, value, expire, aux)
	return i >= 0 && !(m.maxBytes > 0 && int64(len(key)+len(value)) > m.maxBytes)
}

func (m *model) remove(key string, now time.Time) bool {
	i := m.index(key)
	if i < 0 {
		return false
	}
	live := !m.expired(m.order[i], now)
	m.order = slices.Delete(m.order, i, i+1)
	return live
}

func (m *model) removeOldest() {
	if len(m.order) > 0 {
		m.evict(0)
	}
}

func (m *model) sweep(n int, now time.Time) int {
	evicted := 0
	for i := 0; i < len(m.order) && n > 0; n-- {
		if m.expired(m.order[i], now) {
			m.evict(i)
			evicted++
		} else {
			i++
		}
	}
	return evicted
}

// TestAgainstModel runs thousands of random operations on a Cache and on the
// reference model and checks after each one that they agree on every entry,
// on recency order, on Len and Bytes, and on what OnEvicted was told. The
// cases with small pages store values up to several pages long and churn
// enough to compact many times; the ones with a hash mask make most keys'
// hashes collide. Throughout, views of values read earlier must keep
// reading what they read then, through replacements, evictions and
// compactions: the cache never writes a record's bytes again.
func TestAgainstModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxBytes int64
		seed     uint64
		steps    int
		keys     int
		maxValue int    // values are up to this long, and mostly under 13
		pageSize int64  // 0: the default
		hashMask uint32 // 0: none
		// churn turns most removals, clears and clock advances into writes, so
		// that the cache fills up and its records die in place, forcing
		// compactions.
		churn bool
		// minCompactions is how many pages the run must compact at least,
		// to be sure it covers compaction.
		minCompactions int
	}{
		{name: "no limit", maxBytes: 0, seed: 1, steps: 5000, keys: 24, maxValue: 12},
		{name: "budget 64", maxBytes: 64, seed: 2, steps: 5000, keys: 24, maxValue: 12},
		{name: "budget 16", maxBytes: 16, seed: 3, steps: 5000, keys: 24, maxValue: 12}, // many refusals
		{name: "budget 256", maxBytes: 256, seed: 4, steps: 5000, keys: 24, maxValue: 12},
		{name: "colliding hashes", maxBytes: 256, seed: 5, steps: 5000, keys: 24, maxValue: 12, hashMask: 3},
		{name: "one hash", maxBytes: 0, seed: 6, steps: 3000, keys: 24, maxValue: 12, hashMask: 1 << 31},
		{name: "small pages", maxBytes: 0, seed: 7, steps: 20000, keys: 512, maxValue: 200, pageSize: 256,
			churn: true, minCompactions: 20},
		{name: "small pages, budget", maxBytes: 8000, seed: 8, steps: 20000, keys: 512, maxValue: 300, pageSize: 256,
			churn: true, minCompactions: 20},
		{name: "small pages, colliding hashes", maxBytes: 8000, seed: 9, steps: 20000, keys: 512, maxValue: 30,
			pageSize: 256, hashMask: 7, churn: true, minCompactions: 20},
		// Values of up to 3 pages get pages of their own, which then hold
		// most of the bytes: an eighth of them is more than the small
		// records' pages ever hold dead, so this case compacts rarely.
		{name: "values of several pages", maxBytes: 1 << 15, seed: 10, steps: 20000, keys: 512, maxValue: 3000,
			pageSize: 1024, churn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(tt.seed, 0x5eed))
			now := base
			var got []string
			c := New(tt.maxBytes, func(key, value string) {
				got = append(got, key+"="+value)
			})
			c.Now = func() time.Time { return now }
			c.pageSize, c.hashMask = tt.pageSize, tt.hashMask
			m := &model{maxBytes: tt.maxBytes}

			keys := make([]string, tt.keys)
			for i := range keys {
				keys[i] = strings.Repeat("k", i%3+1) + fmt.Sprint(i)
			}
			randValue := func() String {
				n := r.IntN(13)
				if r.IntN(8) == 0 {
					n = r.IntN(tt.maxValue + 1)
				}
				b := make([]byte, n)
				for i := range b {
					b[i] = byte('a' + r.IntN(26))
				}
				return String(b)
			}
			randExpire := func() time.Time {
				if r.IntN(3) == 0 {
					return time.Time{}
				}
				return now.Add(time.Duration(r.IntN(6)) * time.Second)
			}
			// views are values the cache returned, with a copy of what
			// they read then.
			type view struct{ got, want string }
			var views []view
			var history []string // the most recent operations, for failure messages
			for step := range tt.steps {
				key := keys[r.IntN(len(keys))]
				var op string
				p := r.IntN(100)
				if tt.churn && p >= 69 && r.IntN(8) > 0 {
					p = r.IntN(30) // Add or AddWithExpiry
				}
				switch {
				case p < 20:
					v := randValue()
					op = fmt.Sprintf("Add(%q, %d bytes)", key, len(v))
					c.Add(key, v)
					m.add(key, v, time.Time{}, 0)
				case p < 30:
					v := randValue()
					expire := now.Add(time.Duration(r.IntN(6)) * time.Second)
					op = fmt.Sprintf("AddWithExpiry(%q, %d bytes, now+%v)", key, len(v), expire.Sub(now))
					c.AddWithExpiry(key, v, expire)
					m.add(key, v, expire, 0)
				case p < 36:
					v, expire, aux := randValue(), randExpire(), r.Int64N(3)
					op = fmt.Sprintf("AddKV(%q, %d bytes, %v, %d)", key, len(v), expire, aux)
					c.AddKV(key, v, expire, aux)
					m.add(key, v, expire, aux)
				case p < 42:
					v, expire, aux := randValue(), randExpire(), r.Int64N(3)
					op = fmt.Sprintf("ReplaceKV(%q, %d bytes, %v, %d)", key, len(v), expire, aux)
					if got, want := c.ReplaceKV(key, v, expire, aux), m.replace(key, v, expire, aux, now); got != want {
						t.Errorf("step %d: ReplaceKV(%q) = %v, want %v", step, key, got, want)
					}
				case p < 45:
					// Store an entry's own views again with a new expiry
					// and aux, as engine/group's EXPIRE does.
					op = fmt.Sprintf("re-add Peek(%q)", key)
					e, ok := c.Peek(key)
					wantV, wantOK := m.get(key, now)
					if ok != wantOK || ok && e.Value() != wantV {
						t.Errorf("step %d: Peek(%q) = %q, %v, want %q, %v", step, key, e.Value(), ok, wantV, wantOK)
					}
					if ok {
						expire, aux := randExpire(), r.Int64N(3)
						c.AddJoined(e.KV, e.KeyLen, expire, aux)
						m.add(key, wantV, expire, aux)
					}
				case p < 62:
					op = fmt.Sprintf("Get(%q)", key)
					v, ok := c.Get(key)
					wantV, wantOK := m.get(key, now)
					if ok != wantOK || ok && v != wantV {
						t.Errorf("step %d: Get(%q) = %v, %v, want %q, %v", step, key, v, ok, wantV, wantOK)
					}
					if ok && len(v) > 0 {
						if len(views) == 64 {
							views = slices.Delete(views, 0, 1)
						}
						views = append(views, view{got: v, want: strings.Clone(v)})
					}
				case p < 69:
					op = fmt.Sprintf("GetWithExpiry(%q)", key)
					var wantExpire time.Time
					if i := m.index(key); i >= 0 {
						wantExpire = m.order[i].expire
					}
					v, expire, ok := c.GetWithExpiry(key)
					wantV, wantOK := m.get(key, now)
					if !wantOK {
						wantExpire = time.Time{}
					}
					if ok != wantOK || ok && v != wantV || !expire.Equal(wantExpire) {
						t.Errorf("step %d: GetWithExpiry(%q) = %v, %v, %v, want %q, %v, %v",
							step, key, v, expire, ok, wantV, wantExpire, wantOK)
					}
				case p < 78:
					op = fmt.Sprintf("Remove(%q)", key)
					if got, want := c.Remove(key), m.remove(key, now); got != want {
						t.Errorf("step %d: Remove(%q) = %v, want %v", step, key, got, want)
					}
				case p < 82:
					op = "RemoveOldest()"
					c.RemoveOldest()
					m.removeOldest()
				case p < 86:
					n := r.IntN(8)
					op = fmt.Sprintf("Sweep(%d)", n)
					if got, want := c.Sweep(n), m.sweep(n, now); got != want {
						t.Errorf("step %d: Sweep(%d) = %d, want %d", step, n, got, want)
					}
				case p < 88:
					from := r.IntN(c.Slots() + 1)
					to := from + r.IntN(8)
					odd := r.IntN(2)
					drop := func(key string) bool { return len(key)%2 == odd }
					op = fmt.Sprintf("RemoveIf(%d, %d, len(key)%%2 == %d)", from, to, odd)
					var wantDrop []string
					for i := max(from, 1); i < min(to, c.Slots()); i++ {
						if c.nodes[i].page >= 0 {
							if k := c.entry(int32(i)).Key(); drop(k) {
								wantDrop = append(wantDrop, k)
							}
						}
					}
					if got := c.RemoveIf(from, to, drop); got != len(wantDrop) {
						t.Errorf("step %d: RemoveIf = %d, want %d", step, got, len(wantDrop))
					}
					for _, k := range wantDrop {
						m.remove(k, now)
					}
				case p < 89:
					op = "Clear()"
					c.Clear()
					m.order = nil
				default:
					d := time.Duration(r.IntN(2000)) * time.Millisecond
					op = fmt.Sprintf("advance(%v)", d)
					now = now.Add(d)
				}
				history = append(history, op)
				if len(history) > 20 {
					history = history[1:]
				}

				if !slices.Equal(got, m.evicted) {
					t.Errorf("step %d: OnEvicted saw %q, want %q", step, got, m.evicted)
				}
				got, m.evicted = nil, nil
				// Comparing every entry costs O(keys); with many keys, do
				// it every 32 steps.
				if tt.keys <= 64 || step%32 == 0 || step == tt.steps-1 {
					compareModel(t, c, m)
				}
				for _, v := range views {
					if v.got != v.want {
						t.Errorf("step %d: a view read earlier as %q now reads %q", step, v.want, v.got)
					}
				}
				if t.Failed() {
					t.Fatalf("diverged at step %d; last operations:\n%s", step, strings.Join(history, "\n"))
				}
			}
			if c.compactions < tt.minCompactions {
				t.Errorf("%d pages compacted, want at least %d: the test covers too little", c.compactions, tt.minCompactions)
			}
		})
	}
}

// compareModel checks that c holds exactly m's entries in the same recency
// order, and that Len, Bytes and every key's lookup agree.
func compareModel(t *testing.T, c *Cache, m *model) {
	t.Helper()
	checkInvariants(t, c)
	checkLenBytes(t, c, len(m.order), m.bytes())
	i := len(m.order) - 1 // the list's front is the model's end
	c.Walk(func(e Entry) bool {
		if i < 0 {
			t.Errorf("cache holds extra entry %q", e.Key())
			return true
		}
		want := m.order[i]
		if e.Key() != want.key || e.Value() != want.value || !e.Expire.Equal(want.expire) || e.Aux != want.aux {
			t.Errorf("entry %d from most recent = %q=%q until %v aux %d, want %q=%q until %v aux %d",
				len(m.order)-1-i, e.Key(), e.Value(), e.Expire, e.Aux, want.key, want.value, want.expire, want.aux)
		}
		i--
		return true
	})
	for _, want := range m.order {
		j := c.lookup(want.key)
		if j == 0 {
			t.Errorf("lookup(%q) missing, want %q", want.key, want.value)
			continue
		}
		if v := c.entry(j).Value(); v != want.value {
			t.Errorf("lookup(%q) = %q, want %q", want.key, v, want.value)
		}
	}
}

// benchKeys returns n distinct keys of equal length.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%08d", i)
	}
	return keys
}

// benchmarkGet measures hits in a cache holding n entries, visiting them in
// a fixed shuffled order so the list is not walked sequentially.
func benchmarkGet(b *testing.B, n int) {
	keys := benchKeys(n)
	c := New(0, nil)
	v := "value"
	for _, k := range keys {
		c.Add(k, v)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := c.Get(keys[i%n]); !ok {
			b.Fatalf("Get(%q) missed", keys[i%n])
		}
	}
}

func BenchmarkGet1K(b *testing.B)  { benchmarkGet(b, 1<<10) }
func BenchmarkGet64K(b *testing.B) { benchmarkGet(b, 1<<16) }
func BenchmarkGet1M(b *testing.B)  { benchmarkGet(b, 1<<20) }

// benchmarkAdd measures Add in a cache whose budget holds capacity entries,
// cycling through n distinct keys. With n <= capacity every Add updates an
// existing entry; with n > capacity every Add inserts and evicts one entry.
func benchmarkAdd(b *testing.B, n, capacity int) {
	keys := benchKeys(n)
	v := "value"
	entrySize := len(keys[0]) + len(v)
	c := New(int64(capacity*entrySize), nil)
	for _, k := range keys {
		c.Add(k, v)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Add(keys[i%n], v)
	}
}

func BenchmarkAddUpdate1K(b *testing.B) { benchmarkAdd(b, 1<<10, 1<<10) }
func BenchmarkAddUpdate1M(b *testing.B) { benchmarkAdd(b, 1<<20, 1<<20) }
func BenchmarkAddEvict1K(b *testing.B)  { benchmarkAdd(b, 2<<10, 1<<10) }
func BenchmarkAddEvict1M(b *testing.B)  { benchmarkAdd(b, 2<<20, 1<<20) }

// TestEntryOverhead checks that EntryOverhead is charged once per entry, on
// add, replace and removal, and counts towards the too-large check.
func TestEntryOverhead(t *testing.T) {
	c := New(30, nil)
	c.EntryOverhead = 10
	c.Add("a", String("1234"))
	checkLenBytes(t, c, 1, 15)
	c.Add("a", String("12"))
	checkLenBytes(t, c, 1, 13)
	c.Add("b", String("12"))
	checkLenBytes(t, c, 2, 26)
	// A third entry pushes out the oldest: 3 entries would be 39 bytes.
	c.Add("c", String("12"))
	checkLenBytes(t, c, 2, 26)
	checkGet(t, c, "a", "", false)
	// 21 bytes of key and value fit 30 alone, but not with the overhead.
	c.Add("d", String(strings.Repeat("x", 20)))
	checkLenBytes(t, c, 2, 26)
	c.Remove("b")
	checkLenBytes(t, c, 1, 13)
}

// TestAddJoined checks that AddJoined and AddKV store a copy, so that the
// caller's bytes may change afterwards, that the views Peek returns point
// into the cache's pages, and that aux round-trips.
func TestAddJoined(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		add  func(c *Cache, kv []byte)
	}{
		{name: "AddJoined", add: func(c *Cache, kv []byte) { c.AddJoined(string(kv), 3, time.Time{}, 42) }},
		{name: "AddKV", add: func(c *Cache, kv []byte) {
			c.AddKV(unsafe.String(&kv[0], 3), unsafe.String(&kv[3], len(kv)-3), time.Time{}, 42)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New(0, nil)
			kv := []byte("keyvalue")
			tt.add(c, kv)
			copy(kv, "XXXXXXXX") // the cache must not have kept the caller's bytes
			e, ok := c.Peek("key")
			if !ok || e.Key() != "key" || e.Value() != "value" || e.Aux != 42 || !e.Expire.IsZero() {
				t.Fatalf("Peek(key) = %+v, %v, want key=value with aux 42 and no expiry", e, ok)
			}
			buf, r := c.rec(c.lookup("key"))
			if p := unsafe.StringData(e.KV); p != &buf[r.keyAt] {
				t.Errorf("Peek(key).KV does not point into its record in the page")
			}
			c.AddJoined("keyother", 3, time.Time{}, 0)
			if got := e.Value(); got != "value" {
				t.Errorf("after a replace, the old view reads %q, want value", got)
			}
			checkLenBytes(t, c, 1, int64(len("keyother")))
			checkInvariants(t, c)
		})
	}
}

// TestAddJoinedKeepsValue checks that re-adding an entry's own views with
// a new expiry and aux rewrites its record's header in place when the
// record has room for them, and copies the entry to a new record when not;
// either way the entry reads back with the new expiry and aux.
func TestAddJoinedKeepsValue(t *testing.T) {
	t.Parallel()
	later := base.Add(time.Second)
	tests := []struct {
		name          string
		expire        time.Time // of the first add
		aux           int64
		newExpire     time.Time
		newAux        int64
		wantSameBytes bool
	}{
		{name: "room for both", expire: later, aux: 1, newExpire: base.Add(time.Hour), newAux: 7, wantSameBytes: true},
		{name: "drop both", expire: later, aux: 1, newExpire: time.Time{}, newAux: 0, wantSameBytes: true},
		{name: "no expiry stored", aux: 1, newExpire: later, newAux: 7, wantSameBytes: false},
		{name: "no aux stored", expire: later, newExpire: later, newAux: 7, wantSameBytes: false},
		{name: "nothing stored, nothing new", wantSameBytes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := base
			c, _ := newClockCache(0, &now)
			c.AddKV("k", "v", tt.expire, tt.aux)
			e, _ := c.Peek("k")
			c.AddJoined(e.KV, e.KeyLen, tt.newExpire, tt.newAux)
			got, ok := c.Peek("k")
			if !ok || got.KV != "kv" || got.Aux != tt.newAux || !got.Expire.Equal(tt.newExpire) {
				t.Errorf("after re-adding, Peek(k) = %+v, %v; want k=v with aux %d, expiry %v", got, ok, tt.newAux, tt.newExpire)
			}
			if same := unsafe.StringData(got.KV) == unsafe.StringData(e.KV); same != tt.wantSameBytes {
				t.Errorf("after re-adding, same bytes = %v, want %v", same, tt.wantSameBytes)
			}
			checkLenBytes(t, c, 1, 2)
			checkInvariants(t, c)
		})
	}
}

// TestReplaceIsPeekThenAddJoined drives two caches with the same random
// writes, one through Replace and one through Peek followed by AddJoined,
// with expiring entries, a budget and entries too large for it, and checks
// that they evict the same entries, end up alike, and that Replace reports
// a replaced entry exactly when Peek found one.
func TestReplaceIsPeekThenAddJoined(t *testing.T) {
	for _, maxBytes := range []int64{0, 40, 200} {
		t.Run(fmt.Sprintf("budget %d", maxBytes), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(maxBytes), 7))
			now := base
			a, recA := newClockCache(maxBytes, &now)
			b, recB := newClockCache(maxBytes, &now)
			for step := range 3000 {
				key := fmt.Sprint("k", r.IntN(12))
				kv := key + strings.Repeat("v", r.IntN(50))
				var expire time.Time
				if r.IntN(2) == 0 {
					expire = now.Add(time.Duration(r.IntN(10)) * time.Second)
				}
				aux := r.Int64N(3)
				replaced := a.Replace(kv, len(key), expire, aux)
				_, found := b.Peek(key)
				b.AddJoined(kv, len(key), expire, aux)
				if replaced != found && !(maxBytes > 0 && int64(len(kv)) > maxBytes) {
					t.Fatalf("step %d: Replace(%q) = %v, Peek found %v", step, kv, replaced, found)
				}
				if !slices.Equal(recA.keys, recB.keys) {
					t.Fatalf("step %d: Replace evicted %q, Peek+AddJoined %q", step, recA.keys, recB.keys)
				}
				now = now.Add(time.Duration(r.IntN(1500)) * time.Millisecond)
			}
			var ea, eb []Entry
			a.Walk(func(e Entry) bool { ea = append(ea, e); return true })
			b.Walk(func(e Entry) bool { eb = append(eb, e); return true })
			if !slices.Equal(ea, eb) {
				t.Errorf("entries differ:\nReplace:           %+v\nPeek + AddJoined: %+v", ea, eb)
			}
			checkInvariants(t, a)
			if len(recA.keys) == 0 {
				t.Errorf("nothing was evicted: the test covers too little")
			}
		})
	}
}

// TestRemoveIf removes the odd keys a range of slots at a time, with adds
// and removals between the ranges, and checks what is left.
func TestRemoveIf(t *testing.T) {
	c := New(0, nil)
	for i := range 100 {
		c.Add(strconv.Itoa(i), "v")
	}
	odd := func(key string) bool { n, _ := strconv.Atoi(key); return n%2 == 1 }
	removed := 0
	for from := 0; from < c.Slots(); from += 7 {
		removed += c.RemoveIf(from, from+7, odd)
		if from == 21 {
			c.Remove("0")      // frees a slot an odd key may take
			c.Add("1001", "v") // odd, may land in a slot already visited
		}
	}
	if removed < 50 || removed > 51 {
		t.Errorf("RemoveIf removed %d keys, want the 50 odd ones (and maybe 1001)", removed)
	}
	for i := range 100 {
		_, ok := c.Get(strconv.Itoa(i))
		if want := i%2 == 0 && i != 0; ok != want {
			t.Errorf("after RemoveIf, Get(%d) found = %v, want %v", i, ok, want)
		}
	}
	if n := c.Len(); n != 49+(51-removed) {
		t.Errorf("Len = %d, want %d", n, 49+(51-removed))
	}
	var want int64
	for i := 2; i < 100; i += 2 {
		want += int64(len(strconv.Itoa(i)) + len("v"))
	}
	if removed == 50 {
		want += int64(len("1001v"))
	}
	if c.Bytes() != want {
		t.Errorf("Bytes = %d after removals, want %d (the remaining keys and values)", c.Bytes(), want)
	}
}
