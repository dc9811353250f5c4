package peerhttp_test

import (
	"context"
	"testing"

	"github.com/rcache/rcache/pb"
)

// benchPeerGet measures one peer round trip for a key of valueSize bytes
// that is cached at its owner: encode, HTTP over loopback, serve from the
// main cache, decode.
func benchPeerGet(b *testing.B, valueSize string, parallel bool) {
	nodes := newCluster(b, clusterConfig{nodes: 2})
	key := keyOwnedBy(b, nodes, nodes[1], "size:"+valueSize+"#")
	peer, ok := nodes[0].pool.PickPeer(key)
	if !ok {
		b.Fatalf("PickPeer(%q) found no peer", key)
	}
	req := &pb.GetRequest{Group: "scores", Key: key}
	ctx := context.Background()
	if _, err := peer.Get(ctx, req); err != nil { // warms the owner's cache
		b.Fatalf("Get: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for b.Loop() {
			if _, err := peer.Get(ctx, req); err != nil {
				b.Fatalf("Get: %v", err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := peer.Get(ctx, req); err != nil {
				b.Errorf("Get: %v", err)
				return
			}
		}
	})
}

func BenchmarkPeerGet(b *testing.B)            { benchPeerGet(b, "64", false) }
func BenchmarkPeerGet64K(b *testing.B)         { benchPeerGet(b, "65536", false) }
func BenchmarkPeerGetParallel(b *testing.B)    { benchPeerGet(b, "64", true) }
func BenchmarkPeerGet64KParallel(b *testing.B) { benchPeerGet(b, "65536", true) }
