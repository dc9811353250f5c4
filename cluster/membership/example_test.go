package membership_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rcache/rcache/cluster/membership"
)

// A node that starts a cluster of its own; others would list its Addr in
// their Config.Join. In rcache, OnChange is the peer pool's Set.
func ExampleStart() {
	changed := make(chan []string, 1)
	m, err := membership.Start(membership.Config{
		BindAddr: "127.0.0.1:0",
		PeerURL:  "http://127.0.0.1:8001",
		OnChange: func(urls []string) { changed <- urls },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Leave(time.Second)
	fmt.Println(<-changed)
	// Output: [http://127.0.0.1:8001]
}

// staticResolver answers every lookup with the same addresses, as the
// headless Service of a StatefulSet of two pods would.
type staticResolver []net.IPAddr

func (r staticResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return r, nil
}

func ExampleStartDNS() {
	d, err := membership.StartDNS(context.Background(), membership.DNSConfig{
		Name:     "rcache-peers.default.svc.cluster.local",
		Port:     8001,
		Resolver: staticResolver{{IP: net.ParseIP("10.1.0.7")}, {IP: net.ParseIP("fd00::7")}},
		OnChange: func(urls []string) { fmt.Println(urls) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Stop()
	// Output: [http://10.1.0.7:8001 http://[fd00::7]:8001]
}
