package lru

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// hasPointers reports whether values of type t hold pointers the garbage
// collector must trace.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Slice, reflect.String,
		reflect.Interface, reflect.Chan, reflect.Func:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// TestNoPointersPerEntry checks that what the cache keeps per entry, its
// node, its index slot and its record's bytes, holds no pointer: the
// garbage collector then neither scans the node slice, the index or the
// pages, nor has a heap object per entry to mark.
func TestNoPointersPerEntry(t *testing.T) {
	c := New(0, nil)
	c.Add("k", "v")
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{name: "node", typ: reflect.TypeOf(c.nodes).Elem()},
		{name: "index slot", typ: reflect.TypeOf(c.items.slots).Elem()},
		{name: "page byte", typ: reflect.TypeOf(c.pages[0].buf).Elem()},
	}
	for _, tt := range tests {
		if hasPointers(tt.typ) {
			t.Errorf("%s type %v holds pointers, want none", tt.name, tt.typ)
		}
	}
	if size := reflect.TypeOf(c.nodes).Elem().Size(); size > 16 {
		t.Errorf("node is %d bytes, want at most 16", size)
	}
}

// TestHeapObjectsPerEntry checks with the runtime's own count that 64K
// entries cost a handful of heap objects (pages, the node slice and the
// index table as they grow), not one or more per entry.
func TestHeapObjectsPerEntry(t *testing.T) {
	const n = 1 << 16
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
	}
	value := strings.Repeat("v", 64)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := New(0, nil)
	for _, k := range keys {
		c.Add(k, value)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(c)
	// Signed: objects freed by earlier tests may outnumber the cache's.
	if objs := float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / n; objs > 0.01 {
		t.Errorf("%.3f heap objects per entry, want at most 0.01", objs)
	}
}

// TestAddAllocs checks that in steady state, a budget full and every Add
// evicting, replacing or reusing a slot, Add allocates nothing but a new
// page now and then: for 64-byte values well under one allocation per 100
// Adds, and for 4 KiB ones one per page's worth of records.
func TestAddAllocs(t *testing.T) {
	const entries = 1 << 12
	keys := make([]string, 2*entries)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
	}
	tests := []struct {
		name     string
		valueLen int
		keys     []string
		maxAlloc float64 // per Add
	}{
		{name: "replace 64 B", valueLen: 64, keys: keys[:entries], maxAlloc: 0.01},
		{name: "evict 64 B", valueLen: 64, keys: keys, maxAlloc: 0.01},
		// Random replacements leave dead records all over the pages, and
		// compaction copies the live ones again: allow for writing each
		// record three times.
		{name: "replace 4 KiB", valueLen: 4096, keys: keys[:entries], maxAlloc: 3 * 4200.0 / pageSize},
		{name: "evict 4 KiB", valueLen: 4096, keys: keys, maxAlloc: 3 * 4200.0 / pageSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value := strings.Repeat("v", tt.valueLen)
			c := New(entries*int64(len(keys[0])+len(value)), nil)
			for range 2 { // fill, then churn until slots and index stop growing
				for _, k := range tt.keys {
					c.Add(k, value)
				}
			}
			const adds = 1 << 16
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range adds {
				c.Add(tt.keys[(i*7919)%len(tt.keys)], value)
			}
			runtime.ReadMemStats(&after)
			t.Logf("%.2f bytes of pages allocated per byte added", float64(after.TotalAlloc-before.TotalAlloc)/float64(adds*(len(value)+len(keys[0]))))
			if per := float64(after.Mallocs-before.Mallocs) / adds; per >= tt.maxAlloc {
				t.Errorf("Add of a %d-byte value allocates %.4f times, want < %.4f", tt.valueLen, per, tt.maxAlloc)
			}
		})
	}
}

// TestPageMemoryBound churns a full cache with random keys, value sizes
// from 0 to 8 KiB, removals and expiries, and checks that the pages never
// hold more than the live records plus an eighth, plus two pages.
func TestPageMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("churns 64 MiB of records")
	}
	r := rand.New(rand.NewPCG(11, 12))
	c := New(16<<20, nil)
	value := strings.Repeat("v", 8<<10)
	for step := range 200000 {
		key := fmt.Sprint("key", r.IntN(20000))
		switch p := r.IntN(10); {
		case p < 8:
			n := r.IntN(512)
			if r.IntN(16) == 0 {
				n = r.IntN(len(value) + 1)
			}
			c.Add(key, value[:n])
		default:
			c.Remove(key)
		}
		if step%1000 == 0 {
			// pageBytes = live + dead + the head page's unused end, with
			// dead <= max(a page, pageBytes/8).
			if limit := c.liveBytes + c.liveBytes/7 + 2*pageSize; c.pageBytes > limit {
				t.Fatalf("step %d: %d bytes of pages for %d live, want at most %d", step, c.pageBytes, c.liveBytes, limit)
			}
		}
	}
	checkInvariants(t, c)
	t.Logf("%d bytes of pages for %d live bytes in %d entries; %d pages compacted",
		c.pageBytes, c.liveBytes, c.Len(), c.compactions)
	if c.compactions == 0 {
		t.Errorf("no page compacted: the test covers too little")
	}
}

