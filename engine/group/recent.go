package group

import (
	"hash/maphash"
	"sync"
	"time"
)

const (
	// sharedBits is the size of each bitset of the recentKeys that track
	// the keys served to peers and the keys written: 8 KiB each.
	sharedBits = 1 << 16

	// fetchedBits is the size of each bitset of the recentKeys that track
	// the keys fetched from peers: 64 KiB each, so that a node fetching
	// some 100k keys from its peers within a HotTTL mistakes one key in six
	// (one in three, with both sets full) for one fetched before.
	fetchedBits = 1 << 19
)

// recentKeys remembers, approximately, which keys were marked recently.
// A group keeps three: the keys this node served to peers (shared), so that
// a write asks the other nodes to drop their hot copies only when one of
// them may hold one (without it every SET or DEL cost a request to every
// other node, which made writes through a 3-node cluster several times
// slower than reads); the keys it fetched from peers (fetched), so that a
// key asked for again is kept as a hot copy; and the keys written here
// (recentWrites, for hand-offs).
//
// Marks go into cur; every period the sets rotate (prev = cur, cur =
// empty), and a key counts as seen while either holds its bit: between one
// and two periods after its mark. A peer keeps a hot copy for at most
// HotTTL after fetching it, so the shared marks' period is HotTTL plus a
// margin for the time the answer spends on the wire. Collisions only make
// keys look seen that were not (an unneeded invalidation, an extra hot
// copy), never the reverse.
type recentKeys struct {
	seed   maphash.Seed
	period time.Duration
	bits   uint64 // of each set, a multiple of 64

	mu        sync.Mutex // guards cur, prev and rotatedAt
	cur, prev []uint64
	rotatedAt time.Time
}

// newRecentKeys returns a recentKeys of two sets of bits bits each (a
// multiple of 64) that remembers a mark for one to two periods.
func newRecentKeys(period time.Duration, bits uint64) *recentKeys {
	return &recentKeys{
		seed:   maphash.MakeSeed(),
		period: period,
		bits:   bits,
		cur:    make([]uint64, bits/64),
		prev:   make([]uint64, bits/64),
	}
}

// rotateLocked moves to a new period if the current one is over.
func (s *recentKeys) rotateLocked(now time.Time) {
	switch {
	case now.Sub(s.rotatedAt) >= 2*s.period:
		// Two periods passed: every mark is older than a period.
		clear(s.cur)
		clear(s.prev)
		s.rotatedAt = now
	case now.Sub(s.rotatedAt) >= s.period:
		s.cur, s.prev = s.prev, s.cur
		clear(s.cur)
		s.rotatedAt = now
	}
}

func (s *recentKeys) bit(key string) (word int, mask uint64) {
	h := maphash.String(s.seed, key) % s.bits
	return int(h / 64), 1 << (h % 64)
}

// mark records key at now.
func (s *recentKeys) mark(key string, now time.Time) { s.markSeen(key, now) }

// seen reports whether key may have been marked within the last one to
// two periods before now.
func (s *recentKeys) seen(key string, now time.Time) bool {
	w, m := s.bit(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateLocked(now)
	return (s.cur[w]|s.prev[w])&m != 0
}

// markSeen marks key at now and reports whether it was seen before the
// mark.
func (s *recentKeys) markSeen(key string, now time.Time) bool {
	w, m := s.bit(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateLocked(now)
	seen := (s.cur[w]|s.prev[w])&m != 0
	s.cur[w] |= m
	return seen
}
