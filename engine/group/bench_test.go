package group_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// benchGroup returns a group whose Getter answers every key with a 64-byte
// value, holding n keys already loaded, and those keys.
func benchGroup(b *testing.B, n int) (*group.Group, []string) {
	b.Helper()
	value := make([]byte, 64)
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name: "bench",
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return value, nil
		}),
	})
	if err != nil {
		b.Fatalf("NewGroupWithConfig = %v", err)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%08d", i)
		if _, err := g.Get(context.Background(), keys[i]); err != nil {
			b.Fatalf("Get(%q) = %v", keys[i], err)
		}
	}
	return g, keys
}

// BenchmarkGetHit measures a Get served from the main cache.
func BenchmarkGetHit(b *testing.B) {
	g, keys := benchGroup(b, 1<<10)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := g.Get(ctx, keys[i%len(keys)]); err != nil {
			b.Fatalf("Get(%q) = %v", keys[i%len(keys)], err)
		}
	}
}

// BenchmarkGetHitParallel measures cache hits from GOMAXPROCS goroutines,
// which all contend on the main cache's mutex.
func BenchmarkGetHitParallel(b *testing.B) {
	g, keys := benchGroup(b, 1<<10)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := g.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Errorf("Get(%q) = %v", keys[i%len(keys)], err)
				return
			}
		}
	})
}

// BenchmarkGetMiss measures the load path: the key is never cached because
// the Getter reports it not found, so every Get starts a load.
func BenchmarkGetMiss(b *testing.B) {
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name: "bench",
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return nil, group.ErrNotFound
		}),
	})
	if err != nil {
		b.Fatalf("NewGroupWithConfig = %v", err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Get(ctx, "missing"); err == nil {
			b.Fatalf("Get(%q) = <nil>, want ErrNotFound", "missing")
		}
	}
}

// answerPeer is a PeerGetter whose GetMany answers every key with a fresh
// copy of value, as decoding an owner's answer makes one.
type answerPeer struct{ value []byte }

func (p *answerPeer) Get(context.Context, *pb.GetRequest) (*pb.GetResponse, error) {
	return &pb.GetResponse{Value: bytes.Clone(p.value)}, nil
}

func (p *answerPeer) GetMany(_ context.Context, in *pb.GetManyRequest) (*pb.GetManyResponse, error) {
	out := &pb.GetManyResponse{Results: make([]*pb.GetResponse, len(in.GetKeys()))}
	for i := range out.Results {
		out.Results[i] = &pb.GetResponse{Value: bytes.Clone(p.value)}
	}
	return out, nil
}

func (p *answerPeer) Write(context.Context, *pb.WriteRequest) (*pb.WriteResponse, error) {
	return &pb.WriteResponse{}, nil
}

// BenchmarkGetManyFromPeer measures a GetMany of 16 keys another node owns,
// with hot copies off, so that every call asks the owner: the work (and
// the allocations, the owner's answer's included) a pipeline of remote
// GETs costs the node the client asked.
func BenchmarkGetManyFromPeer(b *testing.B) {
	g, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name:           "bench",
		Getter:         group.GetterFunc(func(context.Context, string) ([]byte, error) { return nil, group.ErrNotFound }),
		HotProbability: -1,
	})
	if err != nil {
		b.Fatalf("NewGroupWithConfig = %v", err)
	}
	peer := &answerPeer{value: make([]byte, 64)}
	g.RegisterPeers(&picker{owner: func(string) group.PeerGetter { return peer }, peers: []group.PeerGetter{peer}})
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%08d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for i, r := range g.GetMany(ctx, keys) {
			if r.Err != nil || r.Value.Len() != 64 {
				b.Fatalf("GetMany: key %q = %d bytes, %v", keys[i], r.Value.Len(), r.Err)
			}
		}
	}
}
