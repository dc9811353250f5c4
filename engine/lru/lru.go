// Package lru implements a byte-budgeted least-recently-used cache of
// strings whose entries may carry an expiry time.
//
// The layout is built for millions of small entries and a garbage collector
// that should not notice them. Entries' keys and values are copied into
// append-only pages ([]byte of up to 1 MiB, which hold no pointers); the
// recency list is a slice of small pointer-free nodes linked by int32
// indexes, whose free slots are reused through a free list; and the index
// is an open-addressed table of hashes and node indexes. No entry is a heap
// object of its own, and nothing per entry holds a pointer, so the work of a
// GC cycle does not grow with the number of entries.
//
// Removing, evicting or replacing an entry leaves its record dead in its
// page. A page with no live record left is dropped, and when the dead bytes
// exceed an eighth of all pages' bytes (and at least a page), the page with
// the fewest live bytes is compacted: its live records are copied to the
// newest page and it is dropped. The bytes of a record are never written
// again once written, and a dropped page is left to the garbage collector,
// never reused: so the strings the cache hands out, which point into its
// pages, stay valid and unchanged for as long as anyone holds them.
//
// Cache is not safe for concurrent use; engine/group synchronizes access to
// it.
package lru

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"time"
	"unsafe"
)

// Cache is a byte-budgeted LRU cache of strings. It is not safe for
// concurrent use. It holds at most math.MaxInt32 entries, with keys shorter
// than 1 GiB and values shorter than 4 GiB. Its node slice and index do not
// shrink: they keep room for the most entries the cache held at once, which
// later entries reuse, until Clear.
type Cache struct {
	// OnEvicted, if not nil, is called with each entry that leaves the cache
	// because the budget needed its room (RemoveOldest) or because it expired.
	// It is not called for Remove, Clear or when Add replaces a key's value.
	// It must not change the cache.
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
	nbytes   int64 // charged against the budget
	count    int   // entries

	// nodes[0] is the sentinel of the circular recency list: its next is
	// the most recently used entry, its prev the least. Unused nodes form a
	// list through next, starting at free (0: none).
	nodes []node
	free  int32
	items index
	seed  maphash.Seed
	// hashMask, if not zero, keeps only these bits of each hash: tests
	// force collisions with it. (Not a func: a key passed to one escapes,
	// and a lookup of string(buf) would allocate.)
	hashMask uint32
	// pageSize, if not zero, replaces the pageSize constant: tests use
	// small pages to compact often.
	pageSize int64
	// compactions counts the pages compacted, for tests.
	compactions int

	// pages hold the entries' records; a dropped page's slot has a nil buf
	// and is listed in freePages for reuse. Records are appended to
	// pages[head] (-1: none yet).
	pages     []page
	freePages []int32
	head      int32
	headCap   int64 // the capacity of the last head page
	pageBytes int64 // sum of cap(buf) over the pages
	liveBytes int64 // sum of the live records' sizes
}

// node is one entry, or a free slot (page < 0): 16 bytes.
type node struct {
	prev, next int32
	page       int32  // the page holding the entry's record
	off        uint32 // the record's offset in its page
}

// page is a buffer of records, appended to up to its capacity and never
// written below len(buf).
type page struct {
	buf  []byte
	live int64 // bytes of live records
}

const (
	// pageSize is the capacity of a full-grown page. A record larger than
	// an eighth of a page gets a page of its own, exactly its size.
	pageSize = 1 << 20
	// minPageSize is the first page's capacity; each new page doubles the
	// last up to pageSize, so that a cache of a few entries stays small.
	minPageSize = 4 << 10
)

// A record is a header, then the expiry if flagExpire, then aux if
// flagAux, then the key and the value. The header is the node index
// (uint32), the key's length with the flags in its top bits (uint32), and
// the value's length (uint32), little-endian.
const (
	hdrSize    = 12
	flagExpire = 1 << 31
	flagAux    = 1 << 30
	maxKeyLen  = flagAux - 1
	maxValLen  = math.MaxUint32
)

