package group

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcache/rcache/engine/lru"
)

// cache is a concurrency-safe, byte-budgeted LRU of ByteViews. It builds its
// lru.Cache lazily so that the zero value is usable.
type cache struct {
	maxBytes int64
	now      func() time.Time // nil means time.Now

	mu  sync.Mutex // guards lru
	lru *lru.Cache

	gets      atomic.Int64
	hits      atomic.Int64
	evictions atomic.Int64
}

// CacheStats describes one of a group's caches.
type CacheStats struct {
	Bytes     int64 // bytes charged against the budget: keys plus values
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
		c.lru = lru.New(c.maxBytes, func(string, lru.Value) { c.evictions.Add(1) })
		c.lru.Now = c.now
	}
	return c.lru
}

// add stores v under key until expire (zero: never).
func (c *cache) add(key string, v ByteView, expire time.Time) {
	c.mu.Lock()
	l := c.lruLocked()
	l.AddWithExpiry(key, v, expire)
	// Reclaim a few expired entries from the cold end on every write, so
	// that expired values nobody reads do not sit on the budget forever.
	l.Sweep(2)
	c.mu.Unlock()
}

// get returns the live value under key and its expiry (zero: never).
func (c *cache) get(key string) (v ByteView, expire time.Time, ok bool) {
	c.gets.Add(1)
	c.mu.Lock()
	if c.lru == nil {
		c.mu.Unlock()
		return ByteView{}, time.Time{}, false
	}
	val, expire, ok := c.lru.GetWithExpiry(key)
	c.mu.Unlock()
	if !ok {
		return ByteView{}, time.Time{}, false
	}
	c.hits.Add(1)
	return val.(ByteView), expire, true
}

// remove deletes key and reports whether a live value was there.
func (c *cache) remove(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return false
	}
	return c.lru.Remove(key)
}

// update replaces the value under key with what fn returns, atomically with
// respect to every other operation on the cache. fn gets the current live
// value (ok false when there is none) and must not block: it runs with the
// lock held. The entry keeps its expiry; a new entry never expires.
func (c *cache) update(key string, fn func(old ByteView, ok bool) (ByteView, error)) (ByteView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.lruLocked()
	old, expire, ok := l.GetWithExpiry(key)
	var oldView ByteView
	if ok {
		oldView = old.(ByteView)
	}
	v, err := fn(oldView, ok)
	if err != nil {
		return ByteView{}, err
	}
	l.AddWithExpiry(key, v, expire)
	return v, nil
}

// clear drops every entry in O(1): the old LRU is left to the garbage
// collector, which reclaims its entries lazily.
func (c *cache) clear() {
	c.mu.Lock()
	c.lru = nil
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
	l := c.lruLocked()
	old, expire, ok := l.GetWithExpiry(key)
	var oldView ByteView
	if ok {
		oldView = old.(ByteView)
	}
	switch ch := fn(oldView, expire, ok); ch.op {
	case putEntry:
		l.AddWithExpiry(key, ch.view, ch.expire)
	case removeEntry:
		l.Remove(key)
	}
}
