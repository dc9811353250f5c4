package group

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rcache/rcache/pb"
)

// Set stores value under key at the key's owner for ttl (zero: no expiry)
// and returns once the other nodes were told to drop their hot copies. value
// is copied.
func (g *Group) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := g.SetWithOptions(ctx, key, value, SetOptions{TTL: ttl})
	return err
}

// Delete removes key at its owner and reports whether it was there. The
// next Get loads it again from the origin.
func (g *Group) Delete(ctx context.Context, key string) (bool, error) {
	res, err := g.write(ctx, &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_DELETE})
	return res.GetCount() > 0, err
}

// IncrBy adds delta to the decimal integer stored under key at its owner,
// atomically, and returns the result. A key with no value (in memory or at
// the origin) counts as 0. It returns ErrNotInteger or ErrOverflow as Redis
// would refuse INCRBY.
func (g *Group) IncrBy(ctx context.Context, key string, delta int64) (int64, error) {
	res, err := g.write(ctx, &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_INCR, Delta: delta})
	return res.GetIntValue(), err
}

// write applies in at the key's owner: here, or at the peer.
func (g *Group) write(ctx context.Context, in *pb.WriteRequest) (*pb.WriteResponse, error) {
	if in.Key == "" {
		return nil, ErrEmptyKey
	}
	in.Group = g.name
	g.Stats.Writes.Add(1)
	peer, ok := g.pickPeer(in.Key)
	if !ok {
		res := g.applyWrite(ctx, in)
		return res, writeError(res)
	}
	return g.writeAt(ctx, peer, in)
}

// writeAt applies in at peer, the key's owner.
func (g *Group) writeAt(ctx context.Context, peer PeerGetter, in *pb.WriteRequest) (*pb.WriteResponse, error) {
	in.Group = g.name
	res, err := peer.Write(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("group %s: write %q at owner: %w", g.name, in.Key, err)
	}
	// The owner told every node, this one included, to drop its hot copy;
	// drop it here too in case that message was lost.
	g.dropCopy(in.Key)
	return res, writeError(res)
}

// writeError turns the error code of a write's response into an error.
func writeError(res *pb.WriteResponse) error {
	switch res.GetError() {
	case pb.WriteResponse_ERROR_NONE:
		return nil
	case pb.WriteResponse_ERROR_NOT_INTEGER:
		return ErrNotInteger
	case pb.WriteResponse_ERROR_OVERFLOW:
		return ErrOverflow
	case pb.WriteResponse_ERROR_ORIGIN:
		return &OriginError{Msg: res.GetMessage()}
	}
	return fmt.Errorf("write refused: %s", res.GetMessage())
}

// dropCopy removes this node's copies of key and keeps loads in flight from
// putting them back.
func (g *Group) dropCopy(key string) {
	g.fenceKey(key, g.cfg.Now())
	g.peerLoads.Forget(key)
	g.mainCache.remove(key)
}

// applyWrite performs a write this node owns, then invalidates the other
// nodes' hot copies.
func (g *Group) applyWrite(ctx context.Context, in *pb.WriteRequest) *pb.WriteResponse {
	res := &pb.WriteResponse{}
	if in.GetKey() == "" {
		res.Error, res.Message = pb.WriteResponse_ERROR_BAD_REQUEST, "empty key"
		return res
	}
	switch in.GetOp() {
	case pb.WriteRequest_OP_SET:
		g.applySet(in, res)
		if !res.Applied {
			return res
		}
	case pb.WriteRequest_OP_DELETE:
		g.fenceKey(in.Key, g.cfg.Now())
		if g.mainCache.remove(in.Key) {
			res.Count = 1
		}
	case pb.WriteRequest_OP_EXPIRE, pb.WriteRequest_OP_PERSIST:
		g.applyExpire(in, res)
		if !res.Applied {
			return res
		}
	case pb.WriteRequest_OP_GETDEL, pb.WriteRequest_OP_GETEX:
		if err := g.applyGetAnd(ctx, in, res); err != nil {
			res.Error, res.Message = pb.WriteResponse_ERROR_ORIGIN, err.Error()
			return res
		}
		if !res.Found {
			return res
		}
	case pb.WriteRequest_OP_INCR:
		n, err := g.incrLocal(ctx, in.Key, in.Delta)
		switch {
		case err == nil:
			res.IntValue = n
		case errors.Is(err, ErrNotInteger):
			res.Error = pb.WriteResponse_ERROR_NOT_INTEGER
			return res
		case errors.Is(err, ErrOverflow):
			res.Error = pb.WriteResponse_ERROR_OVERFLOW
			return res
		default:
			res.Error, res.Message = pb.WriteResponse_ERROR_ORIGIN, err.Error()
			return res
		}
	default:
		res.Error, res.Message = pb.WriteResponse_ERROR_BAD_REQUEST, "unknown op "+in.GetOp().String()
		return res
	}
	g.invalidatePeers(ctx, in.Key, g.cfg.Now())
	return res
}

