package peerhttp_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
)

// portHash hashes data to the number its trailing digits spell, so that
// with one replica the member "http://n:20" sits at 20 and the key "15"
// at 15, and owners can be worked out on paper: a key belongs to the
// first member at or after it, wrapping around to the lowest.
func portHash(data []byte) uint32 {
	s := string(data)
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, _ := strconv.Atoi(s[i:])
	return uint32(n)
}

// nodes returns the base URLs of members at the given points.
func nodes(points ...int) []string {
	var urls []string
	for _, p := range points {
		urls = append(urls, "http://n:"+strconv.Itoa(p))
	}
	return urls
}

// peerURL returns the base URL behind a client of the Pool.
func peerURL(t *testing.T, p *peerhttp.Pool, pg group.PeerGetter) string {
	t.Helper()
	for i, c := range p.Peers() {
		if c == pg {
			return p.PeerStatus()[i].URL
		}
	}
	t.Fatalf("client %v is not a peer of the Pool", pg)
	return ""
}

func TestPreviousOwner(t *testing.T) {
	self := nodes(10)[0]
	tests := []struct {
		name    string
		before  []int
		after   []int
		advance time.Duration
		want    map[string]string // key -> previous owner, "" for none
	}{
		{"no change yet", nil, nil, 0,
			map[string]string{"15": "", "25": "", "35": ""}},
		{"node joins: keys it took name their old owner", []int{10, 20, 30}, []int{10, 20, 25, 30}, 0,
			map[string]string{"22": "http://n:30", "25": "http://n:30", "15": "", "27": "", "5": ""}},
		{"keys this node owned are not handed off", []int{10, 20, 30}, []int{8, 10, 20, 30}, 0,
			map[string]string{"7": "", "5": ""}},
		{"a node that left is not asked", []int{10, 20, 30}, []int{10, 30}, 0,
			map[string]string{"15": "", "25": ""}},
		{"this node's keys when it joins", []int{20, 30}, []int{10, 20, 30}, 0,
			map[string]string{"5": "http://n:20", "35": "http://n:20", "15": ""}},
		{"within the window", []int{10, 20, 30}, []int{10, 20, 25, 30}, peerhttp.DefaultHandoffWindow,
			map[string]string{"22": "http://n:30"}},
		{"after the window", []int{10, 20, 30}, []int{10, 20, 25, 30}, peerhttp.DefaultHandoffWindow + time.Nanosecond,
			map[string]string{"22": "", "25": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			p, err := peerhttp.New(self, peerhttp.Config{Replicas: 1, Hash: portHash, Now: clock.Now})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(p.Close)
			if tt.before != nil {
				p.Set(nodes(tt.before...)...)
				clock.Advance(time.Hour)
				p.Set(nodes(tt.after...)...)
				p.Set(nodes(tt.after...)...) // no change: keeps the time of the last
			}
			clock.Advance(tt.advance)
			for key, want := range tt.want {
				pg, ok := p.PreviousOwner(key)
				got := ""
				if ok {
					got = peerURL(t, p, pg)
				}
				if got != want {
					t.Errorf("PreviousOwner(%q) = %q, want %q", key, got, want)
				}
			}
		})
	}
}

// TestPreviousOwnerJoining checks that a node joining a running cluster
// (Config.Joining) treats the others as the previous owners of the keys it
// takes over, although its own first ring held only itself; and that a
// node starting with its peers (not Joining) asks no one.
func TestPreviousOwnerJoining(t *testing.T) {
	for _, joining := range []bool{true, false} {
		t.Run(strconv.FormatBool(joining), func(t *testing.T) {
			p, err := peerhttp.New(nodes(25)[0], peerhttp.Config{Replicas: 1, Hash: portHash, Joining: joining})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(p.Close)
			p.Set(nodes(25)...) // alone, as a node is before it hears of the others
			p.Set(nodes(10, 20, 25, 30)...)
			// Key 22 now belongs to 25; before 25 joined, 30 owned it.
			// Key 15 belongs to 20 now and before.
			want := map[string]string{"22": "", "15": ""}
			if joining {
				want["22"] = "http://n:30"
			}
			for key, w := range want {
				got := ""
				if pg, ok := p.PreviousOwner(key); ok {
					got = peerURL(t, p, pg)
				}
				if got != w {
					t.Errorf("PreviousOwner(%q) = %q, want %q", key, got, w)
				}
			}
			// Later changes are ordinary: the ring before them is known.
			p.Set(nodes(10, 20, 25, 30, 40)...)
			if pg, ok := p.PreviousOwner("35"); !ok || peerURL(t, p, pg) != "http://n:10" {
				t.Errorf("after a later join, PreviousOwner(35) = %v, %v; want http://n:10", pg, ok)
			}
		})
	}
}

func TestHandoffWindowOff(t *testing.T) {
	p, err := peerhttp.New(nodes(10)[0], peerhttp.Config{Replicas: 1, Hash: portHash, HandoffWindow: -1})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	p.Set(nodes(10, 20, 30)...)
	p.Set(nodes(10, 20, 25, 30)...)
	if _, ok := p.PreviousOwner("22"); ok {
		t.Errorf("PreviousOwner with the hand-off off found a peer")
	}
}

// TestLeave checks that a leaving node hands every key to its next owner,
// and stays off the ring whatever Set says afterwards.
func TestLeave(t *testing.T) {
	self := nodes(10)[0]
	p, err := peerhttp.New(self, peerhttp.Config{Replicas: 1, Hash: portHash})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	p.Set(nodes(10, 20, 30)...)
	if _, ok := p.PickPeer("5"); ok {
		t.Fatalf("PickPeer(%q) before Leave found a peer, want self", "5")
	}
	p.Leave()
	p.Leave() // no change
	want := map[string]string{"5": "http://n:20", "10": "http://n:20", "15": "http://n:20", "25": "http://n:30", "35": "http://n:20"}
	check := func(when string) {
		for key, owner := range want {
			pg, ok := p.PickPeer(key)
			if !ok {
				t.Errorf("%s: PickPeer(%q) found no peer, want %s", when, key, owner)
				continue
			}
			if got := peerURL(t, p, pg); got != owner {
				t.Errorf("%s: PickPeer(%q) = %s, want %s", when, key, got, owner)
			}
		}
		if got := strings.Join(p.Members(), " "); got != "http://n:20 http://n:30" {
			t.Errorf("%s: Members() = %s, want the others", when, got)
		}
	}
	check("after Leave")
	p.Set(nodes(30, 10, 20)...)
	check("after Set")
	if got := p.RingChanges(); got != 2 {
		t.Errorf("RingChanges() = %d, want 2 (Set, Leave)", got)
	}
	// The keys self owned name self as their previous owner: none.
	if _, ok := p.PreviousOwner("5"); ok {
		t.Errorf("PreviousOwner(%q) after Leave found a peer", "5")
	}
}
