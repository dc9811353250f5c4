package group_test

import (
	"testing"

	"github.com/rcache/rcache/engine/group"
)

// TestLookup checks that Lookup answers from memory only, counts hits but
// not misses, and does not allocate for a key converted from a buffer.
func TestLookup(t *testing.T) {
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "lookup", Getter: db})
	if v, ok := g.Lookup("Tom"); ok {
		t.Errorf("Lookup(Tom) before any Get = %q, true; want a miss", v)
	}
	if n := db.Total(); n != 0 {
		t.Errorf("Lookup called the origin %d times, want 0", n)
	}
	mustGet(t, g, "Tom", "630")
	gets, hits := g.Stats.Gets.Load(), g.Stats.CacheHits.Load()
	if v, ok := g.Lookup("Tom"); !ok || v.String() != "630" {
		t.Errorf("Lookup(Tom) after Get = %q, %v, want 630, true", v, ok)
	}
	if g.Stats.Gets.Load() != gets+1 || g.Stats.CacheHits.Load() != hits+1 {
		t.Errorf("a Lookup hit counted gets %d->%d, hits %d->%d; want one more of each",
			gets, g.Stats.Gets.Load(), hits, g.Stats.CacheHits.Load())
	}
	buf := []byte("Tom")
	if n := testing.AllocsPerRun(100, func() { g.Lookup(string(buf)) }); n != 0 {
		t.Errorf("Lookup(string(buf)) allocates %v times, want 0", n)
	}
}