// fenceKey keeps loads of key in flight from caching their (older) result
// and drops the copies that are not the owner's value. Writes call it
// before they change the main cache, with the time the write happens.
func (g *Group) fenceKey(key string, now time.Time) {
	g.fences.write(key)
	// Marked before the write changes the main cache, so that a hand-off
	// FILL or peek that sees no mark is overwritten by the write (see fill).
	g.recentWrites.mark(key, now)
	g.localLoads.Forget(key)
	g.hotCache.remove(key)
	g.negCache.remove(key)
}

// applySet performs a SET this node owns, with its conditions, for a peer.
func (g *Group) applySet(in *pb.WriteRequest, res *pb.WriteResponse) {
	r := g.setLocal(in.Key, setInput{value: in.Value, ttlMs: in.TtlMs, keepTTL: in.KeepTtl, get: in.Get, cond: in.Cond}, g.cfg.Now())
	res.Applied = r.Applied
	if r.HadOld {
		res.Value, res.Found = []byte(r.Old.String()), true
	}
}

// setInput is a SET's value and options, as a WriteRequest carries them.
type setInput struct {
	value   []byte
	ttlMs   int64 // > 0: the value expires after ttlMs milliseconds; < 0: it expired as written
	keepTTL bool
	get     bool
	cond    pb.WriteRequest_Cond // NX, XX or none
}

// request returns the WriteRequest that asks key's owner for this SET.
func (in setInput) request(key string) *pb.WriteRequest {
	return &pb.WriteRequest{Key: key, Op: pb.WriteRequest_OP_SET, Value: in.value, TtlMs: in.ttlMs, KeepTtl: in.keepTTL, Get: in.get, Cond: in.cond}
}

// setLocal performs a SET of key this node owns, at now, and returns its
// outcome. It does not tell the other nodes: the caller does, if Applied.
func (g *Group) setLocal(key string, in setInput, now time.Time) SetResult {
	var r SetResult
	g.fenceKey(key, now)
	if !in.get && !in.keepTTL && in.cond != pb.WriteRequest_COND_NX && in.cond != pb.WriteRequest_COND_XX {
		// A plain SET needs nothing of the old entry: one index lookup,
		// and the value is copied once, into the cache's pages.
		var exp time.Time
		switch {
		case in.ttlMs > 0:
			exp = now.Add(msDuration(in.ttlMs))
		case in.ttlMs < 0:
			g.mainCache.remove(key)
			return SetResult{Applied: true}
		}
		g.mainCache.setBytes(key, in.value, exp)
		return SetResult{Applied: true}
	}
	g.mainCache.modify(key, func(old ByteView, oldExp time.Time, ok bool) change {
		if in.get && ok {
			r.Old, r.HadOld = old, true
		}
		if (in.cond == pb.WriteRequest_COND_NX && ok) || (in.cond == pb.WriteRequest_COND_XX && !ok) {
			return change{op: keepEntry}
		}
		r.Applied = true
		exp := time.Time{}
		switch {
		case in.ttlMs < 0:
			return change{op: removeEntry}
		case in.keepTTL:
			exp = oldExp
		case in.ttlMs > 0:
			exp = now.Add(msDuration(in.ttlMs))
		}
		return change{op: putEntry, view: NewByteView(in.value), expire: exp}
	})
	return r
}

// applyExpire performs an EXPIRE or PERSIST of a key this node holds.
func (g *Group) applyExpire(in *pb.WriteRequest, res *pb.WriteResponse) {
	now := g.cfg.Now()
	g.fenceKey(in.Key, now)
	g.mainCache.modify(in.Key, func(v ByteView, cur time.Time, ok bool) change {
		if !ok {
			return change{op: keepEntry}
		}
		if in.Op == pb.WriteRequest_OP_PERSIST {
			if cur.IsZero() {
				return change{op: keepEntry}
			}
			res.Applied = true
			return change{op: putEntry, view: v}
		}
		exp := now.Add(msDuration(in.TtlMs))
		// A key without an expiry counts as expiring never: GT never
		// applies to it and LT always does, as in Redis.
		switch in.Cond {
		case pb.WriteRequest_COND_NX:
			ok = cur.IsZero()
		case pb.WriteRequest_COND_XX:
			ok = !cur.IsZero()
		case pb.WriteRequest_COND_GT:
			ok = !cur.IsZero() && exp.After(cur)
		case pb.WriteRequest_COND_LT:
			ok = cur.IsZero() || exp.Before(cur)
		case pb.WriteRequest_COND_XX_LT:
			ok = !cur.IsZero() && exp.Before(cur)
		case pb.WriteRequest_COND_NONE:
		default:
			ok = false // a condition from a newer node: refuse rather than guess
		}
		if !ok {
			return change{op: keepEntry}
		}
		res.Applied = true
		if in.TtlMs <= 0 {
			return change{op: removeEntry}
		}
		return change{op: putEntry, view: v, expire: exp}
	})
}

