package group

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry holds groups by name. Servers take a Registry explicitly, so that
// several nodes can live in one process; the package-level NewGroup,
// GetGroup and Groups use a default one, as groupcache does.
// A Registry is safe for concurrent use; its zero value is not, use
// NewRegistry.
type Registry struct {
	mu     sync.RWMutex // guards groups
	groups map[string]*Group
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{groups: make(map[string]*Group)}
}

var defaultRegistry = NewRegistry()

// DefaultRegistry returns the registry behind NewGroup, GetGroup and Groups.
func DefaultRegistry() *Registry { return defaultRegistry }

// NewGroup creates a group in the default registry; see Registry.NewGroup.
func NewGroup(name string, cacheBytes int64, getter Getter) *Group {
	return defaultRegistry.NewGroup(name, cacheBytes, getter)
}

// GetGroup returns the named group of the default registry, or nil.
func GetGroup(name string) *Group { return defaultRegistry.GetGroup(name) }

// Groups returns the groups of the default registry, sorted by name.
func Groups() []*Group { return defaultRegistry.Groups() }

// NewGroup creates a group with the default settings and a budget of
// cacheBytes (zero: no limit). Like groupcache it is meant for start-up and
// panics on a programmer error: an empty or taken name, or a nil getter.
// NewGroupWithConfig returns those as errors instead.
func (r *Registry) NewGroup(name string, cacheBytes int64, getter Getter) *Group {
	g, err := r.NewGroupWithConfig(Config{Name: name, CacheBytes: cacheBytes, Getter: getter})
	if err != nil {
		panic(err.Error())
	}
	return g
}

// NewGroupWithConfig creates a group from cfg, or says why it cannot.
func (r *Registry) NewGroupWithConfig(cfg Config) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := newGroup(cfg)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.groups[cfg.Name]; dup {
		return nil, fmt.Errorf("group: duplicate name %q", cfg.Name)
	}
	r.groups[cfg.Name] = g
	return g, nil
}

// GetGroup returns the named group, or nil if there is none.
func (r *Registry) GetGroup(name string) *Group {
	r.mu.RLock()
	g := r.groups[name]
	r.mu.RUnlock()
	return g
}

// Groups returns the registry's groups sorted by name.
func (r *Registry) Groups() []*Group {
	r.mu.RLock()
	gs := make([]*Group, 0, len(r.groups))
	for _, g := range r.groups {
		gs = append(gs, g)
	}
	r.mu.RUnlock()
	slices.SortFunc(gs, func(a, b *Group) int { return strings.Compare(a.name, b.name) })
	return gs
}
