package group

import (
	"testing"
	"time"
)

// TestFencesWrite checks which loads a write fences, including when write
// takes its lock-free path because no load is in flight.
func TestFencesWrite(t *testing.T) {
	tests := []struct {
		name   string
		run    func(f *fences) bool // returns end's report for the load of "k"
		wantOK bool
	}{
		{"no write", func(f *fences) bool {
			tk := f.begin("k")
			return f.end(tk, nil)
		}, true},
		{"write before the load", func(f *fences) bool {
			f.write("k") // no load in flight: the lock-free path
			tk := f.begin("k")
			return f.end(tk, nil)
		}, true},
		{"write during the load", func(f *fences) bool {
			tk := f.begin("k")
			f.write("k")
			return f.end(tk, nil)
		}, false},
		{"write of another key during the load", func(f *fences) bool {
			tk := f.begin("k")
			f.write("other")
			return f.end(tk, nil)
		}, true},
		{"write during one of two loads", func(f *fences) bool {
			other := f.begin("other")
			f.write("k")
			tk := f.begin("k")
			f.end(other, nil)
			f.write("k") // the lock-free path must not be taken: k's load is in flight
			return f.end(tk, nil)
		}, false},
		{"flush during the load", func(f *fences) bool {
			tk := f.begin("k")
			f.flushAll()
			return f.end(tk, nil)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fences
			if got := tt.run(&f); got != tt.wantOK {
				t.Errorf("end = %v, want %v", got, tt.wantOK)
			}
			if n := f.loads.Load(); n != 0 {
				t.Errorf("loads = %d after every load ended, want 0", n)
			}
			if len(f.keys) != 0 {
				t.Errorf("keys = %v after every load ended, want none", f.keys)
			}
		})
	}
}

// TestCacheRemoveUnwritten checks that remove, which skips the lock of a
// cache never written, still finds entries added after a clear.
func TestCacheRemoveUnwritten(t *testing.T) {
	var c cache
	if c.remove("k") {
		t.Errorf("remove(k) on an empty cache = true")
	}
	c.add("k", StringView("v"), time.Time{})
	c.clear()
	if c.remove("k") {
		t.Errorf("remove(k) after clear = true")
	}
	c.add("k", StringView("v"), time.Time{})
	if !c.remove("k") {
		t.Errorf("remove(k) after clear and add = false, want true")
	}
	if _, _, ok := c.get("k"); ok {
		t.Errorf("get(k) after remove found it")
	}
}
