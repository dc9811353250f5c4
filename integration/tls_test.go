package integration

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rcache/rcache/internal/testpki"
	"github.com/redis/go-redis/v9"
)

// TestTLSCluster runs two nodes that speak TLS to clients and mutual TLS to
// each other: every key is answered on both nodes (so half the GETs take a
// TLS peer hop), a plaintext client is refused with a RESP error, and, with
// --tls-auth-clients, a client without a certificate is refused.
func TestTLSCluster(t *testing.T) {
	ca := testpki.NewCA(t, "rcache test CA")
	caFile, certFile, keyFile := ca.WriteFiles(t)
	clientCert := ca.Issue(t)
	o := newOrigin(t, map[string]string{"Tom": "630", "Jack": "589", "Sam": "567", "Ann": "612"})
	addrs := freeAddrs(t, 4)
	peers := "https://" + addrs[2] + ",https://" + addrs[3]
	var nodes []*node
	for i := range 2 {
		nodes = append(nodes, startNode(t, addrs[i], addrs[2+i],
			"--addr", addrs[i], "--peer-addr", addrs[2+i], "--peers", peers,
			"--group", "scores="+o.url(),
			"--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", caFile, "--tls-auth-clients"))
	}
	ctx := testCtx(t)
	for _, nd := range nodes {
		c := redis.NewClient(&redis.Options{Addr: nd.addr, MaxRetries: -1,
			TLSConfig: &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{clientCert}}})
		t.Cleanup(func() { c.Close() })
		for key, want := range map[string]string{"Tom": "630", "Jack": "589", "Sam": "567", "Ann": "612"} {
			if got, err := c.Get(ctx, "scores:"+key).Result(); err != nil || got != want {
				t.Errorf("node %s: GET scores:%s = %q, %v; want %q", nd.addr, key, got, err, want)
			}
		}
	}
	for _, key := range []string{"Tom", "Jack", "Sam", "Ann"} {
		if n := o.callsFor(key); n != 1 {
			t.Errorf("origin calls for %s = %d, want 1 (the owner loads, the other node asks it over TLS)", key, n)
		}
	}

	plain := redis.NewClient(&redis.Options{Addr: nodes[0].addr, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("plaintext PING succeeded on a TLS port")
	}
	conn, err := net.DialTimeout("tcp", nodes[0].addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte("PING\r\n"))
	reply, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(reply), "-ERR Protocol error: this port requires TLS") {
		t.Errorf("plaintext PING got %q, want -ERR Protocol error: this port requires TLS", reply)
	}
	noCert := redis.NewClient(&redis.Options{Addr: nodes[0].addr, MaxRetries: -1,
		TLSConfig: &tls.Config{RootCAs: ca.Pool}})
	defer noCert.Close()
	if err := noCert.Ping(ctx).Err(); err == nil {
		t.Error("PING without a client certificate succeeded, want the handshake refused")
	}
}
