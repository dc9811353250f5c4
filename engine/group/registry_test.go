package group_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
)

func names(gs []*group.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name())
	}
	return out
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := group.NewRegistry()
	if gs := r.Groups(); len(gs) != 0 {
		t.Errorf("NewRegistry().Groups() = %q, want none", names(gs))
	}
	getter := newOrigin(scores)
	b := r.NewGroup("b", 1<<10, getter)
	a, err := r.NewGroupWithConfig(group.Config{Name: "a", Getter: getter})
	if err != nil {
		t.Fatalf("NewGroupWithConfig(%q) = %v", "a", err)
	}
	c := r.NewGroup("c", 0, getter)

	for name, want := range map[string]*group.Group{"a": a, "b": b, "c": c, "d": nil} {
		if got := r.GetGroup(name); got != want {
			t.Errorf("GetGroup(%q) = %p, want %p", name, got, want)
		}
	}
	if got, want := names(r.Groups()), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Groups() = %q, want %q", got, want)
	}
	if got := b.Config().CacheBytes; got != 1<<10 {
		t.Errorf("NewGroup(%q, 1024, ...).Config().CacheBytes = %d, want 1024", "b", got)
	}
	// Registries are independent.
	if got := group.NewRegistry().GetGroup("a"); got != nil {
		t.Errorf("a new registry's GetGroup(%q) = %p, want nil", "a", got)
	}
}

// TestRegistryRejects checks the programmer errors: NewGroupWithConfig
// returns them, NewGroup panics with a message naming the group, and the
// registry is left as it was.
func TestRegistryRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		group  string
		getter group.Getter
		want   string // in the panic message
	}{
		{"duplicate", "taken", newOrigin(scores), `"taken"`},
		{"nil getter", "nilgetter", nil, `"nilgetter"`},
		{"empty name", "", newOrigin(scores), "group: empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := group.NewRegistry()
			taken := r.NewGroup("taken", 0, newOrigin(scores))

			g, err := r.NewGroupWithConfig(group.Config{Name: tt.group, Getter: tt.getter})
			if err == nil || g != nil {
				t.Errorf("NewGroupWithConfig(%q) = %p, %v, want nil, an error", tt.group, g, err)
			}

			func() {
				defer func() {
					msg, _ := recover().(string)
					if !strings.Contains(msg, tt.want) {
						t.Errorf("NewGroup(%q) panicked with %q, want a message containing %s", tt.group, msg, tt.want)
					}
				}()
				r.NewGroup(tt.group, 0, tt.getter)
			}()

			if got := names(r.Groups()); !slices.Equal(got, []string{"taken"}) {
				t.Errorf("Groups() = %q, want [taken]", got)
			}
			if got := r.GetGroup("taken"); got != taken {
				t.Errorf("GetGroup(%q) = %p, want the first group %p", "taken", got, taken)
			}
		})
	}
}

// defaultRuns makes the names used in the default registry unique when
// the test runs more than once in one process (-count).
var defaultRuns atomic.Int64

func TestDefaultRegistry(t *testing.T) {
	t.Parallel()
	prefix := fmt.Sprintf("TestDefaultRegistry-%d-", defaultRuns.Add(1))
	getter := newOrigin(scores)
	b := group.NewGroup(prefix+"b", 0, getter)
	a := group.NewGroup(prefix+"a", 0, getter)

	if got := group.GetGroup(prefix + "a"); got != a {
		t.Errorf("GetGroup(%q) = %p, want %p", prefix+"a", got, a)
	}
	if got := group.DefaultRegistry().GetGroup(prefix + "b"); got != b {
		t.Errorf("DefaultRegistry().GetGroup(%q) = %p, want %p", prefix+"b", got, b)
	}
	if got := group.GetGroup(prefix + "c"); got != nil {
		t.Errorf("GetGroup(%q) = %p, want nil", prefix+"c", got)
	}
	// Other tests may add groups to the default registry: look for ours.
	all := names(group.Groups())
	if !slices.IsSorted(all) {
		t.Errorf("Groups() = %q, want them sorted by name", all)
	}
	var ours []string
	for _, n := range all {
		if strings.HasPrefix(n, prefix) {
			ours = append(ours, n)
		}
	}
	if want := []string{prefix + "a", prefix + "b"}; !slices.Equal(ours, want) {
		t.Errorf("Groups() holds %q of ours, want %q", ours, want)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, prefix+"a") {
			t.Errorf("NewGroup(%q) again panicked with %q, want a message naming the group", prefix+"a", msg)
		}
	}()
	group.NewGroup(prefix+"a", 0, getter)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := func(change func(*group.Config)) group.Config {
		c := group.Config{Name: "scores", Getter: newOrigin(scores)}
		if change != nil {
			change(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     group.Config
		wantErr bool
	}{
		{"minimal", valid(nil), false},
		{"every field", valid(func(c *group.Config) {
			c.CacheBytes, c.TTL, c.LoadTimeout, c.HotTTL, c.HotProbability, c.InvalidateTimeout =
				1<<20, time.Minute, time.Second, time.Second, 0.5, time.Second
			c.Now, c.Rand = time.Now, func() float64 { return 0 }
		}), false},
		{"hot cache disabled", valid(func(c *group.Config) { c.HotProbability = -1 }), false},
		{"hot probability 1", valid(func(c *group.Config) { c.HotProbability = 1 }), false},
		{"empty name", valid(func(c *group.Config) { c.Name = "" }), true},
		{"nil getter", valid(func(c *group.Config) { c.Getter = nil }), true},
		{"negative CacheBytes", valid(func(c *group.Config) { c.CacheBytes = -1 }), true},
		{"negative TTL", valid(func(c *group.Config) { c.TTL = -time.Second }), true},
		{"negative LoadTimeout", valid(func(c *group.Config) { c.LoadTimeout = -time.Second }), true},
		{"negative HotTTL", valid(func(c *group.Config) { c.HotTTL = -time.Second }), true},
		{"negative InvalidateTimeout", valid(func(c *group.Config) { c.InvalidateTimeout = -time.Second }), true},
		{"hot probability above 1", valid(func(c *group.Config) { c.HotProbability = 1.5 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error: %t", err, tt.wantErr)
			}
		})
	}
}
