package ring_test

import (
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/rcache/rcache/cluster/ring"
)

func Example() {
	// Hash each key to its numeric value so the owners can be checked by
	// hand; production code passes nil for the default hash.
	m := ring.New(3, func(data []byte) uint32 {
		n, _ := strconv.Atoi(string(data))
		return uint32(n)
	})
	m.Add("6", "4", "2") // virtual nodes at 2 4 6 12 14 16 22 24 26
	for _, key := range []string{"2", "11", "23", "27"} {
		fmt.Printf("%s -> %s\n", key, m.Get(key))
	}
	m.Add("8") // adds 8 18 28: only 27 moves
	fmt.Printf("27 -> %s\n", m.Get("27"))
	// Output:
	// 2 -> 2
	// 11 -> 2
	// 23 -> 4
	// 27 -> 2
	// 27 -> 8
}

// Membership changes build a new Map and publish it atomically, so readers
// never see a ring that is half built.
func Example_swap() {
	var peers atomic.Pointer[ring.Map]
	setPeers := func(nodes ...string) {
		m := ring.New(0, nil)
		m.Add(nodes...)
		peers.Store(m)
	}
	setPeers("http://10.0.0.1:8001", "http://10.0.0.2:8001")
	fmt.Println(peers.Load().Len())
	setPeers("http://10.0.0.1:8001")
	fmt.Println(peers.Load().Get("user:42"))
	// Output:
	// 2
	// http://10.0.0.1:8001
}

// Shares tells a status page how much of the key space each node owns.
func ExampleMap_Shares() {
	m := ring.New(0, nil)
	m.Add("http://10.0.0.1:8001", "http://10.0.0.2:8001", "http://10.0.0.3:8001")
	shares := m.Shares()
	for _, n := range m.Nodes() {
		fmt.Printf("%s %.0f%%\n", n, 100*shares[n])
	}
	// Output:
	// http://10.0.0.1:8001 31%
	// http://10.0.0.2:8001 35%
	// http://10.0.0.3:8001 35%
}