// TestIndex inserts and removes node indexes under hashes crowded into a
// few home slots, so that runs wrap around the table's end, and checks
// against a map after every operation that each stored node is found from
// its home slot and that no slot is lost.
func TestIndex(t *testing.T) {
	t.Parallel()
	for _, spread := range []uint32{1, 7, 1 << 31} {
		t.Run(fmt.Sprint("spread ", spread), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(spread), 3))
			var x index
			want := map[int32]uint32{} // node -> hash
			for step := range 3000 {
				if i := int32(r.IntN(200) + 1); want[i] != 0 || r.IntN(3) == 0 && len(want) > 0 {
					for i, h := range want {
						x.remove(h, i)
						delete(want, i)
						break
					}
				} else {
					// The top bits choose the home slot; all hashes end up
					// in spread homes at most, many near the table's end.
					h := ^uint32(0) - uint32(r.IntN(int(min(spread, 1<<20))))<<12
					x.insert(h, i)
					want[i] = h
				}
				if x.n != len(want) {
					t.Fatalf("step %d: index holds %d, want %d", step, x.n, len(want))
				}
				for i, h := range want {
					found := false
					for j := x.home(h); x.slots[j] != 0; j = x.next(j) {
						if x.slots[j] == uint64(h)<<32|uint64(i) {
							found = true
							break
						}
					}
					if !found {
						t.Fatalf("step %d: node %d under hash %#x not reachable from its home", step, i, h)
					}
				}
			}
		})
	}
}

// TestAddSameValueKeepsRecord checks that storing a key's current value
// again, from another string, keeps the entry's record (a SET repeated
// with the same bytes costs no page space), while a different value of the
// same length gets a new record and leaves the old view as it was.
func TestAddSameValueKeepsRecord(t *testing.T) {
	c := New(0, nil)
	c.Add("k", "value")
	before, _ := c.Peek("k")
	c.Add("k", strings.Clone("value"))
	same, _ := c.Peek("k")
	if unsafe.StringData(same.KV) != unsafe.StringData(before.KV) {
		t.Errorf("re-adding the same value wrote a new record")
	}
	c.Add("k", "VALUE")
	after, _ := c.Peek("k")
	if unsafe.StringData(after.KV) == unsafe.StringData(before.KV) || after.Value() != "VALUE" || before.Value() != "value" {
		t.Errorf("after adding another value, Peek reads %q and the old view %q, want VALUE in a new record and value", after.Value(), before.Value())
	}
	checkInvariants(t, c)
}

// FuzzAgainstModel decodes operations from the fuzzer's bytes, three per
// operation (what, which key, a length or a duration), runs them on a cache
// with 256-byte pages and a 2000-byte budget, and on the model, and checks
// that they agree after each one.
func FuzzAgainstModel(f *testing.F) {
	f.Add([]byte{0, 1, 10, 0, 2, 200, 4, 1, 0, 6, 0, 0, 5, 0, 30, 1, 3, 100})
	f.Add([]byte{0, 0, 255, 0, 1, 255, 0, 2, 255, 3, 0, 0, 0, 3, 255, 2, 1, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		now := base
		var got []string
		c := New(2000, func(key, value string) { got = append(got, key+"="+value) })
		c.Now = func() time.Time { return now }
		c.pageSize, c.hashMask = 256, 3
		m := &model{maxBytes: 2000}
		for len(ops) >= 3 {
			what, key, arg := ops[0]%7, fmt.Sprint("k", ops[1]%16), int(ops[2])
			ops = ops[3:]
			value := strings.Repeat(string(rune('a'+arg%26)), arg*3)
			switch what {
			case 0:
				c.Add(key, value)
				m.add(key, value, time.Time{}, 0)
			case 1:
				expire := now.Add(time.Duration(arg%8) * time.Second)
				c.AddKV(key, value, expire, int64(arg%3))
				m.add(key, value, expire, int64(arg%3))
			case 2:
				v, ok := c.Get(key)
				wantV, wantOK := m.get(key, now)
				if ok != wantOK || v != wantV {
					t.Fatalf("Get(%q) = %q, %v, want %q, %v", key, v, ok, wantV, wantOK)
				}
			case 3:
				if got, want := c.Remove(key), m.remove(key, now); got != want {
					t.Fatalf("Remove(%q) = %v, want %v", key, got, want)
				}
			case 4:
				c.RemoveOldest()
				m.removeOldest()
			case 5:
				if got, want := c.ReplaceKV(key, value, time.Time{}, 0), m.replace(key, value, time.Time{}, 0, now); got != want {
					t.Fatalf("ReplaceKV(%q) = %v, want %v", key, got, want)
				}
			case 6:
				now = now.Add(time.Duration(arg) * 50 * time.Millisecond)
			}
			if !slices.Equal(got, m.evicted) {
				t.Fatalf("OnEvicted saw %q, want %q", got, m.evicted)
			}
			got, m.evicted = nil, nil
			compareModel(t, c, m)
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}
