package resp

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// The data commands. A key that cannot exist, the empty key of a group
// ("scores:") or the empty key itself, reads as absent (GET gives null, DEL
// and EXISTS count 0, as Redis does for a missing key) and is refused by
// writes with "ERR empty key": the engine keeps no empty keys.

// get: GET key
func (h *handler) get(cl *client, args [][]byte) {
	g, raw := splitKeyBytes(h.cfg.Registry, h.cfg.Default, args[1])
	if len(raw) == 0 {
		cl.w.Null()
		return
	}
	// A hit needs neither a copy of the key nor a command context.
	if v, ok := g.Lookup(string(raw)); ok {
		cl.w.BulkString(v.String())
		return
	}
	key := string(raw)
	ctx := h.commandContext(cl)
	defer ctx.end()
	v, err := g.Get(ctx, key)
	if err != nil {
		h.fail(ctx, cl, loadError{err})
		return
	}
	cl.w.BulkString(v.String())
}

// mget: MGET key [key ...]. The keys held in memory are answered in place;
// the others of each group are fetched with one GetMany, which batches
// them per owner (one Get for a single key), and the groups in parallel.
// Like Redis's MGET it never fails a key: a key that has no value, or whose
// load failed, is null.
func (h *handler) mget(cl *client, args [][]byte) {
	// The keys are fetched as a run of pipelined GETs is (fetchGets): the
	// ones in memory without a copy or an allocation, the others with one
	// GetMany per group.
	run := &cl.run
	run.keys = append(run.keys[:0], args[1:]...)
	ctx := h.fetchGets(cl)
	defer func() {
		if ctx != nil {
			ctx.end()
		}
		run.release()
		if len(args)-1 > maxGetRun {
			// Keep no more per connection than a run of GETs keeps:
			// the batches' slices grew with the keys too.
			run.keys, run.res, run.batches = nil, nil, nil
		}
	}()
	cl.w.Array(len(run.res))
	for i := range run.res {
		r := &run.res[i]
		if r.null || r.err != nil {
			cl.w.Null() // MGET answers null for a key it cannot get
			continue
		}
		cl.w.BulkString(r.v.String())
	}
}

