// Package lru implements a byte-budgeted least-recently-used cache of
// strings whose entries may carry an expiry time.
//
// The layout is built for millions of small entries. An entry's key and
// value live together in one string, its only heap allocation; the recency
// list is a slice of nodes linked by int32 indexes, whose free slots are
// reused through a free list; and the index maps each key, a string pointing
// into that same allocation, to its node. The garbage collector thus has one
// object per entry to track, instead of the four or five a container/list
// layout with boxed values costs, and no per-entry pointers to chase but the
// strings themselves.
//
// Cache is not safe for concurrent use; engine/group synchronizes access to
// it.
package lru

import (
	"math"
	"time"
)

// Cache is a byte-budgeted LRU cache of strings. It is not safe for
// concurrent use. It holds at most math.MaxInt32 entries. Its node slice
// and index do not shrink: they keep room for the most entries the cache
// held at once, which later entries reuse, until Clear.
type Cache struct {
	// OnEvicted, if not nil, is called with each entry that leaves the cache
	// because the budget needed its room (RemoveOldest) or because it expired.
	// It is not called for Remove, Clear or when Add replaces a key's value.
	OnEvicted func(key, value string)

	// Now is the clock used to decide whether an entry has expired; nil means
	// time.Now. Tests inject a fake clock here.
	Now func() time.Time

	// EntryOverhead is charged against the budget for each entry on top of
	// len(key)+len(value): the memory the entry's bookkeeping costs. With
	// small values that cost dominates, and a budget that ignored it would
	// be overrun several times over. Set it before the first Add.
	EntryOverhead int64

	maxBytes int64
	nbytes   int64
	// nodes[0] is the sentinel of the circular recency list: its next is
	// the most recently used entry, its prev the least. Unused nodes form a
	// list through next, starting at free (0: none).
	nodes []node
	free  int32
	items map[string]int32 // keys point into their node's kv
}

// node is one entry, or a free slot (kv == "").
type node struct {
	kv         string // the key, then the value: one allocation
	klen       int
	prev, next int32
	expire     int64 // unix nanoseconds; never (math.MaxInt64) means no expiry
	aux        int64 // the caller's, stored with the entry
}

func (n *node) key() string   { return n.kv[:n.klen] }
func (n *node) value() string { return n.kv[n.klen:] }

// never is a node's expire when it has none: no clock reads that far.
const never = math.MaxInt64

// expiredAt reports whether n has expired at now (unix nanoseconds).
func (n *node) expiredAt(now int64) bool { return now >= n.expire }

// Entry is one entry of the cache as Peek and Walk report it.
type Entry struct {
	// KV holds the key and then the value; KeyLen is the key's length.
	// Passing them back to AddJoined stores the entry without a copy.
	KV     string
	KeyLen int
	// Expire is when the entry expires; the zero time means never.
	Expire time.Time
	// Aux is the number stored with the entry by AddJoined.
	Aux int64
}

// Key returns the entry's key.
func (e Entry) Key() string { return e.KV[:e.KeyLen] }

// Value returns the entry's value.
func (e Entry) Value() string { return e.KV[e.KeyLen:] }

// New returns an empty cache that holds at most maxBytes bytes, counting
// EntryOverhead+len(key)+len(value) for each entry; maxBytes == 0 means no
// limit. onEvicted may be nil.
func New(maxBytes int64, onEvicted func(key, value string)) *Cache {
	return &Cache{OnEvicted: onEvicted, maxBytes: maxBytes}
}

func (c *Cache) nowNanos() int64 {
	if c.Now != nil {
		return c.Now().UnixNano()
	}
	return time.Now().UnixNano()
}

// Unix nanoseconds cover the years 1678 to 2262; expiries outside are
// clamped to these, one nanosecond inside so that the latest is not never.
var (
	minExpire = time.Unix(0, math.MinInt64)
	maxExpire = time.Unix(0, never-1)
)

// nanos converts an expiry to the nodes' form: the zero time is never, and
// times outside the years 1678 to 2262 are clamped to that range.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return never
	case t.Before(minExpire):
		return math.MinInt64
	case t.After(maxExpire):
		return never - 1
	}
	return t.UnixNano()
}

