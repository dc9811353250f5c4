package peerhttp_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
)

// ExamplePool runs two nodes in one process. Each has its own registry, a
// group "greetings" and a Pool mounted on its HTTP server; every key is
// loaded once, by whichever node owns it, however many nodes ask.
func ExamplePool() {
	var loads atomic.Int64
	getter := group.GetterFunc(func(_ context.Context, key string) ([]byte, error) {
		loads.Add(1)
		return []byte("hello, " + key), nil
	})

	var urls []string
	var groups []*group.Group
	var pools []*peerhttp.Pool
	for range 2 {
		reg := group.NewRegistry()
		g, err := reg.NewGroupWithConfig(group.Config{Name: "greetings", Getter: getter, HotProbability: -1})
		if err != nil {
			panic(err)
		}
		// An unstarted server already listens on 127.0.0.1:0, so the
		// node's URL is known before its Pool is made.
		srv := httptest.NewUnstartedServer(nil)
		self := "http://" + srv.Listener.Addr().String()
		pool, err := peerhttp.New(self, peerhttp.Config{Registry: reg})
		if err != nil {
			panic(err)
		}
		mux := http.NewServeMux()
		mux.Handle(peerhttp.DefaultBasePath, pool)
		srv.Config.Handler = mux
		srv.Start()
		defer srv.Close()
		defer pool.Close()

		g.RegisterPeers(pool)
		urls = append(urls, self)
		groups = append(groups, g)
		pools = append(pools, pool)
	}
	for _, pool := range pools {
		pool.Set(urls...) // every member, self included
	}

	ctx := context.Background()
	for _, key := range []string{"alice", "bob"} {
		for i, g := range groups {
			v, err := g.Get(ctx, key)
			if err != nil {
				panic(err)
			}
			fmt.Printf("node %d: %s\n", i, v)
		}
	}
	fmt.Println("origin loads:", loads.Load())
	// Output:
	// node 0: hello, alice
	// node 1: hello, alice
	// node 0: hello, bob
	// node 1: hello, bob
	// origin loads: 2
}

// ExampleNewServer serves a Pool on the peer port with the bounds that cut
// slow clients, as cmd/rcache does. For TLS, pass a *tls.Config holding
// the node's certificate (and ClientCAs with
// ClientAuth: tls.RequireAndVerifyClientCert for mutual TLS), call
// srv.ServeTLS(ln, "", "") instead of Serve, and give the Pools
// Config.TLS with the CA in RootCAs (and the node's client certificate).
func ExampleNewServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	self := "http://" + ln.Addr().String()
	pool, err := peerhttp.New(self, peerhttp.Config{Registry: group.NewRegistry()})
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	srv := peerhttp.NewServer(pool, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	fmt.Println("header timeout:", srv.ReadHeaderTimeout)
	if err := srv.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(<-done)
	// Output:
	// header timeout: 5s
	// http: Server closed
}
