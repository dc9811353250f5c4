package group

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// heapPerEntry fills a main cache with n entries of 16-byte keys (made
// beforehand, as a caller's keys are) and valueLen-byte values and returns
// the heap bytes and objects it holds per entry, after a GC.
func heapPerEntry(n, valueLen int) (bytes, objects float64) {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
	}
	value := make([]byte, valueLen)
	c := &cache{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, k := range keys {
		c.add(k, NewByteView(value), time.Time{})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(c)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n),
		float64(after.HeapObjects-before.HeapObjects) / float64(n)
}

// TestEntryOverhead checks that entryOverhead matches what an entry really
// costs beyond its value's bytes (the key's bytes are the caller's, made
// before, and charged as len(key)), within a quarter either way.
func TestEntryOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 2^18 entries")
	}
	const valueLen = 64
	bytes, objects := heapPerEntry(1<<18, valueLen)
	overhead := bytes - valueLen
	t.Logf("%.1f heap bytes and %.2f heap objects per entry; overhead %.1f, charged %d", bytes, objects, overhead, entryOverhead)
	if overhead < 0.75*entryOverhead || overhead > 1.25*entryOverhead {
		t.Errorf("measured overhead %.1f bytes per entry, charged entryOverhead = %d: update the constant", overhead, entryOverhead)
	}
}
