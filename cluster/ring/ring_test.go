package ring_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rcache/rcache/cluster/ring"
)

// atoi hashes a decimal string to its value, so that owners can be worked
// out on paper: node "4" with 3 replicas sits at 4, 14 and 24.
func atoi(data []byte) uint32 {
	n, _ := strconv.Atoi(string(data))
	return uint32(n)
}

func TestHashing(t *testing.T) {
	t.Parallel()
	// With nodes 6, 4 and 2 the ring is 2 4 6 12 14 16 22 24 26; node 8 adds 8 18 28.
	tests := []struct {
		name   string
		add    []string // added one call at a time, in this order
		remove []string
		want   map[string]string // key -> owner
	}{
		{"three nodes", []string{"6", "4", "2"}, nil,
			map[string]string{"2": "2", "11": "2", "23": "4", "27": "2"}},
		{"add 8 moves only 27", []string{"6", "4", "2", "8"}, nil,
			map[string]string{"2": "2", "11": "2", "23": "4", "27": "8"}},
		{"remove 4 moves only 23", []string{"6", "4", "2"}, []string{"4"},
			map[string]string{"2": "2", "11": "2", "23": "6", "27": "2"}},
		{"duplicate add", []string{"6", "4", "2", "4", "6"}, nil,
			map[string]string{"2": "2", "11": "2", "23": "4", "27": "2"}},
		{"remove absent node", []string{"6", "4", "2"}, []string{"9"},
			map[string]string{"2": "2", "11": "2", "23": "4", "27": "2"}},
		{"empty ring", nil, nil,
			map[string]string{"2": "", "27": ""}},
		{"all removed", []string{"2"}, []string{"2"},
			map[string]string{"2": "", "27": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ring.New(3, atoi)
			for _, n := range tt.add {
				m.Add(n)
			}
			m.Remove(tt.remove...)
			for key, want := range tt.want {
				if got := m.Get(key); got != want {
					t.Errorf("Get(%q) = %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestNodes(t *testing.T) {
	t.Parallel()
	m := ring.New(3, atoi)
	m.Add("6", "4", "2", "4")
	m.Remove("6")
	want := []string{"2", "4"}
	got := m.Nodes()
	if !slices.Equal(got, want) {
		t.Errorf("Nodes() = %q, want %q", got, want)
	}
	if m.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", m.Len(), len(want))
	}
	got[0] = "changed"
	if got := m.Nodes(); !slices.Equal(got, want) {
		t.Errorf("Nodes() after changing the returned slice = %q, want %q", got, want)
	}
}

func peers(n int) []string {
	nodes := make([]string, n)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("http://127.0.0.1:%d", 8001+i)
	}
	return nodes
}

func randomKeys(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = strconv.FormatUint(r.Uint64(), 36)
	}
	return keys
}

func TestRemoveMovesOnlyItsKeys(t *testing.T) {
	t.Parallel()
	m := ring.New(0, nil)
	m.Add(peers(4)...)
	keys := randomKeys(10000)
	before := make([]string, len(keys))
	for i, k := range keys {
		before[i] = m.Get(k)
	}
	gone := peers(4)[1]
	m.Remove(gone)
	for i, k := range keys {
		got := m.Get(k)
		if got == gone || (before[i] != gone && got != before[i]) {
			t.Errorf("after Remove(%q): Get(%q) = %q, was %q", gone, k, got, before[i])
		}
	}
}

func TestBalance(t *testing.T) {
	t.Parallel()
	m := ring.New(0, nil)
	m.Add(peers(3)...)
	keys := randomKeys(100000)
	owner := make([]string, len(keys))
	load := make(map[string]int)
	for i, k := range keys {
		owner[i] = m.Get(k)
		load[owner[i]]++
	}
	mean := float64(len(keys)) / 3
	busiest := 0
	for _, n := range load {
		busiest = max(busiest, n)
	}
	t.Logf("load %v: busiest is %.3fx the mean", load, float64(busiest)/mean)
	if float64(busiest) > 1.15*mean {
		t.Errorf("busiest node holds %d keys, want at most %.0f (1.15x the mean)", busiest, 1.15*mean)
	}

	fourth := peers(4)[3]
	m.Add(fourth)
	moved := 0
	for i, k := range keys {
		if got := m.Get(k); got != owner[i] {
			moved++
			if got != fourth {
				t.Errorf("after Add(%q): Get(%q) = %q, want %q or %q", fourth, k, got, owner[i], fourth)
			}
		}
	}
	t.Logf("adding a fourth node moved %.1f%% of keys", 100*float64(moved)/float64(len(keys)))
	if moved > len(keys)*30/100 {
		t.Errorf("adding a fourth node moved %d of %d keys, want at most 30%%", moved, len(keys))
	}
}

// collide sends every name of the same length to the same point, so owners
// are decided by the tie-break alone.
func collide(data []byte) uint32 { return uint32(len(data)) }

func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hash ring.Hash
	}{
		{"default hash", nil},
		{"colliding hash", collide},
	}
	nodes := []string{"a1", "b2", "c3", "d4", "e5"}
	keys := randomKeys(1000)
	keys = append(keys, "1", "10", "100", "1000")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forward := ring.New(0, tt.hash)
			forward.Add(nodes...)
			backward := ring.New(0, tt.hash)
			for _, n := range slices.Backward(nodes) {
				backward.Add(n)
			}
			backward.Add("x9")
			backward.Remove("x9")
			for _, k := range keys {
				if got, want := backward.Get(k), forward.Get(k); got != want {
					t.Errorf("Get(%q) = %q after adding in reverse, want %q", k, got, want)
				}
			}
		})
	}
}

