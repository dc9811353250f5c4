package group

import (
	"testing"
	"time"
)

// TestNewByteView checks that a view holds a copy of the bytes, so the
// caller may reuse them, and that making it costs one allocation.
func TestNewByteView(t *testing.T) {
	b := []byte("value")
	v := NewByteView(b)
	copy(b, "XXXXX")
	if v.String() != "value" || v.Len() != 5 || string(v.ByteSlice()) != "value" {
		t.Fatalf("NewByteView(value) = %q (len %d), want value", v.String(), v.Len())
	}
	for _, size := range []int{5, 64, 4096} {
		b := make([]byte, size)
		if n := testing.AllocsPerRun(100, func() { v = NewByteView(b) }); n != 1 {
			t.Errorf("NewByteView of %d bytes allocates %v times, want 1", size, n)
		}
	}
}

// TestCachedViewOutlivesEntry checks that a view of a cached value keeps
// reading its bytes after the entry is replaced, removed and the cache
// cleared: the view points into the cache's pages, which are never written
// again and never reused.
func TestCachedViewOutlivesEntry(t *testing.T) {
	c := &cache{}
	c.add("k", NewByteView([]byte("first")), time.Time{})
	v, _, ok := c.get("k")
	if !ok || v.String() != "first" {
		t.Fatalf("get(k) = %q, %v, want first, true", v.String(), ok)
	}
	c.add("k", NewByteView([]byte("second")), time.Time{})
	c.remove("k")
	c.clear()
	for range 1000 {
		c.add("k", NewByteView([]byte("overwrite")), time.Time{})
		c.remove("k")
	}
	if got := v.String(); got != "first" {
		t.Errorf("the view of a replaced, removed and cleared entry reads %q, want first", got)
	}
}
