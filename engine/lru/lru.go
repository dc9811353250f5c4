// Package lru implements a byte-budgeted least-recently-used cache whose
// entries may carry an expiry time.
//
// Cache is not safe for concurrent use; engine/group synchronizes access to
// it.
package lru

import (
	"container/list"
	"time"
)

// Value is what the cache stores; Len reports its size in bytes, which is
// charged against the budget together with the length of the key.
type Value interface {
	Len() int
}

// Cache is a byte-budgeted LRU cache. It is not safe for concurrent use.
type Cache struct {
	// OnEvicted, if not nil, is called with each entry that leaves the cache
	// because the budget needed its room (RemoveOldest) or because it expired.
	// It is not called for Remove, Clear or when Add replaces a key's value.
	OnEvicted func(key string, value Value)

	// Now is the clock used to decide whether an entry has expired; nil means
	// time.Now. Tests inject a fake clock here.
	Now func() time.Time

	// EntryOverhead is charged against the budget for each entry on top of
	// len(key)+value.Len(): the memory the entry's bookkeeping costs. With
	// small values that cost dominates, and a budget that ignored it would
	// be overrun several times over. Set it before the first Add.
	EntryOverhead int64

	maxBytes int64
	nbytes   int64
	ll       *list.List
	items    map[string]*list.Element
}

type entry struct {
	key    string
	value  Value
	expire time.Time // the zero time means the entry never expires
}

// expiredAt reports whether e has expired at now.
func (e *entry) expiredAt(now time.Time) bool {
	return !e.expire.IsZero() && !now.Before(e.expire)
}

// expired reports whether e has expired, reading the clock only when e has
// an expiry.
func (c *Cache) expired(e *entry) bool {
	return !e.expire.IsZero() && e.expiredAt(c.now())
}

// size is what e is charged against the budget.
func (c *Cache) size(e *entry) int64 {
	return c.EntryOverhead + int64(len(e.key)+e.value.Len())
}

// New returns an empty cache that holds at most maxBytes bytes, counting
// EntryOverhead+len(key)+value.Len() for each entry; maxBytes == 0 means no
// limit.
// onEvicted may be nil.
func New(maxBytes int64, onEvicted func(key string, value Value)) *Cache {
	return &Cache{
		OnEvicted: onEvicted,
		maxBytes:  maxBytes,
		ll:        list.New(),
		items:     make(map[string]*list.Element),
	}
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Add stores value under key with no expiry; see AddWithExpiry.
func (c *Cache) Add(key string, value Value) {
	c.AddWithExpiry(key, value, time.Time{})
}

// AddWithExpiry stores value under key until expire (the zero time means
// never) and makes it the most recently used entry, then evicts the least
// recently used entries until the cache fits its budget again.
//
// An entry that alone is larger than the whole budget is refused: it is not
// stored, and any previous value for key is dropped, so the cache never
// empties itself to make room for something that cannot fit.
func (c *Cache) AddWithExpiry(key string, value Value, expire time.Time) {
	if c.maxBytes > 0 && c.EntryOverhead+int64(len(key)+value.Len()) > c.maxBytes {
		c.Remove(key)
		return
	}
	if el, ok := c.items[key]; ok {
		c.ll.MoveToFront(el)
		e := el.Value.(*entry)
		c.nbytes += int64(value.Len() - e.value.Len())
		e.value = value
		e.expire = expire
	} else {
		e := &entry{key: key, value: value, expire: expire}
		c.items[key] = c.ll.PushFront(e)
		c.nbytes += c.size(e)
	}
	for c.maxBytes > 0 && c.nbytes > c.maxBytes {
		c.RemoveOldest()
	}
}

// Get returns the value stored under key and marks it most recently used.
// An expired entry is removed and reported as missing.
func (c *Cache) Get(key string) (value Value, ok bool) {
	value, _, ok = c.GetWithExpiry(key)
	return value, ok
}

// GetWithExpiry is like Get and also returns the entry's expiry time (the
// zero time when it never expires).
func (c *Cache) GetWithExpiry(key string) (value Value, expire time.Time, ok bool) {
	el, ok := c.items[key]
	if !ok {
		return nil, time.Time{}, false
	}
	e := el.Value.(*entry)
	if c.expired(e) {
		c.evict(el)
		return nil, time.Time{}, false
	}
	c.ll.MoveToFront(el)
	return e.value, e.expire, true
}

// Remove deletes key and reports whether it was present (and unexpired).
// OnEvicted is not called.
func (c *Cache) Remove(key string) bool {
	el, ok := c.items[key]
	if !ok {
		return false
	}
	e := el.Value.(*entry)
	live := !c.expired(e)
	c.removeElement(el)
	return live
}

// RemoveOldest evicts the least recently used entry, calling OnEvicted.
func (c *Cache) RemoveOldest() {
	if el := c.ll.Back(); el != nil {
		c.evict(el)
	}
}

// Sweep looks at up to n entries from the least recently used end and
// evicts those that have expired; it returns how many it evicted. Expired
// entries are otherwise reclaimed when read or when the budget needs room.
func (c *Cache) Sweep(n int) int {
	now := c.now()
	evicted := 0
	for el := c.ll.Back(); el != nil && n > 0; n-- {
		prev := el.Prev()
		if el.Value.(*entry).expiredAt(now) {
			c.evict(el)
			evicted++
		}
		el = prev
	}
	return evicted
}

// Walk calls fn for each entry, from the most to the least recently used,
// until fn returns false. It changes no entry's position and reclaims no
// expired entry: fn sees expired entries too, with their expiry. fn must not
// change the cache.
func (c *Cache) Walk(fn func(key string, value Value, expire time.Time) bool) {
	for el := c.ll.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if !fn(e.key, e.value, e.expire) {
			return
		}
	}
}

// Clear removes every entry without calling OnEvicted.
func (c *Cache) Clear() {
	c.ll.Init()
	clear(c.items)
	c.nbytes = 0
}

// Len returns the number of entries, including expired ones not yet reclaimed.
func (c *Cache) Len() int { return c.ll.Len() }

// Bytes returns the bytes charged against the budget: the sum of
// EntryOverhead+len(key)+value.Len() over all entries.
func (c *Cache) Bytes() int64 { return c.nbytes }

func (c *Cache) evict(el *list.Element) {
	e := c.removeElement(el)
	if c.OnEvicted != nil {
		c.OnEvicted(e.key, e.value)
	}
}

func (c *Cache) removeElement(el *list.Element) *entry {
	e := c.ll.Remove(el).(*entry)
	delete(c.items, e.key)
	c.nbytes -= c.size(e)
	return e
}
