package group_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/rcache/rcache/engine/group"
)

// gatedOrigin answers "v<call number>" for every key, but only once the test
// lets it: each call announces itself on entered and waits on release.
type gatedOrigin struct {
	calls   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func newGatedOrigin() *gatedOrigin {
	return &gatedOrigin{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (o *gatedOrigin) Get(ctx context.Context, key string) ([]byte, error) {
	n := o.calls.Add(1)
	o.entered <- struct{}{}
	<-o.release
	return []byte("v" + string(rune('0'+n))), nil
}

// TestWriteFencesLoadInFlight recreates the interleaving that fences
// prevent: a load reads the origin, a write to the same key lands, then the
// load finishes. The write must win.
func TestWriteFencesLoadInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(g *group.Group) error
		want  string // what Get returns after the load finished
	}{
		{
			name:  "DEL",
			write: func(g *group.Group) error { _, err := g.Delete(context.Background(), "k"); return err },
			want:  "v2", // reloaded from the origin, not the stale v1
		},
		{
			name:  "SET",
			write: func(g *group.Group) error { return g.Set(context.Background(), "k", []byte("written"), 0) },
			want:  "written",
		},
		{
			name:  "Flush",
			write: func(g *group.Group) error { g.Flush(); return nil },
			want:  "v2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newGatedOrigin()
			g := newTestGroup(t, group.Config{Name: "fence", Getter: o})
			first := make(chan string)
			go func() {
				v, err := g.Get(context.Background(), "k")
				if err != nil {
					t.Errorf("first Get = %v", err)
				}
				first <- v.String()
			}()
			<-o.entered // the load has read the origin's v1 and is in flight
			if err := tt.write(g); err != nil {
				t.Fatalf("write during the load: %v", err)
			}
			o.release <- struct{}{} // the stale load finishes now
			if got := <-first; got != "v1" {
				t.Errorf("first Get = %q, want v1 (its own load's result)", got)
			}
			go func() { <-o.entered; o.release <- struct{}{} }()
			v, err := g.Get(context.Background(), "k")
			if err != nil || v.String() != tt.want {
				t.Errorf("Get after %s during a load = %q, %v, want %q", tt.name, v, err, tt.want)
			}
		})
	}
}

// TestLoadWithoutWriteIsCached checks the other side of the fence: with no
// write in between, the load's result is cached as usual.
func TestLoadWithoutWriteIsCached(t *testing.T) {
	t.Parallel()
	o := newGatedOrigin()
	g := newTestGroup(t, group.Config{Name: "fence", Getter: o})
	go func() { <-o.entered; o.release <- struct{}{} }()
	mustGet(t, g, "k", "v1")
	mustGet(t, g, "k", "v1")
	if n := o.calls.Load(); n != 1 {
		t.Errorf("origin calls = %d, want 1", n)
	}
}

// TestWriteBetweenRecheckAndLoad writes to a key in the window between a
// load's re-check of the cache (a miss) and its call to the origin. The
// load's older value must not overwrite the write, whether the key is this
// node's (a local load) or another's (a peer fetch, kept as a hot copy).
func TestWriteBetweenRecheckAndLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name:       "g",
		CacheBytes: 1 << 20,
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return []byte("from the origin"), nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.SetTestHookLoadStarted(func(key string) {
		if err := g.Set(ctx, key, []byte("written"), 0); err != nil {
			t.Errorf("Set in the window: %v", err)
		}
	})
	if _, err := g.Get(ctx, "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	g.SetTestHookLoadStarted(nil)
	if v, err := g.Get(ctx, "k"); err != nil || v.String() != "written" {
		t.Errorf("after a write in the load's window, Get = %q, %v; want %q", v.String(), err, "written")
	}
}
