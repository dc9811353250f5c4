package membership

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"
)

// table is the member list as memberlist's events describe it; it is the
// memberlist.EventDelegate of a Membership. memberlist calls the events
// with its node lock held, which is the only time a *memberlist.Node can be
// read without racing the updates memberlist makes to it in place (Addr,
// Port, Meta: memberlist issue #306), so the table copies what it needs
// there, and Members and URLs read the copy. For the same reason the
// events must not block, nor call back into memberlist: they take only the
// table's own lock, never held around a memberlist call, and signal watch
// without waiting.
type table struct {
	notify chan<- struct{} // capacity 1, read by watch

	mu     sync.Mutex // guards byName
	byName map[string]Member
}

func newTable(notify chan<- struct{}) *table {
	return &table{notify: notify, byName: make(map[string]Member)}
}

// NotifyJoin records a node that is new, or alive again.
func (t *table) NotifyJoin(n *memberlist.Node) { t.set(n) }

// NotifyUpdate records a node whose address or metadata changed.
func (t *table) NotifyUpdate(n *memberlist.Node) { t.set(n) }

// NotifyLeave forgets a node that left or was declared dead.
func (t *table) NotifyLeave(n *memberlist.Node) {
	t.mu.Lock()
	delete(t.byName, n.Name)
	t.mu.Unlock()
	t.signal()
}

func (t *table) set(n *memberlist.Node) {
	mb := Member{Name: n.Name, Addr: n.Address(), PeerURL: string(n.Meta)}
	t.mu.Lock()
	t.byName[n.Name] = mb
	t.mu.Unlock()
	t.signal()
}

// signal wakes watch up, or does nothing if a wake-up is already pending.
func (t *table) signal() {
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// get returns the member called name, if live.
func (t *table) get(name string) (Member, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, ok := t.byName[name]
	return mb, ok
}

// members returns the live members sorted by name.
func (t *table) members() []Member {
	t.mu.Lock()
	members := slices.Collect(maps.Values(t.byName))
	t.mu.Unlock()
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return members
}

// urls returns the sorted, distinct peer URLs of the live members.
func (t *table) urls() []string {
	t.mu.Lock()
	urls := make([]string, 0, len(t.byName))
	for _, mb := range t.byName {
		if mb.PeerURL != "" {
			urls = append(urls, mb.PeerURL)
		}
	}
	t.mu.Unlock()
	slices.Sort(urls)
	return slices.Compact(urls)
}