// set: SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]. The
// value is stored at the key's owner. NX and XX ask whether the owner holds
// the key in memory, and GET returns the value it held (or null): neither
// asks the origin. The reply is OK, or null when NX or XX refused; with GET
// it is the old value or null instead.
func (h *handler) set(cl *client, args [][]byte) {
	// As Redis does: first the options' syntax, then the expiry's value.
	o, ok := parseSetOpts(args[3:], true)
	if !ok {
		cl.w.Error(string(errSyntax))
		return
	}
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	var ttl time.Duration
	var past bool
	if o.when != nil {
		var bad replyError
		if ttl, past, bad = o.lifetime(g.Config().Now(), "set"); bad != "" {
			cl.w.Error(string(bad))
			return
		}
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	// A past EXAT or PXAT: Redis stores the value with that expiry, so
	// no later command sees it; the owner applies the SET and deletes the
	// key in one step (Expired), and the reply is the one SET would send.
	res, err := g.SetWithOptions(ctx, key, args[2], group.SetOptions{
		TTL: ttl, KeepTTL: o.kind == keepTTLOpt, NX: o.nx, XX: o.xx, Get: o.get, Expired: past})
	switch {
	case err != nil:
		h.fail(ctx, cl, err)
	case o.get && res.HadOld:
		cl.w.BulkString(res.Old.String())
	case o.get, !res.Applied:
		cl.w.Null()
	default:
		cl.w.Simple("OK")
	}
}

// mset: MSET key value [key value ...]. The pairs are set in order, each at
// its key's owner; unlike Redis's MSET, the whole is not atomic. No pair is
// set if a key is empty.
func (h *handler) mset(cl *client, args [][]byte) {
	if len(args)%2 == 0 {
		cl.w.Error(wrongArity("mset"))
		return
	}
	type pair struct {
		g   *group.Group
		key string
	}
	pairs := make([]pair, 0, len(args)/2)
	for i := 1; i < len(args); i += 2 {
		g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[i], &cl.keys)
		if key == "" {
			cl.w.Error(string(errEmptyKey))
			return
		}
		pairs = append(pairs, pair{g, key})
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	// A key repeated in one MSET takes its last value, as in Redis; the
	// distinct keys are set in parallel, since each may live on another node.
	last := make(map[pair]int, len(pairs))
	for j, p := range pairs {
		last[p] = j
	}
	var wg sync.WaitGroup
	errs := make([]error, len(pairs))
	for p, j := range last {
		wg.Go(func() { errs[j] = p.g.Set(ctx, p.key, args[2+2*j], 0) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.Simple("OK")
}

// del: DEL key [key ...] and UNLINK key [key ...]. It replies with the
// number of keys that were cached at their owners; the next GET of one
// loads it again from the origin.
func (h *handler) del(cl *client, args [][]byte) {
	h.countKeys(cl, args[1:], (*group.Group).Delete)
}

// exists: EXISTS key [key ...]. It counts the keys cached at their owners,
// a key named twice twice, without loading any from the origin.
func (h *handler) exists(cl *client, args [][]byte) {
	h.countKeys(cl, args[1:], (*group.Group).Exists)
}

// countKeys asks op about each key, in parallel since each may live on
// another node, and replies with how many it answered true for. A key that
// cannot exist ("scores:") counts as false.
func (h *handler) countKeys(cl *client, keys [][]byte, op func(*group.Group, context.Context, string) (bool, error)) {
	ctx := h.commandContext(cl)
	defer ctx.end()
	var n atomic.Int64
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, raw := range keys {
		g, key := splitKey(h.cfg.Registry, h.cfg.Default, raw, &cl.keys)
		if key == "" {
			continue
		}
		wg.Go(func() {
			ok, err := op(g, ctx, key)
			if ok {
				n.Add(1)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.Int(n.Load())
}

// getdel: GETDEL key. It loads the value as GET does, then deletes the key
// at its owner: the next GET loads it again from the origin.
func (h *handler) getdel(cl *client, args [][]byte) {
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	if key == "" {
		cl.w.Null()
		return
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	v, err := g.GetDel(ctx, key)
	if err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.BulkString(v.String())
}

// strlen: STRLEN key. It loads the value like GET; a key with no value has
// length 0.
func (h *handler) strlen(cl *client, args [][]byte) {
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	if key == "" {
		cl.w.Int(0)
		return
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	v, err := g.Get(ctx, key)
	switch {
	case errors.Is(err, group.ErrNotFound):
		cl.w.Int(0)
	case err != nil:
		h.fail(ctx, cl, loadError{err})
	default:
		cl.w.Int(int64(v.Len()))
	}
}

// incr: INCR key
func (h *handler) incr(cl *client, args [][]byte) { h.incrBy(cl, args[1], 1) }

// decr: DECR key
func (h *handler) decr(cl *client, args [][]byte) { h.incrBy(cl, args[1], -1) }

// incrby: INCRBY key increment
func (h *handler) incrby(cl *client, args [][]byte) {
	n, ok := parseInt(args[2])
	if !ok {
		cl.w.Error(string(errNotInteger))
		return
	}
	h.incrBy(cl, args[1], n)
}

// decrby: DECRBY key decrement
func (h *handler) decrby(cl *client, args [][]byte) {
	n, ok := parseInt(args[2])
	switch {
	case !ok:
		cl.w.Error(string(errNotInteger))
	case n == math.MinInt64:
		cl.w.Error(string(errDecrOverflow)) // -n does not exist
	default:
		h.incrBy(cl, args[1], -n)
	}
}

// incrBy adds delta to the integer under the client key raw and replies
// with the result.
func (h *handler) incrBy(cl *client, raw []byte, delta int64) {
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, raw, &cl.keys)
	ctx := h.commandContext(cl)
	defer ctx.end()
	n, err := g.IncrBy(ctx, key, delta)
	if err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.Int(n)
}
