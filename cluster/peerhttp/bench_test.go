package peerhttp_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// benchPeerGet measures one peer round trip for a key of valueSize bytes
// that is cached at its owner: encode, HTTP over loopback, serve from the
// main cache, decode. With callers > 0, that many goroutines ask at once
// (rounded up to a multiple of GOMAXPROCS). It reports the median latency
// of one Get as p50-us, and for callers > 0 the throughput as gets/s.
// With streams, the Gets go on the peer's stream (the benchmark waits for
// it); without, each is an HTTP request.
func benchPeerGet(b *testing.B, valueSize string, callers int, streams bool) {
	nodes := newCluster(b, clusterConfig{nodes: 2, streams: streams})
	// Distinct keys, as the group's flight would send: concurrent Gets of
	// one key never reach the peer client together.
	keys := make([]*pb.GetRequest, max(1, callers))
	var peer group.PeerGetter
	for i := range keys {
		key := keyOwnedBy(b, nodes, nodes[1], "size:"+valueSize+"#"+strconv.Itoa(i)+"-")
		p, ok := nodes[0].pool.PickPeer(key)
		if !ok {
			b.Fatalf("PickPeer(%q) found no peer", key)
		}
		peer = p
		keys[i] = &pb.GetRequest{Group: "scores", Key: key}
		if _, err := peer.Get(context.Background(), keys[i]); err != nil { // warms the owner's cache
			b.Fatalf("Get: %v", err)
		}
	}
	ctx := context.Background()
	if streams {
		waitStream(b, nodes[0].pool, peer, keys[0])
	}
	var mu sync.Mutex // guards lat
	var lat []time.Duration
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if callers == 0 {
		for b.Loop() {
			t0 := time.Now()
			if _, err := peer.Get(ctx, keys[0]); err != nil {
				b.Fatalf("Get: %v", err)
			}
			lat = append(lat, time.Since(t0))
		}
	} else {
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			req := keys[int(next.Add(1)-1)%len(keys)]
			var mine []time.Duration
			for pb.Next() {
				t0 := time.Now()
				if _, err := peer.Get(ctx, req); err != nil {
					b.Errorf("Get: %v", err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "gets/s")
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	}
}

func BenchmarkPeerGet(b *testing.B)             { benchPeerGet(b, "64", 0, true) }
func BenchmarkPeerGetHTTP(b *testing.B)         { benchPeerGet(b, "64", 0, false) }
func BenchmarkPeerGet64K(b *testing.B)          { benchPeerGet(b, "65536", 0, true) }
func BenchmarkPeerGetParallel(b *testing.B)     { benchPeerGet(b, "64", 2, true) }
func BenchmarkPeerGet64KParallel(b *testing.B)  { benchPeerGet(b, "65536", 2, true) }
func BenchmarkPeerGetConcurrent64(b *testing.B) { benchPeerGet(b, "64", 64, true) }
func BenchmarkPeerGetConcurrent64HTTP(b *testing.B) {
	benchPeerGet(b, "64", 64, false)
}
func BenchmarkPeerGetConcurrent256(b *testing.B) { benchPeerGet(b, "64", 256, true) }