// applyGetAnd performs a GETDEL or GETEX this node owns: it loads the
// value if it is not cached, then deletes it or changes its expiry.
func (g *Group) applyGetAnd(ctx context.Context, in *pb.WriteRequest, res *pb.WriteResponse) error {
	if _, _, ok := g.mainCache.get(in.Key); !ok {
		if _, err := g.loadLocal(ctx, in.Key); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
	}
	now := g.cfg.Now()
	g.fenceKey(in.Key, now)
	g.mainCache.modify(in.Key, func(v ByteView, cur time.Time, ok bool) change {
		if !ok {
			return change{op: keepEntry}
		}
		res.Value, res.Found, res.Applied = []byte(v.String()), true, true
		switch {
		case in.Op == pb.WriteRequest_OP_GETDEL:
			return change{op: removeEntry}
		case in.Persist:
			return change{op: putEntry, view: v}
		case in.TtlMs > 0:
			return change{op: putEntry, view: v, expire: now.Add(msDuration(in.TtlMs))}
		}
		return change{op: keepEntry}
	})
	return nil
}

// incrLocal adds delta to key's value in the main cache, loading it from the
// origin first when it is not cached.
func (g *Group) incrLocal(ctx context.Context, key string, delta int64) (int64, error) {
	if _, _, ok := g.mainCache.get(key); !ok {
		if _, err := g.loadLocal(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
	}
	var n int64
	var err error
	g.mainCache.modify(key, func(old ByteView, expire time.Time, ok bool) change {
		var cur int64
		if ok {
			var valid bool
			if cur, valid = parseInt(old.String()); !valid {
				err = ErrNotInteger
				return change{op: keepEntry}
			}
		}
		if (delta > 0 && cur > maxInt64-delta) || (delta < 0 && cur < minInt64-delta) {
			err = ErrOverflow
			return change{op: keepEntry}
		}
		n = cur + delta
		// INCR keeps the key's expiry, as in Redis.
		return change{op: putEntry, view: StringView(strconv.FormatInt(n, 10)), expire: expire}
	})
	return n, err
}

// parseInt parses s as Redis's string2ll does: decimal digits with an
// optional '-', no '+', no spaces and no leading zeros ("0" is fine, "-0" and
// "007" are not), within 64 bits.
func parseInt(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if s == "0" {
		return 0, true
	}
	if digits == "" || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

// sharedMargin is added to HotTTL to cover the time between the owner
// serving a value and the peer stamping its hot copy's expiry.
const sharedMargin = time.Second

// invalidatePeers tells every other node to drop its copy of key, in
// parallel, waiting at most InvalidateTimeout, if any of them may hold one.
// It is best effort: a node that misses the message serves its copy until
// the copy's HotTTL ends.
//
// While a ring change is recent, the key's previous owner is told too, even
// if no peer fetched the key: it may still hold the old value in its main
// cache, and this node would otherwise get it back by a hand-off peek.
//
// now is when the write happened. An earlier time than the present only
// makes the shared-keys check rotate less, so it may report more keys
// shared, never fewer.
func (g *Group) invalidatePeers(ctx context.Context, key string, now time.Time) {
	p := g.peers.Load()
	if p == nil {
		return
	}
	if _, alone := (*p).(NoPeers); alone {
		return // no other node can hold a copy, or be a previous owner
	}
	var peers []PeerGetter
	if g.shared.seen(key, now) {
		peers = (*p).Peers()
	} else if hp, ok := (*p).(HandoffPicker); ok {
		if prev, ok := hp.PreviousOwner(key); ok {
			peers = []PeerGetter{prev}
		}
	}
	if len(peers) > 0 {
		g.sendDrops(ctx, key, peers)
	}
}

// sendDrops tells peers to drop their copies of key, for invalidatePeers.
// (Apart from it, so that the common write, which tells no one, does not
// pay for this one's frame.)
func (g *Group) sendDrops(ctx context.Context, key string, peers []PeerGetter) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.InvalidateTimeout)
	defer cancel()
	for _, err := range g.sendAll(ctx, peers, &pb.WriteRequest{Group: g.name, Key: key, Op: pb.WriteRequest_OP_DROP}) {
		if err != nil {
			g.Stats.Invalidations.Add(1)
			g.cfg.Logger.Debug("invalidation not delivered", "group", g.name, "err", err)
		}
	}
}

// broadcast sends in to every peer but this node, in parallel, and returns
// each peer's error (nil for those that took it).
func (g *Group) broadcast(ctx context.Context, in *pb.WriteRequest) []error {
	p := g.peers.Load()
	if p == nil {
		return nil
	}
	return g.sendAll(ctx, (*p).Peers(), in)
}

// sendAll sends in to peers, in parallel, and returns each peer's error.
func (g *Group) sendAll(ctx context.Context, peers []PeerGetter, in *pb.WriteRequest) []error {
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, peer := range peers {
		wg.Go(func() { _, errs[i] = peer.Write(ctx, in) })
	}
	wg.Wait()
	return errs
}
