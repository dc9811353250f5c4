package group

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rcache/rcache/engine/lru"
)

// entryOverhead is what one cache entry costs in memory beyond the bytes of
// its key and value, charged against the budget with them. Measured by
// TestEntryOverhead and BenchmarkHeapPerKey (runtime.MemStats.HeapAlloc
// after a GC, 2^18 and 2^20 entries of 16-byte keys and 64-byte values,
// go1.26 amd64): 127 and 121 B per entry, and no heap object of its own.
// Of the 47 and 41 B beyond key and value, 12 are the record's header in
// its page, 1-4 the pages' unused ends, 17-18 the lru node (16 B plus the
// node slice's growth slack) and 12-14 the index slot (8 B at 53-80%
// load). On top of that, pages hold dead records until compacted: none
// when entries leave in LRU order, 12.9 B per entry measured under random
// removals and replacements at a full budget (the bound is an eighth of
// the pages). 50 is the 44 B of a fill plus half that. The layout with one
// string per entry cost 185-187 B (106 B overhead).
const entryOverhead = 50

// cache is a concurrency-safe, byte-budgeted LRU of ByteViews. It builds its
// lru.Cache lazily so that the zero value is usable.
type cache struct {
	maxBytes int64
	// maxItem is the largest entry, charged as the budget charges it, that
	// the cache keeps; zero means any entry that fits maxBytes.
	maxItem int64
	now     func() time.Time // nil means time.Now
	// staleFor keeps values with an expiry this much longer than their
	// expiry, as staleEntry, for getStale; zero keeps none.
	staleFor time.Duration

	mu  sync.Mutex // guards lru
	lru *lru.Cache
	// made is lru != nil, stored under mu, so that remove can skip the lock
	// of a cache that was never written (the hot cache of a single node):
	// an entry is added only after made is set.
	made atomic.Bool

	gets      atomic.Int64
	hits      atomic.Int64
	evictions atomic.Int64
}

// CacheStats describes one of a group's caches.
type CacheStats struct {
	Bytes     int64 // bytes charged against the budget: keys, values and entryOverhead each
	Items     int64 // entries held, including expired ones not yet reclaimed
	Gets      int64 // lookups
	Hits      int64 // lookups that found a live value
	Evictions int64 // entries evicted for room or reclaimed after expiry
}

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	var bytes, items int64
	if c.lru != nil {
		bytes, items = c.lru.Bytes(), int64(c.lru.Len())
	}
	c.mu.Unlock()
	return CacheStats{
		Bytes:     bytes,
		Items:     items,
		Gets:      c.gets.Load(),
		Hits:      c.hits.Load(),
		Evictions: c.evictions.Load(),
	}
}

func (c *cache) lruLocked() *lru.Cache {
	if c.lru == nil {
		c.lru = lru.New(c.maxBytes, func(string, string) { c.evictions.Add(1) })
		c.lru.Now = c.now
		c.lru.EntryOverhead = entryOverhead
		c.made.Store(true)
	}
	return c.lru
}

// A value that may be served stale is kept by the LRU until fresh plus
// staleFor, but get counts it as live only until fresh: its fresh time, in
// unix nanoseconds, is the entry's aux. Other entries have aux 0.

// freshAux encodes a fresh time as an entry's aux, never 0.
func freshAux(fresh time.Time) int64 {
	if n := fresh.UnixNano(); n != 0 {
		return n
	}
	return 1
}

func (c *cache) timeNow() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// tooLarge reports whether an entry of key and v exceeds maxItem. Such a
// value is returned to its caller but not cached: holding it would evict
// many small entries, and one as large as the budget would empty the cache.
func (c *cache) tooLarge(key string, v ByteView) bool {
	return c.maxItem > 0 && entryOverhead+int64(len(key)+v.Len()) > c.maxItem
}

// putLocked stores v under key until expire (zero: never), keeping it for
// staleFor more when the cache keeps stale values. A value over maxItem is
// not stored, and drops the key's previous value, which it replaces.
func (c *cache) putLocked(key string, v ByteView, expire time.Time) {
	l := c.lruLocked()
	if c.tooLarge(key, v) {
		l.Remove(key)
		return
	}
	lexp, aux := c.lruExpiry(expire)
	l.AddKV(key, v.String(), lexp, aux)
}

// lruExpiry returns the expiry and aux under which the lru keeps a value
// that expires at expire: staleFor later, with its fresh time in aux, when
// the cache keeps stale values.
func (c *cache) lruExpiry(expire time.Time) (time.Time, int64) {
	if c.staleFor > 0 && !expire.IsZero() {
		return expire.Add(c.staleFor), freshAux(expire)
	}
	return expire, 0
}

// set stores v under key until expire (zero: never) whatever the key held:
// what modify does when fn puts without looking at the old value, with one
// index lookup instead of two. As there, an expired entry it replaces
// counts as evicted.
func (c *cache) set(key string, v ByteView, expire time.Time) {
	c.setString(key, v.String(), expire)
}

// setBytes is set of a value the caller owns as bytes and may reuse once
// setBytes returns: the lru copies them into its pages under the lock, the
// one copy a SET needs, so no string of them is allocated first.
func (c *cache) setBytes(key string, b []byte, expire time.Time) {
	// The string is only read while the lock is held, and the lru keeps
	// no reference to it: it copies the bytes into a page.
	c.setString(key, unsafe.String(unsafe.SliceData(b), len(b)), expire)
}

// setString is set of value, which the cache does not keep.
func (c *cache) setString(key, value string, expire time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.lruLocked()
	if c.tooLarge(key, StringView(value)) {
		l.Peek(key) // reclaims an expired entry, as modify's lookup does
		l.Remove(key)
		return
	}
	lexp, aux := c.lruExpiry(expire)
	l.ReplaceKV(key, value, lexp, aux)
}

