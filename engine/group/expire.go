package group

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rcache/rcache/pb"
)

// SetOptions are the options of SET as Redis 7 defines them. A key
// "exists" for NX and XX when it is cached at its owner: the origin is not
// asked.
type SetOptions struct {
	TTL     time.Duration // > 0: the value expires after TTL; 0: it never does
	KeepTTL bool          // keep the key's current expiry (TTL must be 0)
	NX      bool          // set only if the key does not exist
	XX      bool          // set only if the key exists
	Get     bool          // return the value the SET replaced
	// Expired says the value expired as it was written (SET with an EXAT
	// or PXAT already past, which Redis stores and expires at once): the
	// SET applies, under NX and XX, and returns the old value with Get, as
	// any other, and leaves the key deleted, in one step at the owner. TTL
	// and KeepTTL must be zero.
	Expired bool
}

// SetResult is the outcome of SetWithOptions.
type SetResult struct {
	Applied bool     // the value was stored (false when NX or XX refused it)
	Old     ByteView // with Get: the value replaced
	HadOld  bool     // with Get: whether there was one
}

// SetWithOptions stores value under key at the key's owner, as SET with
// options does, and returns once the other nodes were told to drop their
// copies. value is copied.
func (g *Group) SetWithOptions(ctx context.Context, key string, value []byte, o SetOptions) (SetResult, error) {
	if key == "" {
		return SetResult{}, ErrEmptyKey
	}
	g.Stats.Writes.Add(1)
	in := setInput{value: value, ttlMs: ttlMs(o.TTL), keepTTL: o.KeepTTL, get: o.Get}
	if o.Expired {
		in.ttlMs, in.keepTTL = -1, false
	}
	switch {
	case o.NX:
		in.cond = pb.WriteRequest_COND_NX
	case o.XX:
		in.cond = pb.WriteRequest_COND_XX
	}
	peer, ok := g.pickPeer(key)
	if !ok {
		// The common case on one node: no request or response message is
		// built, so a SET of a new key allocates only the entry itself.
		now := g.cfg.Now()
		r := g.setLocal(key, in, now)
		if r.Applied {
			g.invalidatePeers(ctx, key, now)
		}
		return r, nil
	}
	res, err := g.writeAt(ctx, peer, in.request(key))
	if err != nil {
		return SetResult{}, err
	}
	return SetResult{Applied: res.GetApplied(), Old: NewByteView(res.GetValue()), HadOld: res.GetFound()}, nil
}

// ttlMs converts a TTL to the wire's milliseconds, rounding a positive TTL
// under a millisecond up: zero would mean no expiry.
func ttlMs(ttl time.Duration) int64 {
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	return ms
}

// ExpireCond is the condition of an Expire, as EXPIRE's NX, XX, GT and LT
// options define it. A key without an expiry counts as never expiring: GT
// never applies to it, LT always does.
type ExpireCond int

const (
	ExpireAlways ExpireCond = iota // no condition
	ExpireNX                       // only if the key has no expiry
	ExpireXX                       // only if the key has an expiry
	ExpireGT                       // only if the new expiry is later
	ExpireLT                       // only if the new expiry is sooner
	ExpireXXLT                     // only if the key has an expiry, and the new one is sooner
)

// Expire makes key, if cached at its owner, expire after ttl; a ttl of zero
// or less deletes it. It reports whether the expiry was set (false when the
// key is not cached or cond refused).
func (g *Group) Expire(ctx context.Context, key string, ttl time.Duration, cond ExpireCond) (bool, error) {
	ms := ttlMs(ttl)
	if ttl <= 0 {
		ms = 0
	}
	res, err := g.write(ctx, &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_EXPIRE, TtlMs: ms, Cond: pb.WriteRequest_Cond(cond)})
	return res.GetApplied(), err
}

// Persist removes the expiry of key, if it is cached at its owner with one,
// and reports whether it did.
func (g *Group) Persist(ctx context.Context, key string) (bool, error) {
	res, err := g.write(ctx, &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_PERSIST})
	return res.GetApplied(), err
}

// GetDel returns the value of key (loading it from the origin if needed)
// and deletes it at its owner; the next Get loads it again. It returns an
// error wrapping ErrNotFound when there is no value.
func (g *Group) GetDel(ctx context.Context, key string) (ByteView, error) {
	return g.getAnd(ctx, &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_GETDEL})
}

// GetEx returns the value of key (loading it from the origin if needed)
// and, at its owner, sets its expiry to ttl from now (ttl > 0) or removes
// its expiry (persist); with neither it is GET. It returns an error
// wrapping ErrNotFound when there is no value.
func (g *Group) GetEx(ctx context.Context, key string, ttl time.Duration, persist bool) (ByteView, error) {
	return g.getAnd(ctx, &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_GETEX, TtlMs: ttlMs(ttl), Persist: persist})
}

func (g *Group) getAnd(ctx context.Context, in *pb.WriteRequest) (ByteView, error) {
	res, err := g.write(ctx, in)
	if err != nil {
		return ByteView{}, err
	}
	if !res.GetFound() {
		return ByteView{}, ErrNotFound
	}
	return NewByteView(res.GetValue()), nil
}

// NoExpiry is what TTL returns for a key that never expires.
const NoExpiry time.Duration = -1

// TTL returns how long key has left at its owner, or NoExpiry, without
// calling the origin. It returns ErrNotFound when the key is not cached
// there.
func (g *Group) TTL(ctx context.Context, key string) (time.Duration, error) {
	if key == "" {
		return 0, ErrEmptyKey
	}
	peer, ok := g.pickPeer(key)
	if !ok {
		_, exp, ok := g.mainCache.get(key)
		switch {
		case !ok:
			return 0, ErrNotFound
		case exp.IsZero():
			return NoExpiry, nil
		}
		return max(exp.Sub(g.cfg.Now()), 0), nil
	}
	res, err := peer.Get(ctx, &pb.GetRequest{Group: g.name, Key: key, Peek: true, TtlOnly: true})
	switch {
	case err != nil:
		return 0, fmt.Errorf("group %s: ttl of %q at owner: %w", g.name, key, err)
	case res.GetNotFound():
		return 0, ErrNotFound
	case res.GetTtlMs() == 0:
		return NoExpiry, nil
	}
	return msDuration(res.GetTtlMs()), nil
}

// FlushAll drops every value of the group on this node and asks every
// other node to do the same. Each node's flush is O(1). It returns the
// errors of the nodes it could not reach; those keep serving their copies
// until they expire.
func (g *Group) FlushAll(ctx context.Context) error {
	g.Flush()
	if err := errors.Join(g.broadcast(ctx, &pb.WriteRequest{Group: g.name, Op: pb.WriteRequest_OP_FLUSH})...); err != nil {
		return fmt.Errorf("group %s: flush all: %w", g.name, err)
	}
	return nil
}