// fromNanos converts a node's expiry back to a time.
func fromNanos(n int64) time.Time {
	if n == never {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Add stores value under key with no expiry; see AddWithExpiry.
func (c *Cache) Add(key, value string) {
	c.AddWithExpiry(key, value, time.Time{})
}

// AddWithExpiry stores a copy of key and value, in one allocation, until
// expire (the zero time means never); see AddJoined.
func (c *Cache) AddWithExpiry(key, value string, expire time.Time) {
	c.AddJoined(key+value, len(key), expire, 0)
}

// AddJoined stores kv[klen:] under kv[:klen] until expire (the zero time
// means never), with aux, and makes it the most recently used entry, then
// evicts the least recently used entries until the cache fits its budget
// again. The cache keeps kv itself, without a copy: the key in its index
// points into kv.
//
// Expiries outside the years 1678 to 2262 (what int64 Unix nanoseconds
// hold) are clamped to that range.
//
// An entry that alone is larger than the whole budget is refused: it is not
// stored, and any previous value for the key is dropped, so the cache never
// empties itself to make room for something that cannot fit.
func (c *Cache) AddJoined(kv string, klen int, expire time.Time, aux int64) {
	c.put(kv, klen, expire, aux, false)
}

// Replace is AddJoined for a caller that would otherwise Peek at the key
// first, to have an expired entry under it evicted (OnEvicted called), and
// then AddJoined: it does both with one index lookup. It reports whether
// it replaced an entry that had not expired.
func (c *Cache) Replace(kv string, klen int, expire time.Time, aux int64) (replaced bool) {
	return c.put(kv, klen, expire, aux, true)
}

// put is AddJoined, and with evictExpired, Replace.
func (c *Cache) put(kv string, klen int, expire time.Time, aux int64, evictExpired bool) (replaced bool) {
	key := kv[:klen]
	size := c.EntryOverhead + int64(len(kv))
	if c.maxBytes > 0 && size > c.maxBytes {
		if evictExpired {
			c.Peek(key)
		}
		c.Remove(key)
		return false
	}
	if c.nodes == nil {
		c.nodes = make([]node, 1, 64)
		c.items = make(map[string]int32)
	}
	exp := nanos(expire)
	i, ok := c.items[key]
	if ok && evictExpired && c.nodes[i].expire != never && c.nodes[i].expiredAt(c.nowNanos()) {
		c.evict(i)
		ok = false
	}
	if ok {
		n := &c.nodes[i]
		c.nbytes += int64(len(kv) - len(n.kv))
		if n.kv != kv || n.klen != klen {
			n.kv, n.klen = kv, klen
			// Assigning to an existing string key replaces the stored key
			// too, so the index lets go of the old allocation.
			c.items[key] = i
		}
		n.expire, n.aux = exp, aux
		c.moveToFront(i)
	} else {
		i := c.alloc()
		c.nodes[i] = node{kv: kv, klen: klen, expire: exp, aux: aux}
		c.pushFront(i)
		c.items[key] = i
		c.nbytes += size
	}
	for c.maxBytes > 0 && c.nbytes > c.maxBytes {
		c.RemoveOldest()
	}
	return ok
}

// alloc returns a free node's index, growing the slice if none is free.
func (c *Cache) alloc() int32 {
	if i := c.free; i != 0 {
		c.free = c.nodes[i].next
		return i
	}
	if len(c.nodes) > math.MaxInt32 {
		panic("lru: more than math.MaxInt32 entries")
	}
	c.nodes = append(c.nodes, node{})
	return int32(len(c.nodes) - 1)
}

// pushFront links node i in as the most recently used.
func (c *Cache) pushFront(i int32) {
	head := c.nodes[0].next
	c.nodes[i].prev, c.nodes[i].next = 0, head
	c.nodes[head].prev = i
	c.nodes[0].next = i
}

// unlink takes node i out of the recency list.
func (c *Cache) unlink(i int32) {
	n := &c.nodes[i]
	c.nodes[n.prev].next = n.next
	c.nodes[n.next].prev = n.prev
}

func (c *Cache) moveToFront(i int32) {
	if c.nodes[0].next != i {
		c.unlink(i)
		c.pushFront(i)
	}
}

// Get returns the value stored under key and marks it most recently used.
// An expired entry is removed and reported as missing.
func (c *Cache) Get(key string) (value string, ok bool) {
	e, ok := c.Peek(key)
	return e.Value(), ok
}

// GetWithExpiry is like Get and also returns the entry's expiry time (the
// zero time when it never expires).
func (c *Cache) GetWithExpiry(key string) (value string, expire time.Time, ok bool) {
	e, ok := c.Peek(key)
	return e.Value(), e.Expire, ok
}

// Peek returns the entry stored under key and marks it most recently used,
// like Get. An expired entry is removed and reported as missing.
func (c *Cache) Peek(key string) (Entry, bool) {
	i, ok := c.items[key]
	if !ok {
		return Entry{}, false
	}
	n := &c.nodes[i]
	if n.expire != never && n.expiredAt(c.nowNanos()) {
		c.evict(i)
		return Entry{}, false
	}
	c.moveToFront(i)
	return Entry{KV: n.kv, KeyLen: n.klen, Expire: fromNanos(n.expire), Aux: n.aux}, true
}

// Remove deletes key and reports whether it was present (and unexpired).
// OnEvicted is not called.
func (c *Cache) Remove(key string) bool {
	i, ok := c.items[key]
	if !ok {
		return false
	}
	n := &c.nodes[i]
	live := n.expire == never || !n.expiredAt(c.nowNanos())
	c.removeNode(i)
	return live
}

// RemoveOldest evicts the least recently used entry, calling OnEvicted.
func (c *Cache) RemoveOldest() {
	if len(c.nodes) > 0 && c.nodes[0].prev != 0 {
		c.evict(c.nodes[0].prev)
	}
}

// Sweep looks at up to n entries from the least recently used end and
// evicts those that have expired; it returns how many it evicted. Expired
// entries are otherwise reclaimed when read or when the budget needs room.
func (c *Cache) Sweep(n int) int {
	if len(c.nodes) == 0 {
		return 0
	}
	now := c.nowNanos()
	evicted := 0
	for i := c.nodes[0].prev; i != 0 && n > 0; n-- {
		prev := c.nodes[i].prev
		if c.nodes[i].expiredAt(now) {
			c.evict(i)
			evicted++
		}
		i = prev
	}
	return evicted
}

// Walk calls fn for each entry, from the most to the least recently used,
// until fn returns false. It changes no entry's position and reclaims no
// expired entry: fn sees expired entries too, with their expiry. fn must not
// change the cache.
func (c *Cache) Walk(fn func(Entry) bool) {
	if len(c.nodes) == 0 {
		return
	}
	for i := c.nodes[0].next; i != 0; i = c.nodes[i].next {
		n := &c.nodes[i]
		if !fn(Entry{KV: n.kv, KeyLen: n.klen, Expire: fromNanos(n.expire), Aux: n.aux}) {
			return
		}
	}
}

// Clear removes every entry without calling OnEvicted, and lets the
// garbage collector have the memory they used.
func (c *Cache) Clear() {
	c.nodes, c.items, c.free, c.nbytes = nil, nil, 0, 0
}

// Len returns the number of entries, including expired ones not yet reclaimed.
func (c *Cache) Len() int { return len(c.items) }

// Bytes returns the bytes charged against the budget: the sum of
// EntryOverhead+len(key)+len(value) over all entries.
func (c *Cache) Bytes() int64 { return c.nbytes }

func (c *Cache) evict(i int32) {
	n := c.nodes[i]
	c.removeNode(i)
	if c.OnEvicted != nil {
		c.OnEvicted(n.key(), n.value())
	}
}

// removeNode unlinks node i, drops it from the index and puts it on the
// free list.
func (c *Cache) removeNode(i int32) {
	c.unlink(i)
	n := &c.nodes[i]
	delete(c.items, n.key())
	c.nbytes -= c.EntryOverhead + int64(len(n.kv))
	*n = node{next: c.free}
	c.free = i
}

// Slots returns how many slots the cache has, entries and free slots
// alike: the bound of RemoveIf's range.
func (c *Cache) Slots() int { return len(c.nodes) }

// RemoveIf removes each entry in slots [from, to) whose key drop accepts,
// without calling OnEvicted, and returns how many it removed. Slots keep
// their indexes while entries come and go, so a caller may walk the whole
// cache a range at a time, letting others use it between ranges; an entry
// added meanwhile may be visited or not.
func (c *Cache) RemoveIf(from, to int, drop func(key string) bool) int {
	from, to = max(from, 1), min(to, len(c.nodes)) // slot 0 is the sentinel
	removed := 0
	for i := from; i < to; i++ {
		if n := &c.nodes[i]; n.kv != "" && drop(n.key()) {
			c.removeNode(int32(i))
			removed++
		}
	}
	return removed
}