// record is a decoded record header.
type record struct {
	size       int64 // the whole record's bytes
	klen, vlen int
	keyAt      int   // offset of the key in the page
	expire     int64 // unix nanoseconds; never means no expiry
	aux        int64
	expireAt   int // offset of the stored expiry, -1: none stored
	auxAt      int // offset of the stored aux, -1: none stored
}

func decode(buf []byte, off uint32) record {
	h := buf[off : off+hdrSize]
	kf := binary.LittleEndian.Uint32(h[4:8])
	r := record{
		klen:     int(kf & maxKeyLen),
		vlen:     int(binary.LittleEndian.Uint32(h[8:12])),
		keyAt:    int(off) + hdrSize,
		expire:   never,
		expireAt: -1,
		auxAt:    -1,
	}
	if kf&(flagExpire|flagAux) != 0 {
		r.decodeExtra(buf, kf)
	}
	r.size = int64(r.keyAt - int(off) + r.klen + r.vlen)
	return r
}

// decodeExtra reads the expiry and aux that the flags in kf say follow the
// header, and moves keyAt past them. It is apart from decode so that
// decode, for the common record with neither, is inlined.
func (r *record) decodeExtra(buf []byte, kf uint32) {
	if kf&flagExpire != 0 {
		r.expire, r.expireAt = int64(binary.LittleEndian.Uint64(buf[r.keyAt:])), r.keyAt
		r.keyAt += 8
	}
	if kf&flagAux != 0 {
		r.aux, r.auxAt = int64(binary.LittleEndian.Uint64(buf[r.keyAt:])), r.keyAt
		r.keyAt += 8
	}
}

// keyAt returns the offset of the key of the record at off, whose header's
// second word is kf: past the header, and the expiry and aux if present.
func keyAt(off, kf uint32) int {
	return int(off) + hdrSize + 8*int(kf>>31) + 8*int(kf>>30&1)
}

// recordSize is the size of the record that stores key and value with exp
// and aux.
func recordSize(klen, vlen int, exp, aux int64) int64 {
	n := int64(hdrSize + klen + vlen)
	if exp != never {
		n += 8
	}
	if aux != 0 {
		n += 8
	}
	return n
}

// view returns the n bytes of buf at off as a string, without a copy. The
// bytes must never be written again.
func view(buf []byte, off, n int) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&buf[off], n)
}

// never is an entry's expire when it has none: no clock reads that far.
const never = math.MaxInt64

