package group

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// heapPerEntry fills a main cache with n entries of 16-byte keys and
// valueLen-byte values and returns the heap bytes and objects it holds per
// entry, after a GC. The keys are made inside the measurement and dropped,
// so a layout that keeps the caller's key string pays for it.
func heapPerEntry(n, valueLen int) (bytes, objects float64) {
	value := make([]byte, valueLen)
	c := &cache{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		key := fmt.Sprintf("key-%012d", i)
		c.add(key, NewByteView(value), time.Time{})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(c)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n),
		float64(after.HeapObjects-before.HeapObjects) / float64(n)
}

// TestEntryOverhead checks that entryOverhead matches what an entry really
// costs beyond its key's and value's bytes, within a quarter either way.
func TestEntryOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 2^18 entries")
	}
	const keyLen, valueLen = 16, 64
	bytes, objects := heapPerEntry(1<<18, valueLen)
	overhead := bytes - keyLen - valueLen
	t.Logf("%.1f heap bytes and %.2f heap objects per entry; overhead %.1f, charged %d", bytes, objects, overhead, entryOverhead)
	if overhead < 0.75*entryOverhead || overhead > 1.25*entryOverhead {
		t.Errorf("measured overhead %.1f bytes per entry, charged entryOverhead = %d: update the constant", overhead, entryOverhead)
	}
}
