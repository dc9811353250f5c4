package group

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rcache/rcache/pb"
)

// ServeGet answers a peer's request for a key this node owns: from the main
// cache, or by calling the Getter (unless in.Peek). It never forwards to
// another node, even when this node's ring names a different owner.
func (g *Group) ServeGet(ctx context.Context, in *pb.GetRequest) *pb.GetResponse {
	if res, ok := g.ServeGetCached(in); ok {
		return res
	}
	return g.serveLoad(ctx, in.GetKey())
}

// ServeGetLoad answers in as ServeGet does, for a server that asked
// ServeGetCached first and was told no: it loads the key here without
// looking it up again outside the load (which would count a second
// main-cache get).
func (g *Group) ServeGetLoad(ctx context.Context, in *pb.GetRequest) *pb.GetResponse {
	return g.serveLoad(ctx, in.GetKey())
}

// serveLoad answers a request for key that ServeGetCached could not: it
// loads key here (loadLocal looks in the cache again, inside the flight).
func (g *Group) serveLoad(ctx context.Context, key string) *pb.GetResponse {
	g.Stats.ServerRequests.Add(1)
	return g.response(g.loadLocal(ctx, key))
}

// ServeGetCached answers in as ServeGet does when that takes no load: a
// value in the main cache, a peek, an empty key. It reports false, having
// counted nothing, when ServeGet would call the Getter; a server can thus
// answer hits at once and hand only misses to a goroutine of their own.
func (g *Group) ServeGetCached(in *pb.GetRequest) (*pb.GetResponse, bool) {
	res, ok := g.serveCachedKey(in.GetKey(), in.GetPeek(), g.cfg.Now())
	if ok && in.GetTtlOnly() {
		res.Value = nil
	}
	return res, ok
}

// serveCachedKey is ServeGetCached for one key of a request, at now: the
// answer from memory, counted, or false, counting nothing.
func (g *Group) serveCachedKey(key string, peek bool, now time.Time) (*pb.GetResponse, bool) {
	if key == "" {
		g.Stats.ServerRequests.Add(1)
		return &pb.GetResponse{NotFound: true}, true
	}
	if !peek {
		// The peer may keep what it gets as a hot copy (or, later, a
		// negative entry): a write to key must now tell it to drop it.
		// Before the lookup, so that no write can fall between them.
		g.shared.mark(key, now)
	}
	if v, exp, ok := g.mainCache.get(key); ok {
		g.Stats.ServerRequests.Add(1)
		return g.response(entry{view: v, expire: exp}, nil), true
	}
	if peek {
		g.Stats.ServerRequests.Add(1)
		return &pb.GetResponse{NotFound: true}, true
	}
	return nil, false
}

// ServeGetMany answers a peer's batch request like ServeGet answers each
// key, loading up to maxBatchLoads missing keys at a time.
func (g *Group) ServeGetMany(ctx context.Context, in *pb.GetManyRequest) *pb.GetManyResponse {
	out, ok := g.ServeGetManyCached(in)
	if !ok {
		g.ServeGetManyLoad(ctx, in, out)
	}
	return out
}

// ServeGetManyCached answers the keys of in that take no load, as
// ServeGetCached answers one (and counts them). It reports whether that was
// every key; if not, the answer's other results are nil, and
// ServeGetManyLoad fills them: a server can thus answer a batch of hits at
// once, and hand only a batch with a miss to a goroutine of its own, which
// looks no key up twice.
func (g *Group) ServeGetManyCached(in *pb.GetManyRequest) (*pb.GetManyResponse, bool) {
	keys := in.GetKeys()
	out := &pb.GetManyResponse{Results: make([]*pb.GetResponse, len(keys))}
	all := true
	now := g.cfg.Now()
	for i, key := range keys {
		res, ok := g.serveCachedKey(string(key), in.GetPeek(), now)
		out.Results[i], all = res, all && ok
	}
	return out, all
}

// ServeGetManyLoad fills the results of out, ServeGetManyCached's answer to
// in, that it left nil: it loads those keys here, up to maxBatchLoads at a
// time.
func (g *Group) ServeGetManyLoad(ctx context.Context, in *pb.GetManyRequest, out *pb.GetManyResponse) {
	sem := make(chan struct{}, maxBatchLoads)
	var wg sync.WaitGroup
	for i, key := range in.GetKeys() {
		if out.Results[i] != nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out.Results[i] = g.serveLoad(ctx, string(key))
		})
	}
	wg.Wait()
}

// maxBatchLoads bounds the loads one ServeGetMany runs at once.
const maxBatchLoads = 32

// ServeWrite applies a peer's write: one this node owns (SET, DELETE, INCR),
// an invalidation (DROP, FLUSH) of the copies it holds, or a hand-off (FILL)
// of a value it now owns, kept only if it holds none (see Handoff).
func (g *Group) ServeWrite(ctx context.Context, in *pb.WriteRequest) *pb.WriteResponse {
	switch in.GetOp() {
	case pb.WriteRequest_OP_DROP:
		g.dropCopy(in.GetKey())
		return &pb.WriteResponse{}
	case pb.WriteRequest_OP_FLUSH:
		g.Flush()
		return &pb.WriteResponse{}
	case pb.WriteRequest_OP_FILL:
		return &pb.WriteResponse{Applied: g.fill(in)}
	}
	return g.applyWrite(ctx, in)
}

// response encodes a load's outcome for a peer.
func (g *Group) response(e entry, err error) *pb.GetResponse {
	switch {
	case errors.Is(err, ErrNotFound):
		return &pb.GetResponse{NotFound: true}
	case err != nil:
		return &pb.GetResponse{OriginError: err.Error()}
	}
	res := &pb.GetResponse{Value: []byte(e.view.String())}
	if !e.expire.IsZero() {
		// Round up so that a value with under a millisecond left is not sent
		// as one that never expires.
		res.TtlMs = max(1, (e.expire.Sub(g.cfg.Now()) + time.Millisecond - 1).Milliseconds())
	}
	return res
}