// Entry is one entry of the cache as Peek and Walk report it.
type Entry struct {
	// KV holds the key and then the value; KeyLen is the key's length. It
	// points into the cache's pages, without a copy; its bytes never
	// change. Passing them back to AddJoined stores a copy.
	KV     string
	KeyLen int
	// Expire is when the entry expires; the zero time means never.
	Expire time.Time
	// Aux is the number stored with the entry by AddJoined or AddKV.
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

// nanos converts an expiry to the records' form: the zero time is never,
// and times outside the years 1678 to 2262 are clamped to that range.
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

// fromNanos converts a record's expiry back to a time.
func fromNanos(n int64) time.Time {
	if n == never {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// init makes an empty cache ready for its first entry.
func (c *Cache) init() {
	if c.nodes != nil {
		return
	}
	c.nodes = make([]node, 1, 64)
	c.nodes[0].page = -1
	c.seed = maphash.MakeSeed()
	c.head = -1
}

// hashOf returns key's hash as the index keeps it.
func (c *Cache) hashOf(key string) uint32 {
	h := uint32(maphash.String(c.seed, key) >> 32)
	if c.hashMask != 0 {
		h &= c.hashMask
	}
	return h
}

// find returns the node holding key, whose hash is h, or 0.
func (c *Cache) find(key string, h uint32) int32 {
	x := &c.items
	if len(x.slots) == 0 {
		return 0
	}
	for j := x.home(h); x.slots[j] != 0; j = x.next(j) {
		if s := x.slots[j]; uint32(s>>32) == h {
			i := int32(uint32(s))
			n := &c.nodes[i]
			buf := c.pages[n.page].buf
			kf := binary.LittleEndian.Uint32(buf[n.off+4:])
			if int(kf&maxKeyLen) == len(key) && view(buf, keyAt(n.off, kf), len(key)) == key {
				return i
			}
		}
	}
	return 0
}

// lookup returns the node holding key, or 0.
func (c *Cache) lookup(key string) int32 {
	if len(c.nodes) == 0 {
		return 0
	}
	return c.find(key, c.hashOf(key))
}

// rec returns node i's page buffer and decoded record.
func (c *Cache) rec(i int32) ([]byte, record) {
	n := &c.nodes[i]
	buf := c.pages[n.page].buf
	return buf, decode(buf, n.off)
}

// entry returns node i as an Entry.
func (c *Cache) entry(i int32) Entry {
	buf, r := c.rec(i)
	return Entry{KV: view(buf, r.keyAt, r.klen+r.vlen), KeyLen: r.klen, Expire: fromNanos(r.expire), Aux: r.aux}
}

// Add stores value under key with no expiry; see AddKV.
func (c *Cache) Add(key, value string) {
	c.put(key, value, time.Time{}, 0, false)
}

// AddWithExpiry stores value under key until expire (the zero time means
// never); see AddKV.
func (c *Cache) AddWithExpiry(key, value string, expire time.Time) {
	c.put(key, value, expire, 0, false)
}

// AddKV stores a copy of key and value until expire (the zero time means
// never), with aux, and makes it the most recently used entry, then evicts
// the least recently used entries until the cache fits its budget again.
// The cache keeps no reference to key or value: it copies them into its
// pages, which is the one copy an entry costs.
//
// Expiries outside the years 1678 to 2262 (what int64 Unix nanoseconds
// hold) are clamped to that range.
//
// An entry that alone is larger than the whole budget, or whose key is 1 GiB
// or longer or whose value is 4 GiB or longer, is refused: it is not
// stored, and any previous value for the key is dropped, so the cache never
// empties itself to make room for something that cannot fit.
func (c *Cache) AddKV(key, value string, expire time.Time, aux int64) {
	c.put(key, value, expire, aux, false)
}

// AddJoined is AddKV of kv[:klen] and kv[klen:]: it stores a copy of them.
func (c *Cache) AddJoined(kv string, klen int, expire time.Time, aux int64) {
	c.put(kv[:klen], kv[klen:], expire, aux, false)
}

// ReplaceKV is AddKV for a caller that would otherwise Peek at the key
// first, to have an expired entry under it evicted (OnEvicted called), and
// then AddKV: it does both with one index lookup. It reports whether it
// replaced an entry that had not expired.
func (c *Cache) ReplaceKV(key, value string, expire time.Time, aux int64) (replaced bool) {
	return c.put(key, value, expire, aux, true)
}

// Replace is ReplaceKV of kv[:klen] and kv[klen:].
func (c *Cache) Replace(kv string, klen int, expire time.Time, aux int64) (replaced bool) {
	return c.put(kv[:klen], kv[klen:], expire, aux, true)
}

// put is AddKV, and with evictExpired, ReplaceKV.
func (c *Cache) put(key, value string, expire time.Time, aux int64, evictExpired bool) (replaced bool) {
	size := c.EntryOverhead + int64(len(key)+len(value))
	if c.maxBytes > 0 && size > c.maxBytes || len(key) > maxKeyLen || uint64(len(value)) > maxValLen {
		if evictExpired {
			c.Peek(key)
		}
		c.Remove(key)
		return false
	}
	c.init()
	exp := nanos(expire)
	h := c.hashOf(key)
	i := c.find(key, h)
	if i != 0 && evictExpired {
		if _, r := c.rec(i); r.expire != never && c.nowNanos() >= r.expire {
			c.evict(i)
			i = 0
		}
	}
	replaced = i != 0
	if replaced {
		buf, r := c.rec(i)
		c.nbytes += int64(len(value) - r.vlen)
		if !c.rewriteHeader(buf, r, value, exp, aux) {
			n := &c.nodes[i]
			oldPage, oldOff, oldSize := n.page, n.off, r.size
			c.write(i, key, value, exp, aux)
			c.kill(oldPage, oldOff, oldSize)
		}
		c.moveToFront(i)
	} else {
		i = c.alloc()
		c.write(i, key, value, exp, aux)
		c.items.insert(h, i)
		c.pushFront(i)
		c.nbytes += size
		c.count++
	}
	for c.maxBytes > 0 && c.nbytes > c.maxBytes {
		c.RemoveOldest()
	}
	c.compactIfNeeded()
	return replaced
}

// rewriteHeader stores exp and aux in place in record r when value equals
// the record's value (a view the cache handed out, stored again with a new
// expiry, or a SET of the same bytes again) and r has room for them, and
// reports whether it did. The header is never part of a view, so writing
// it again is safe.
func (c *Cache) rewriteHeader(buf []byte, r record, value string, exp, aux int64) bool {
	if len(value) != r.vlen || view(buf, r.keyAt+r.klen, r.vlen) != value {
		return false
	}
	if exp != never && r.expireAt < 0 || aux != 0 && r.auxAt < 0 {
		return false
	}
	if r.expireAt >= 0 {
		binary.LittleEndian.PutUint64(buf[r.expireAt:], uint64(exp))
	}
	if r.auxAt >= 0 {
		binary.LittleEndian.PutUint64(buf[r.auxAt:], uint64(aux))
	}
	return true
}

// write appends node i's record of key and value to a page and points
// node i at it.
func (c *Cache) write(i int32, key, value string, exp, aux int64) {
	size := recordSize(len(key), len(value), exp, aux)
	p, off := c.reserve(size)
	b := c.pages[p].buf[off : int64(off)+size]
	kf := uint32(len(key))
	at := hdrSize
	if exp != never {
		kf |= flagExpire
		binary.LittleEndian.PutUint64(b[at:], uint64(exp))
		at += 8
	}
	if aux != 0 {
		kf |= flagAux
		binary.LittleEndian.PutUint64(b[at:], uint64(aux))
		at += 8
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(i))
	binary.LittleEndian.PutUint32(b[4:], kf)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(value)))
	at += copy(b[at:], key)
	copy(b[at:], value)
	c.nodes[i].page, c.nodes[i].off = p, off
}

// reserve makes room for a record of size bytes, counts it live, and
// returns where it goes: at the end of the head page if it fits there, else
// in a new head page, or in a page of its own, exactly its size, if it is
// larger than an eighth of a page.
func (c *Cache) reserve(size int64) (p int32, off uint32) {
	if c.head >= 0 {
		hp := &c.pages[c.head]
		if int64(cap(hp.buf)-len(hp.buf)) >= size {
			off = uint32(len(hp.buf))
			hp.buf = hp.buf[:int64(len(hp.buf))+size]
			hp.live += size
			c.liveBytes += size
			return c.head, off
		}
	}
	full := c.fullPage()
	capacity := min(minPageSize, full)
	if c.headCap > 0 {
		capacity = min(full, 2*c.headCap)
	}
	for capacity < size && capacity < full {
		capacity = min(full, 2*capacity)
	}
	if size > full/8 {
		// A page of its own, so that no page's unused end exceeds an
		// eighth of a page; the head page keeps taking small records.
		p = c.newPage(size)
	} else {
		old := c.head
		p = c.newPage(capacity)
		c.head, c.headCap = p, capacity
		if old >= 0 && c.pages[old].live == 0 {
			c.dropPage(old)
		}
	}
	pg := &c.pages[p]
	pg.buf = pg.buf[:size]
	pg.live += size
	c.liveBytes += size
	return p, 0
}

// newPage adds an empty page of the given capacity and returns its index.
func (c *Cache) newPage(capacity int64) int32 {
	pg := page{buf: make([]byte, 0, capacity)}
	c.pageBytes += capacity
	if n := len(c.freePages); n > 0 {
		p := c.freePages[n-1]
		c.freePages = c.freePages[:n-1]
		c.pages[p] = pg
		return p
	}
	if len(c.pages) >= math.MaxInt32 {
		panic("lru: more than math.MaxInt32 pages")
	}
	c.pages = append(c.pages, pg)
	return int32(len(c.pages) - 1)
}

// dropPage lets page p go. Its buffer is left to the garbage collector,
// never reused: strings the cache handed out may still point into it.
func (c *Cache) dropPage(p int32) {
	c.pageBytes -= int64(cap(c.pages[p].buf))
	c.pages[p] = page{}
	c.freePages = append(c.freePages, p)
}

// kill counts the record of size bytes at off in page p dead, and drops
// the page if no live record is left in it and it is not the head page,
// which later records are still appended to.
func (c *Cache) kill(p int32, off uint32, size int64) {
	pg := &c.pages[p]
	pg.live -= size
	c.liveBytes -= size
	if pg.live == 0 && p != c.head {
		c.dropPage(p)
	}
}

// deadBytes returns the bytes of the pages that hold no live record and
// will not take one: the records removed, evicted or replaced, and the
// unused ends of full pages.
func (c *Cache) deadBytes() int64 {
	free := int64(0)
	if c.head >= 0 && len(c.pages) > 0 {
		free = int64(cap(c.pages[c.head].buf) - len(c.pages[c.head].buf))
	}
	return c.pageBytes - c.liveBytes - free
}

// maxDead returns how many dead bytes the cache tolerates before it
// compacts: an eighth of its pages' bytes, and at least a page.
func (c *Cache) maxDead() int64 { return max(c.fullPage(), c.pageBytes/8) }

// fullPage returns the capacity of a full-grown page.
func (c *Cache) fullPage() int64 {
	if c.pageSize != 0 {
		return c.pageSize
	}
	return pageSize
}

// compactIfNeeded compacts pages, the one with the most dead bytes first,
// until the dead bytes are within maxDead. Each compaction may leave the
// unused end of the head page behind, less than the record that did not
// fit there, so at most an eighth of a page; the loop stops if a compaction
// did not reduce the dead bytes, which happens only when no page has more
// than an eighth of a page dead: with full-grown pages the dead bytes are
// then within an eighth of all pages' bytes, and while the first, smaller
// pages (less than a page in all) are still around, within a page more.
func (c *Cache) compactIfNeeded() {
	for dead := c.deadBytes(); dead > c.maxDead(); {
		best, bestDead := int32(-1), int64(0)
		for p := range c.pages {
			pg := &c.pages[p]
			d := int64(cap(pg.buf)) - pg.live
			if int32(p) == c.head {
				d = int64(len(pg.buf)) - pg.live
			}
			if pg.buf != nil && d > bestDead {
				best, bestDead = int32(p), d
			}
		}
		if best < 0 {
			return
		}
		if best == c.head {
			c.head = -1 // the next record starts a new head page
		}
		c.compact(best)
		c.compactions++
		if d := c.deadBytes(); d < dead {
			dead = d
		} else {
			return
		}
	}
}

// compact copies the live records of page p, which is not the head page,
// to the head page, pointing their nodes at the copies, and drops p. A
// record is live when its node points at it: offsets in a page are never
// reused, so a node slot reused by another entry never points at the dead
// record of the slot's old entry.
func (c *Cache) compact(p int32) {
	src := c.pages[p].buf
	for off := 0; off < len(src); {
		r := decode(src, uint32(off))
		i := int32(binary.LittleEndian.Uint32(src[off:]))
		if n := &c.nodes[i]; n.page == p && n.off == uint32(off) {
			np, noff := c.reserve(r.size)
			copy(c.pages[np].buf[noff:], src[off:int64(off)+r.size])
			c.nodes[i].page, c.nodes[i].off = np, noff
			c.kill(p, uint32(off), r.size)
		}
		off += int(r.size)
	}
	if c.pages[p].buf != nil {
		// Only dead records were left: nothing called kill.
		c.dropPage(p)
	}
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
	i := c.lookup(key)
	if i == 0 {
		return Entry{}, false
	}
	// The hot path: read the header's fields in place rather than
	// through decode, whose record costs more to copy than to read.
	n := &c.nodes[i]
	buf, off := c.pages[n.page].buf, n.off
	kf := binary.LittleEndian.Uint32(buf[off+4:])
	exp := int64(never)
	if kf&flagExpire != 0 {
		exp = int64(binary.LittleEndian.Uint64(buf[off+hdrSize:]))
		if c.nowNanos() >= exp {
			c.evict(i)
			c.compactIfNeeded()
			return Entry{}, false
		}
	}
	at := keyAt(off, kf)
	var aux int64
	if kf&flagAux != 0 {
		aux = int64(binary.LittleEndian.Uint64(buf[at-8:]))
	}
	klen := int(kf & maxKeyLen)
	vlen := int(binary.LittleEndian.Uint32(buf[off+8:]))
	c.moveToFront(i)
	return Entry{KV: view(buf, at, klen+vlen), KeyLen: klen, Expire: fromNanos(exp), Aux: aux}, true
}

// Remove deletes key and reports whether it was present (and unexpired).
// OnEvicted is not called.
func (c *Cache) Remove(key string) bool {
	i := c.lookup(key)
	if i == 0 {
		return false
	}
	_, r := c.rec(i)
	live := r.expire == never || c.nowNanos() < r.expire
	c.removeNode(i)
	c.compactIfNeeded()
	return live
}

// RemoveOldest evicts the least recently used entry, calling OnEvicted.
func (c *Cache) RemoveOldest() {
	if len(c.nodes) > 0 && c.nodes[0].prev != 0 {
		c.evict(c.nodes[0].prev)
		c.compactIfNeeded()
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
		if _, r := c.rec(i); now >= r.expire {
			c.evict(i)
			evicted++
		}
		i = prev
	}
	if evicted > 0 {
		c.compactIfNeeded()
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
		if !fn(c.entry(i)) {
			return
		}
	}
}

// Clear removes every entry without calling OnEvicted, and lets the
// garbage collector have the memory they used.
func (c *Cache) Clear() {
	*c = Cache{OnEvicted: c.OnEvicted, Now: c.Now, EntryOverhead: c.EntryOverhead, maxBytes: c.maxBytes, hashMask: c.hashMask, pageSize: c.pageSize, head: -1}
}

// Len returns the number of entries, including expired ones not yet reclaimed.
func (c *Cache) Len() int { return c.count }

// Bytes returns the bytes charged against the budget: the sum of
// EntryOverhead+len(key)+len(value) over all entries.
func (c *Cache) Bytes() int64 { return c.nbytes }

// evict removes node i and calls OnEvicted with its key and value, which
// point into the page that held them.
func (c *Cache) evict(i int32) {
	e := c.entry(i)
	c.removeNode(i)
	if c.OnEvicted != nil {
		c.OnEvicted(e.Key(), e.Value())
	}
}

// removeNode unlinks node i, drops it from the index, counts its record
// dead and puts it on the free list.
func (c *Cache) removeNode(i int32) {
	c.unlink(i)
	buf, r := c.rec(i)
	c.items.remove(c.hashOf(view(buf, r.keyAt, r.klen)), i)
	n := &c.nodes[i]
	c.kill(n.page, n.off, r.size)
	c.nbytes -= c.EntryOverhead + int64(r.klen+r.vlen)
	c.count--
	*n = node{next: c.free, page: -1}
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
		if c.nodes[i].page < 0 {
			continue
		}
		if buf, r := c.rec(int32(i)); drop(view(buf, r.keyAt, r.klen)) {
			c.removeNode(int32(i))
			removed++
		}
	}
	if removed > 0 {
		c.compactIfNeeded()
	}
	return removed
}
