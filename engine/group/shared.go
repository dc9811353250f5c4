package group

import (
	"hash/maphash"
	"sync"
	"time"
)

// sharedBits is the size of each of sharedKeys' two bitsets: 8 KiB each.
const sharedBits = 1 << 16

// sharedKeys remembers, approximately, which keys this node served to peers
// recently, so that a write asks the other nodes to drop their hot copies
// only when one of them may hold one. Without it every SET or DEL costs a
// request to every other node, which made writes through a 3-node cluster
// several times slower than reads.
//
// A peer keeps a hot copy for at most HotTTL after fetching it, so a mark
// must survive at least that long. Marks go into cur; every period the sets
// rotate (prev = cur, cur = empty), and a key counts as shared while either
// holds its bit: between one and two periods. The period is HotTTL plus a
// margin for the time the answer spends on the wire. Collisions only cause
// unneeded invalidations, never missed ones.
type sharedKeys struct {
	seed   maphash.Seed
	period time.Duration

	mu        sync.Mutex // guards cur, prev and rotatedAt
	cur, prev []uint64
	rotatedAt time.Time
}

func newSharedKeys(period time.Duration) *sharedKeys {
	return &sharedKeys{
		seed:   maphash.MakeSeed(),
		period: period,
		cur:    make([]uint64, sharedBits/64),
		prev:   make([]uint64, sharedBits/64),
	}
}

// rotateLocked moves to a new period if the current one is over.
func (s *sharedKeys) rotateLocked(now time.Time) {
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

func (s *sharedKeys) bit(key string) (word int, mask uint64) {
	h := maphash.String(s.seed, key) % sharedBits
	return int(h / 64), 1 << (h % 64)
}

// mark records that key was served to a peer at now.
func (s *sharedKeys) mark(key string, now time.Time) {
	w, m := s.bit(key)
	s.mu.Lock()
	s.rotateLocked(now)
	s.cur[w] |= m
	s.mu.Unlock()
}

// mayBeShared reports whether a peer may hold a copy of key at now.
func (s *sharedKeys) mayBeShared(key string, now time.Time) bool {
	w, m := s.bit(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateLocked(now)
	return (s.cur[w]|s.prev[w])&m != 0
}