// lookupLocked returns the value under key, its expiry, and whether it is
// live (not past its expiry). present is false when the key is absent or
// past even its stale deadline.
func (c *cache) lookupLocked(key string) (v ByteView, expire time.Time, live, present bool) {
	if c.lru == nil {
		return ByteView{}, time.Time{}, false, false
	}
	e, ok := c.lru.Peek(key)
	if !ok {
		return ByteView{}, time.Time{}, false, false
	}
	v = ByteView{s: e.Value()}
	if e.Aux != 0 {
		fresh := time.Unix(0, e.Aux)
		return v, fresh, c.timeNow().Before(fresh), true
	}
	return v, e.Expire, true, true
}

// add stores v under key until expire (zero: never).
func (c *cache) add(key string, v ByteView, expire time.Time) {
	c.mu.Lock()
	c.putLocked(key, v, expire)
	// Reclaim a few expired entries from the cold end on every write, so
	// that expired values nobody reads do not sit on the budget forever.
	c.lru.Sweep(2)
	c.mu.Unlock()
}

// get returns the live value under key and its expiry (zero: never).
func (c *cache) get(key string) (v ByteView, expire time.Time, ok bool) {
	c.gets.Add(1)
	c.mu.Lock()
	v, expire, live, _ := c.lookupLocked(key)
	c.mu.Unlock()
	if !live {
		return ByteView{}, time.Time{}, false
	}
	c.hits.Add(1)
	return v, expire, true
}

// getStale returns the value under key even if it expired, as long as it
// is within staleFor of its expiry, and when that stale deadline ends.
func (c *cache) getStale(key string) (v ByteView, deadline time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, expire, _, present := c.lookupLocked(key)
	if !present || expire.IsZero() {
		return ByteView{}, time.Time{}, false
	}
	return v, expire.Add(c.staleFor), true
}

// addStale stores v as already stale until deadline and fresh until fresh:
// a value served stale while its origin fails stays servable without a new
// origin attempt until fresh, and no longer than its first stale deadline.
func (c *cache) addStale(key string, v ByteView, fresh, deadline time.Time) {
	c.mu.Lock()
	if !c.tooLarge(key, v) {
		c.lruLocked().AddKV(key, v.String(), deadline, freshAux(fresh))
	}
	c.mu.Unlock()
}

// remove deletes key and reports whether a live value was there.
func (c *cache) remove(key string) bool {
	if !c.made.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _, live, present := c.lookupLocked(key)
	if present {
		c.lru.Remove(key)
	}
	return live
}

// snapshot returns up to max live entries (max <= 0: all), from the most
// to the least recently used, without changing their order.
func (c *cache) snapshot(max int) []handoffItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return nil
	}
	n := c.lru.Len()
	if max > 0 && max < n {
		n = max
	}
	items := make([]handoffItem, 0, n)
	now := c.timeNow()
	c.lru.Walk(func(e lru.Entry) bool {
		if len(items) == n {
			return false
		}
		it := handoffItem{key: e.Key(), view: ByteView{s: e.Value()}, expire: e.Expire}
		if e.Aux != 0 {
			it.expire = time.Unix(0, e.Aux)
		}
		if it.expire.IsZero() || now.Before(it.expire) {
			items = append(items, it)
		}
		return true
	})
	return items
}

// clear drops every entry in O(1): the old LRU is left to the garbage
// collector, which reclaims its entries lazily.
func (c *cache) clear() {
	c.mu.Lock()
	c.lru = nil
	c.made.Store(false)
	c.mu.Unlock()
}

// changeOp says what modify does with an entry.
type changeOp int

const (
	keepEntry   changeOp = iota // leave the entry as it is
	putEntry                    // store view until expire
	removeEntry                 // delete the entry
)

// change is what a modify function decides.
type change struct {
	op     changeOp
	view   ByteView
	expire time.Time
}

// modify applies fn's decision to key's entry atomically with respect to
// every other operation on the cache. fn gets the live value and its expiry
// (ok false when there is none) and must not block: it runs with the lock
// held.
func (c *cache) modify(key string, fn func(old ByteView, expire time.Time, ok bool) change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Made before fn decides, not when it puts: a remove that finds the
	// cache unmade, and so skips the lock, then ran before fn, and fn sees
	// whatever the remover marked before it (fill refuses a key a DEL
	// marked; TestFillRacingDelete). Made only when the put came, a FILL
	// that passed its check could put after such a DEL's remove.
	c.lruLocked()
	old, expire, live, _ := c.lookupLocked(key)
	if !live {
		old, expire = ByteView{}, time.Time{}
	}
	switch ch := fn(old, expire, live); ch.op {
	case putEntry:
		c.putLocked(key, ch.view, ch.expire)
	case removeEntry:
		c.lruLocked().Remove(key)
	}
}

// removeIf removes every entry whose key drop accepts, and returns how many
// it removed. It takes the lock for removeIfChunk slots at a time, so that
// a walk of millions of entries never holds up a Get for long. drop runs
// with the lock held; it must not block.
func (c *cache) removeIf(drop func(key string) bool) int {
	removed := 0
	for from := 0; ; from += removeIfChunk {
		if !c.made.Load() {
			return removed
		}
		c.mu.Lock()
		if c.lru == nil || from >= c.lru.Slots() {
			c.mu.Unlock()
			return removed
		}
		removed += c.lru.RemoveIf(from, from+removeIfChunk, drop)
		c.mu.Unlock()
	}
}

// removeIfChunk is how many slots removeIf visits under the lock at once:
// with a ring lookup per key, about 50 µs.
const removeIfChunk = 1024