func FuzzRingOrderIndependence(f *testing.F) {
	f.Add("a,b,c", "key")
	f.Add("http://127.0.0.1:8001,http://127.0.0.1:8002", "user:42")
	f.Add("1x,x,11x", "")
	f.Fuzz(func(t *testing.T, names, key string) {
		nodes := strings.Split(names, ",")
		if len(nodes) > 6 {
			nodes = nodes[:6]
		}
		for _, fn := range []ring.Hash{nil, collide} {
			forward := ring.New(8, fn)
			forward.Add(nodes...)
			backward := ring.New(8, fn)
			for _, n := range slices.Backward(nodes) {
				backward.Add(n)
			}
			// Rotated, one node per Add call, with each node added twice.
			rotated := ring.New(8, fn)
			for i := range nodes {
				n := nodes[(i+len(key))%len(nodes)]
				rotated.Add(n)
				rotated.Add(n)
			}
			got, want := backward.Get(key), forward.Get(key)
			if got != want {
				t.Errorf("Get(%q) = %q after adding %q in reverse, want %q", key, got, nodes, want)
			}
			if got := rotated.Get(key); got != want {
				t.Errorf("Get(%q) = %q after adding %q rotated by %d, want %q", key, got, nodes, len(key), want)
			}
			if !slices.Contains(nodes, got) {
				t.Errorf("Get(%q) = %q, want one of %q", key, got, nodes)
			}
		}
	})
}

// TestConcurrentReaders swaps whole rings under readers, the intended use.
// Run with -race: a reader must never observe a ring that is being built.
func TestConcurrentReaders(t *testing.T) {
	t.Parallel()
	build := func(nodes []string) *ring.Map {
		m := ring.New(0, nil)
		m.Add(nodes...)
		return m
	}
	three, four := peers(3), peers(4)
	var cur atomic.Pointer[ring.Map]
	cur.Store(build(three))

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := strconv.Itoa(i)
				if got := cur.Load().Get(key); !slices.Contains(four, got) {
					t.Errorf("Get(%q) = %q, want one of %q", key, got, four)
					return
				}
			}
		})
	}
	for i := range 100 {
		if i%2 == 0 {
			cur.Store(build(four))
		} else {
			cur.Store(build(three))
		}
	}
	wg.Wait()
}

func benchmarkGet(b *testing.B, nodes int) {
	m := ring.New(0, nil)
	m.Add(peers(nodes)...)
	keys := randomKeys(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Get(keys[i%len(keys)])
	}
}

func BenchmarkGet8(b *testing.B)   { benchmarkGet(b, 8) }
func BenchmarkGet32(b *testing.B)  { benchmarkGet(b, 32) }
func BenchmarkGet128(b *testing.B) { benchmarkGet(b, 128) }
func BenchmarkGet512(b *testing.B) { benchmarkGet(b, 512) }

func TestShares(t *testing.T) {
	t.Parallel()
	const space = 1 << 32
	tests := []struct {
		name  string
		hash  ring.Hash
		nodes []string
		want  map[string]float64
	}{
		// The ring is 2 4 6 12 14 16 22 24 26: "4" owns (2,4], (12,14]
		// and (22,24], 6 hashes; "2" owns the wrap-around (26,2].
		{"three nodes", atoi, []string{"6", "4", "2"},
			map[string]float64{"2": 1 - 12.0/space, "4": 6.0 / space, "6": 6.0 / space}},
		{"one node", atoi, []string{"7"}, map[string]float64{"7": 1}},
		// Every point of "a" and "b" is at hash 2 ("0a", "1a", "2a"):
		// ties go to the first node by name.
		{"ties", collide, []string{"b", "a"}, map[string]float64{"a": 1, "b": 0}},
		{"empty", atoi, nil, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ring.New(3, tt.hash)
			m.Add(tt.nodes...)
			got := m.Shares()
			if len(got) != len(tt.want) {
				t.Errorf("Shares() = %v, want %v", got, tt.want)
			}
			for n, want := range tt.want {
				if got[n] != want {
					t.Errorf("Shares()[%q] = %v, want %v", n, got[n], want)
				}
			}
		})
	}
}

// TestSharesMatchKeys checks, with the default hash, that the shares add
// up to 1 and match the fraction of random keys each node owns.
func TestSharesMatchKeys(t *testing.T) {
	t.Parallel()
	m := ring.New(0, nil)
	nodes := peers(4)
	m.Add(nodes...)
	shares := m.Shares()
	keys := randomKeys(100000)
	owned := map[string]int{}
	for _, k := range keys {
		owned[m.Get(k)]++
	}
	sum := 0.0
	for _, n := range nodes {
		sum += shares[n]
		frac := float64(owned[n]) / float64(len(keys))
		if d := frac - shares[n]; d > 0.01 || d < -0.01 {
			t.Errorf("node %s owns %.4f of the keys, Shares() says %.4f", n, frac, shares[n])
		}
	}
	if sum < 0.999999 || sum > 1.000001 {
		t.Errorf("Shares() add up to %v, want 1", sum)
	}
}
