package lru

// index is an open-addressed hash table with linear probing from keys to
// the nodes that hold them. A slot is a key's 32-bit hash in its top half
// and the node's index in its bottom half, 0 when empty (node 0 is the
// list's sentinel, never an entry). The hash in the slot places the slot
// (without reading the key), and a lookup compares keys only where the
// hashes match. Slots hold no pointers, so the garbage collector does not
// scan the table, and at 8 bytes with a load of 53-80% a key costs 10-15 B,
// against the 36 B of a map[uint64]int32.
type index struct {
	slots []uint64
	n     int // slots in use
}

// home returns the first slot that a key whose hash is h may take: the
// hash scaled to the table, so any table size works and growing by half
// keeps the table within 80% of what it holds.
func (x *index) home(h uint32) int { return int(uint64(h) * uint64(len(x.slots)) >> 32) }

// next returns the slot after j, wrapping around.
func (x *index) next(j int) int {
	if j++; j == len(x.slots) {
		return 0
	}
	return j
}

// insert adds node i under hash h; the key must not be in the table.
func (x *index) insert(h uint32, i int32) {
	if (x.n+1)*5 > len(x.slots)*4 {
		x.grow()
	}
	x.place(uint64(h)<<32 | uint64(uint32(i)))
	x.n++
}

// place puts slot s in the first empty slot from its home.
func (x *index) place(s uint64) {
	j := x.home(uint32(s >> 32))
	for x.slots[j] != 0 {
		j = x.next(j)
	}
	x.slots[j] = s
}

// grow makes the table half again as large and places every slot anew.
func (x *index) grow() {
	old := x.slots
	x.slots = make([]uint64, max(8, len(old)+len(old)/2))
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
}

// remove deletes node i, stored under hash h, and closes the gap it leaves
// by moving back each later slot of the run whose home allows it, so that
// no lookup ever needs a tombstone to walk past.
func (x *index) remove(h uint32, i int32) {
	want := uint64(h)<<32 | uint64(uint32(i))
	j := x.home(h)
	for x.slots[j] != want {
		j = x.next(j)
	}
	for k := x.next(j); x.slots[k] != 0; k = x.next(k) {
		// The slot at k may fill the gap at j unless its home lies
		// cyclically in (j, k]: a lookup starting there would not pass j.
		home := x.home(uint32(x.slots[k] >> 32))
		if j <= k && j < home && home <= k || j > k && (j < home || home <= k) {
			continue
		}
		x.slots[j] = x.slots[k]
		j = k
	}
	x.slots[j] = 0
	x.n--
}
