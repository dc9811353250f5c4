// Package group is rcache's cache engine: named groups of keys whose values
// are loaded on a miss, at most once at a time per key, and kept in memory
// under a byte budget.
//
// A Get first looks in the group's main cache (keys this node owns) and hot
// cache (short-lived copies of keys other nodes own). On a miss it joins, or
// starts, the one load in flight for that key. The load asks the peer that
// owns the key, or calls the Getter when this node owns it (or the owner
// cannot be reached), and caches the result. The load runs detached from the
// callers that wait on it, bounded by the group's LoadTimeout, so a caller
// that gives up does not fail the others.
//
// Requests from peers are served by ServeGet, ServeGetMany and ServeWrite,
// which never forward to another node: two nodes whose rings disagree cannot
// bounce a key between them.
package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcache/rcache/cluster/flight"
	"github.com/rcache/rcache/pb"
)

// Getter loads the value of a key from the origin.
type Getter interface {
	// Get returns the value of key, or an error wrapping ErrNotFound when the
	// origin has none. The group copies the returned slice; the Getter keeps
	// ownership of it and may reuse it. ctx is the load's own context,
	// bounded by the group's LoadTimeout, not any one client's.
	Get(ctx context.Context, key string) ([]byte, error)
}

// GetterFunc adapts a function to a Getter.
type GetterFunc func(ctx context.Context, key string) ([]byte, error)

// Get calls f(ctx, key).
func (f GetterFunc) Get(ctx context.Context, key string) ([]byte, error) { return f(ctx, key) }

var (
	// ErrNotFound is returned, wrapped, by Get and its kin when the origin
	// (the Getter, at whichever node owns the key) has no value for the key.
	ErrNotFound = errors.New("not found")

	// ErrEmptyKey is returned by Get and its kin for an empty key.
	ErrEmptyKey = errors.New("empty key")

	// ErrNotInteger is returned by IncrBy when the stored value is not a
	// 64-bit decimal integer.
	ErrNotInteger = errors.New("value is not an integer or out of range")

	// ErrClosed is returned by loads started after Close, and wrapped by
	// those Close cancelled.
	ErrClosed = errors.New("group closed")

	// errLoadTimeout is the cause of a load's context when LoadTimeout
	// passes.
	errLoadTimeout = fmt.Errorf("load timeout: %w", context.DeadlineExceeded)

	// errGetterPanicked is what Config.OnLoad gets for a Getter call that
	// panicked.
	errGetterPanicked = errors.New("getter panicked")

	// ErrOverflow is returned by IncrBy when the result would not fit in 64
	// bits.
	ErrOverflow = errors.New("increment or decrement would overflow")
)

// Stats are a group's counters. Each is updated atomically and may be read
// at any time.
//
// For a metrics exporter: gets are Gets, of which CacheHits were answered
// from memory (HotHits from the hot cache, the rest from the main cache),
// NegativeHits from a remembered "not found", and Loads missed and waited on
// a load. Origin calls are LocalLoads + LocalNotFound + LocalLoadErrs (their
// latency goes to Config.OnLoad); peer fetches are PeerLoads, failed ones
// PeerErrors. Per-cache bytes, items and evictions are in Group.CacheStats.
type Stats struct {
	Gets           atomic.Int64 // Get calls, including the keys of GetMany
	CacheHits      atomic.Int64 // gets answered from the main or hot cache
	HotHits        atomic.Int64 // of CacheHits, those answered from the hot cache
	Loads          atomic.Int64 // gets that missed and waited on a load
	LoadsDeduped   atomic.Int64 // loads that ran after singleflight; Loads minus this waited on another's load
	PeerLoads      atomic.Int64 // answers (values or not-founds) fetched from a peer
	PeerErrors     atomic.Int64 // peer fetches that failed in transport and fell back to a local load
	LocalLoads     atomic.Int64 // Getter calls that returned a value
	LocalNotFound  atomic.Int64 // Getter calls that reported ErrNotFound
	LocalLoadErrs  atomic.Int64 // Getter calls that failed otherwise (including panics)
	NegativeHits   atomic.Int64 // gets answered "not found" from a remembered origin answer
	StaleServes    atomic.Int64 // failed reloads answered with a value past its expiry (MaxStale)
	ServerRequests atomic.Int64 // keys requested by peers (ServeGet and ServeGetMany)
	Writes         atomic.Int64 // Set, Delete and IncrBy calls
	Invalidations  atomic.Int64 // hot-copy drops sent to peers that failed
	HandoffHits    atomic.Int64 // local loads answered by the key's previous owner instead of the Getter
	HandoffMisses  atomic.Int64 // peeks at a previous owner that found nothing, failed or timed out
	HandoffFills   atomic.Int64 // OP_FILL hand-offs from peers kept in the main cache
}

// CacheType selects one of a group's two caches.
type CacheType int

const (
	// MainCache holds the keys this node owns.
	MainCache CacheType = iota + 1
	// HotCache holds short-lived copies of keys that other nodes own.
	HotCache
)

// Group is a cache namespace with its own loader and budget. It is safe for
// concurrent use.
type Group struct {
	name string
	cfg  Config

	peersOnce sync.Once
	peers     atomic.Pointer[PeerPicker] // set once by RegisterPeers; nil means no peers

	mainCache cache
	hotCache  cache
	negCache  cache // keys known to be missing at the origin, until NegativeTTL

	// peerLoads dedups fetches from owners; localLoads dedups Getter calls;
	// fallbacks dedups the Getter calls for keys whose owner failed. They
	// are separate so that a local load never waits on the network, no
	// chain of waits can close into a cycle between nodes, and a caller
	// that falls back never joins a fetch that may fail in turn.
	peerLoads  flight.Group
	localLoads flight.Group
	fallbacks  flight.Group

	// fences keep loads that started before a write from caching over it.
	fences fences

	// shared tracks the keys peers fetched recently, and fetched the keys
	// this node fetched from peers (see recentKeys); fetched is nil when
	// the hot cache is disabled or HotRandomOnly.
	shared  *recentKeys
	fetched *recentKeys

	// recentWrites tracks the keys written here recently and lastFlush is
	// when the group last flushed (unix nanoseconds), so that a hand-off
	// copy never overwrites a newer write (see handoff.go).
	recentWrites *recentKeys
	lastFlush    atomic.Int64

	// originSlots holds one token per Getter call in progress; its capacity
	// is MaxOriginCalls.
	originSlots chan struct{}

	// loads cancels the loads in flight when the group is closed.
	loads loadSet

	// testHookLoadStarted, set only by tests before the group is used, runs
	// in each load between its re-check of the caches and its fetch.
	testHookLoadStarted func(key string)

	// Stats are the group's counters.
	Stats Stats
}

func newGroup(cfg Config) *Group {
	cfg = cfg.withDefaults()
	g := &Group{
		name:         cfg.Name,
		cfg:          cfg,
		shared:       newRecentKeys(cfg.HotTTL+sharedMargin, sharedBits),
		recentWrites: newRecentKeys(writeMemory, sharedBits),
		originSlots:  make(chan struct{}, cfg.MaxOriginCalls),
	}
	if cfg.HotProbability > 0 && !cfg.HotRandomOnly {
		g.fetched = newRecentKeys(cfg.HotTTL, fetchedBits)
	}
	var hot, neg int64
	if cfg.CacheBytes > 0 {
		// At least one byte each: zero would make a cache unlimited.
		if cfg.HotProbability >= 0 {
			hot = max(1, cfg.CacheBytes/8)
		}
		if cfg.NegativeTTL > 0 {
			neg = max(1, cfg.CacheBytes/16)
		}
	}
	g.mainCache = cache{maxBytes: max(1, cfg.CacheBytes-hot-neg), now: cfg.Now, staleFor: cfg.MaxStale}
	if cfg.CacheBytes == 0 {
		g.mainCache.maxBytes = 0
	}
	g.hotCache = cache{maxBytes: hot, now: cfg.Now}
	g.negCache = cache{maxBytes: neg, now: cfg.Now}
	if cfg.CacheBytes > 0 {
		g.mainCache.maxItem = maxItem(cfg.MaxItemBytes, g.mainCache.maxBytes)
		g.hotCache.maxItem = maxItem(cfg.MaxItemBytes, g.hotCache.maxBytes)
	}
	return g
}

// maxItem is the largest entry a cache of budget bytes keeps, given
// Config.MaxItemBytes as limit: limit if positive (but no more than
// budget), budget/8 if zero, budget if negative.
func maxItem(limit, budget int64) int64 {
	switch {
	case limit < 0:
		return budget
	case limit == 0:
		return max(1, budget/8)
	}
	return min(limit, budget)
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Config returns the group's configuration with the defaults filled in.
func (g *Group) Config() Config { return g.cfg }

// RegisterPeers tells the group how to find the owner of a key. It may be
// called once, before the group serves requests; a second call, or a nil p,
// panics.
func (g *Group) RegisterPeers(p PeerPicker) {
	if p == nil {
		panic("group: nil PeerPicker for " + g.name)
	}
	called := true
	g.peersOnce.Do(func() {
		called = false
		g.peers.Store(&p)
	})
	if called {
		panic("group: RegisterPeers called more than once for " + g.name)
	}
}

func (g *Group) pickPeer(key string) (PeerGetter, bool) {
	if p := g.peers.Load(); p != nil {
		return (*p).PickPeer(key)
	}
	return nil, false
}

// CacheStats returns the statistics of one of the group's caches.
func (g *Group) CacheStats(which CacheType) CacheStats {
	switch which {
	case MainCache:
		return g.mainCache.stats()
	case HotCache:
		return g.hotCache.stats()
	}
	return CacheStats{}
}

// Get returns the value of key, from memory or by loading it once however
// many callers ask at the same time. It returns an error wrapping
// ErrNotFound when the origin has no value. ctx bounds only this caller's
// wait: the load itself goes on for the others. The exception is a caller
// whose ctx allows as long a wait as a load's (see waitOwner): it fetches
// from the key's owner itself, and returns when the fetch does, within the
// peer client's timeout, even if ctx is canceled sooner.
func (g *Group) Get(ctx context.Context, key string) (ByteView, error) {
	if key == "" {
		return ByteView{}, ErrEmptyKey
	}
	g.Stats.Gets.Add(1)
	if v, hot, ok := g.lookupCacheHot(key); ok {
		g.countHit(hot)
		return v, nil
	}
	if g.knownMissing(key) {
		return ByteView{}, ErrNotFound
	}
	g.Stats.Loads.Add(1)
	e, err := g.load(ctx, key)
	return e.view, err
}

// knownMissing reports whether the origin answered "not found" for key
// within NegativeTTL, and counts the hit.
func (g *Group) knownMissing(key string) bool {
	if g.cfg.NegativeTTL < 0 {
		return false
	}
	if _, _, ok := g.negCache.get(key); ok {
		g.Stats.NegativeHits.Add(1)
		return true
	}
	return false
}

// rememberMissing records a "not found" for key until expire. It runs
// inside fences.end.
func (g *Group) rememberMissing(key string, expire time.Time) {
	if g.cfg.NegativeTTL > 0 {
		g.negCache.add(key, ByteView{}, expire)
	}
}

// Lookup returns the value of key if this node holds it in memory, without
// loading anything; on a miss the caller goes on to Get. It counts only
// hits, so that a miss followed by Get is counted once, and it does not
// retain key, so a caller may pass a string converted from a buffer it
// reuses: the conversion then need not allocate.
func (g *Group) Lookup(key string) (ByteView, bool) {
	v, hot, ok := g.lookupCacheHot(key)
	if ok {
		g.Stats.Gets.Add(1)
		g.countHit(hot)
	}
	return v, ok
}

// lookupCache looks in the main cache, then the hot cache.
func (g *Group) lookupCache(key string) (ByteView, bool) {
	v, _, ok := g.lookupCacheHot(key)
	return v, ok
}

// lookupCacheHot is lookupCache that also says whether the hit came from
// the hot cache.
func (g *Group) lookupCacheHot(key string) (v ByteView, hot, ok bool) {
	if v, _, ok := g.mainCache.get(key); ok {
		return v, false, true
	}
	if g.cfg.HotProbability < 0 {
		return ByteView{}, false, false
	}
	v, _, ok = g.hotCache.get(key)
	return v, ok, ok
}

// countHit counts a get answered from memory.
func (g *Group) countHit(hot bool) {
	g.Stats.CacheHits.Add(1)
	if hot {
		g.Stats.HotHits.Add(1)
	}
}

// entry is a loaded value and when it expires (zero: never).
type entry struct {
	view   ByteView
	expire time.Time
}

// load fetches key from its owner, or loads it locally, inside singleflight.
func (g *Group) load(ctx context.Context, key string) (entry, error) {
	peer, ok := g.pickPeer(key)
	if !ok {
		return g.loadLocal(ctx, key)
	}
	e, err := g.waitOwner(ctx, key, func(ctx context.Context) (entry, error) {
		// The ticket comes before the re-check, so that a write landing
		// between the re-check and the fetch fences the fetch's result.
		t := g.fences.begin(key)
		// Re-check the caches: another caller's load may have filled them
		// between our lookup and this flight starting (TestNoDedup).
		if v, ok := g.lookupCache(key); ok {
			g.fences.end(t, nil)
			return entry{view: v}, nil
		}
		if g.knownMissing(key) {
			g.fences.end(t, nil)
			return entry{}, ErrNotFound
		}
		g.loadStarted(key)
		g.Stats.LoadsDeduped.Add(1)
		e, err := g.getFromPeer(ctx, peer, key)
		if err == nil || errors.Is(err, ErrNotFound) || errors.As(err, new(*OriginError)) {
			g.Stats.PeerLoads.Add(1)
			g.fences.end(t, func() { g.keepFromPeer(key, e, err) })
			return e, err
		}
		g.fences.end(t, nil)
		g.Stats.PeerErrors.Add(1)
		g.cfg.Logger.Warn("peer fetch failed, loading locally", "group", g.name, "err", err)
		return entry{}, g.startFallback(ctx, key, err)
	})
	var of *ownerFailed
	if errors.As(err, &of) {
		// The fetch may have run on this caller's goroutine; the Getter,
		// which need not heed its ctx, runs on a goroutine of its own, so
		// that a caller can still leave (TestOwnerFailedCallerLeaves).
		select {
		case <-of.done:
			return of.e, of.err
		case <-ctx.Done():
			return entry{}, fmt.Errorf("group %s: wait for %q: %w", g.name, key, context.Cause(ctx))
		}
	}
	return e, err
}

// ownerFailed is what every caller of a failed fetch from key's owner gets
// from the fetch: the fallback load of the key here, which they all wait
// for. It is an error only to pass through the flight; load never returns
// it.
type ownerFailed struct {
	cause error         // why the fetch failed
	done  chan struct{} // closed once e and err are set
	e     entry
	err   error
}

func (of *ownerFailed) Error() string { return "owner failed: " + of.cause.Error() }

// startFallback starts the fallback load of key, after its fetch failed
// with cause, in the fallbacks flight (joining one in flight), and returns
// the ownerFailed its callers wait on: one Getter call for all of them.
func (g *Group) startFallback(ctx context.Context, key string, cause error) *ownerFailed {
	of := &ownerFailed{cause: cause, done: make(chan struct{})}
	ch := g.fallbacks.DoChan(key, g.detached(ctx, g.fallbackFunc(key)))
	go func() {
		r := <-ch
		of.e, _ = r.Val.(entry)
		of.err = r.Err
		close(of.done)
	}()
	return of
}

// fallbackFunc returns the load, for the fallbacks flight, of a key whose
// owner failed: fallbackLoad, unless a fallback that ended meanwhile left
// its answer in memory.
func (g *Group) fallbackFunc(key string) func(context.Context) (entry, error) {
	return func(ctx context.Context) (entry, error) {
		t := g.fences.begin(key)
		if v, ok := g.lookupCache(key); ok {
			g.fences.end(t, nil)
			return entry{view: v}, nil
		}
		return g.fallbackLoad(ctx, t, key)
	}
}

// keepFromPeer keeps what the owner of key answered, as a fetch from a
// peer does: a "not found" as a negative entry, a value as a hot copy when
// wantHot says so. It runs inside fences.end.
func (g *Group) keepFromPeer(key string, e entry, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		// The owner marked the key as shared, so a write there reaches
		// this entry too; HotTTL bounds it otherwise.
		g.rememberMissing(key, g.hotExpire(g.cfg.Now().Add(g.cfg.NegativeTTL)))
	case err == nil && g.wantHot(key):
		g.hotCache.add(key, e.view, g.hotExpire(e.expire))
	}
}

// wantHot reports whether a value just fetched from key's owner is kept as
// a hot copy: when this node fetched key before, within the last one to two
// HotTTLs (a key asked for again is likely to be asked for again soon, and
// each hop costs this node ten local hits' CPU), and otherwise, as in
// groupcache, with probability HotProbability. So a key asked for once is
// kept only at random, and a scan of many keys does not flush the hot
// cache.
func (g *Group) wantHot(key string) bool {
	if g.fetched != nil && g.fetched.markSeen(key, g.cfg.Now()) {
		return true
	}
	return g.cfg.HotProbability > 0 && g.cfg.Rand() < g.cfg.HotProbability
}

// fallbackLoad calls the Getter for a key whose owner is unreachable and
// keeps the result only as a short-lived hot copy, so that the owner's copy
// wins once it is back. It runs in a flight of its own, after the fetch
// (which may have used up its load's time on a hung owner), so it has a
// LoadTimeout of its own. It ends t.
func (g *Group) fallbackLoad(ctx context.Context, t ticket, key string) (entry, error) {
	e, err := g.callGetter(ctx, key)
	g.fences.end(t, func() {
		if err == nil && g.cfg.HotProbability >= 0 {
			g.hotCache.add(key, e.view, g.hotExpire(e.expire))
		}
	})
	return e, err
}

// loadLocal returns key from the main cache or calls the Getter, inside
// singleflight, and caches the result in the main cache unless a write to
// the key landed while the Getter ran.
func (g *Group) loadLocal(ctx context.Context, key string) (entry, error) {
	return g.wait(ctx, key, &g.localLoads, func(ctx context.Context) (entry, error) {
		// The ticket comes before the re-check, so that a write landing
		// between the re-check and the Getter call fences the Getter's
		// result (TestWriteBetweenRecheckAndLoad).
		t := g.fences.begin(key)
		if v, exp, ok := g.mainCache.get(key); ok {
			g.fences.end(t, nil)
			return entry{view: v, expire: exp}, nil
		}
		if g.knownMissing(key) {
			g.fences.end(t, nil)
			return entry{}, ErrNotFound
		}
		g.loadStarted(key)
		g.Stats.LoadsDeduped.Add(1)
		e, handedOff := g.fromPreviousOwner(ctx, key)
		var err error
		if !handedOff {
			e, err = g.callGetter(ctx, key)
		}
		var staleUntil time.Time
		if err != nil && !errors.Is(err, ErrNotFound) && g.cfg.MaxStale > 0 {
			// The origin failed: serve the expired value if it is within
			// MaxStale, and keep serving it without asking the origin again
			// for StaleRetry.
			if v, deadline, ok := g.mainCache.getStale(key); ok {
				g.Stats.StaleServes.Add(1)
				e, err, staleUntil = entry{view: v, expire: g.cfg.Now().Add(StaleRetry)}, nil, deadline
				if e.expire.After(deadline) {
					e.expire = deadline
				}
			}
		}
		g.fences.end(t, func() {
			switch {
			case !staleUntil.IsZero():
				g.mainCache.addStale(key, e.view, e.expire, staleUntil)
			case err == nil:
				g.mainCache.add(key, e.view, e.expire)
			case errors.Is(err, ErrNotFound):
				g.rememberMissing(key, g.cfg.Now().Add(g.cfg.NegativeTTL))
			}
		})
		return e, err
	})
}

// loadStarted calls the test hook, if any, once a load has re-checked the
// caches and is about to fetch.
func (g *Group) loadStarted(key string) {
	if g.testHookLoadStarted != nil {
		g.testHookLoadStarted(key)
	}
}

// wait runs fn for key in flights on a goroutine of its own, detached from
// ctx and bounded by the load timeout, and waits for its result or for ctx
// to end.
func (g *Group) wait(ctx context.Context, key string, flights *flight.Group, fn func(context.Context) (entry, error)) (entry, error) {
	return g.await(ctx, key, flights.DoChan(key, g.detached(ctx, fn)))
}

// waitOwner is wait for a fetch from key's owner, which the peer client
// bounds by its timeout (the fetch runs under a detached ctx, which Close
// cancels). A caller that starts the fetch and would wait at least as long
// as a load may take (loadsInline) runs it on its own goroutine: a hop then
// costs no goroutine, no stack growth and one thread hand-off fewer
// (docs/performance.md, session 6). Such a caller returns when the fetch
// does, even if ctx is canceled sooner. Every other caller, and every
// caller that joins a fetch in flight, can leave when ctx ends.
func (g *Group) waitOwner(ctx context.Context, key string, fn func(context.Context) (entry, error)) (entry, error) {
	if !g.loadsInline(ctx) {
		return g.wait(ctx, key, &g.peerLoads, fn)
	}
	r, ch := g.peerLoads.DoOrJoin(key, g.detached(ctx, fn))
	if ch != nil {
		return g.await(ctx, key, ch)
	}
	e, _ := r.Val.(entry)
	return e, r.Err
}

// detached returns fn as a flight's function: run under a context detached
// from ctx, bounded by LoadTimeout, and canceled by Close.
func (g *Group) detached(ctx context.Context, fn func(context.Context) (entry, error)) func() (any, error) {
	return func() (any, error) {
		// Detached: the caller that started the load may leave before it
		// ends, and the others waiting on it must still get the result.
		base, stop := context.WithCancelCause(context.WithoutCancel(ctx))
		defer stop(nil)
		lctx, cancel := context.WithTimeoutCause(base, g.cfg.LoadTimeout, errLoadTimeout)
		defer cancel()
		if !g.loads.add(lctx, stop) {
			return entry{}, ErrClosed
		}
		defer g.loads.remove(lctx)
		return fn(lctx)
	}
}

// await waits for the result of a flight, or for ctx to end.
func (g *Group) await(ctx context.Context, key string, ch <-chan flight.Result) (entry, error) {
	select {
	case r := <-ch:
		e, _ := r.Val.(entry)
		return e, r.Err
	case <-ctx.Done():
		return entry{}, fmt.Errorf("group %s: wait for %q: %w", g.name, key, context.Cause(ctx))
	}
}

// loadsInline reports whether a caller with ctx may run a fetch on its own
// goroutine: when ctx has no deadline and can never be canceled, or when
// its deadline is no earlier than a load's, less 1/64 of LoadTimeout (a
// caller whose timeout equals LoadTimeout started a little before the
// fetch, and may wait that much past its deadline). It reads ctx's deadline
// before its Done channel, which some contexts build only when asked.
func (g *Group) loadsInline(ctx context.Context) bool {
	if d, ok := ctx.Deadline(); ok {
		return !d.Before(time.Now().Add(g.cfg.LoadTimeout - g.cfg.LoadTimeout/64))
	}
	return ctx.Done() == nil
}

// OriginError is an origin failure reported by the peer that owns a key.
type OriginError struct {
	Peer string // empty when the error is local
	Msg  string
}

func (e *OriginError) Error() string { return "origin: " + e.Msg }

// callGetter calls the Getter and stamps the value with the group's TTL.
func (g *Group) callGetter(ctx context.Context, key string) (entry, error) {
	select {
	case g.originSlots <- struct{}{}:
		defer func() { <-g.originSlots }()
	case <-ctx.Done():
		g.Stats.LocalLoadErrs.Add(1)
		return entry{}, fmt.Errorf("group %s: load %q: waiting for an origin slot: %w", g.name, key, context.Cause(ctx))
	}
	returned := false
	start := time.Now()
	defer func() {
		if !returned {
			// A panic (or Goexit) passes through to the flight, which turns
			// it into an error for the waiters; count it here.
			g.Stats.LocalLoadErrs.Add(1)
			if g.cfg.OnLoad != nil {
				g.cfg.OnLoad(time.Since(start), errGetterPanicked)
			}
		}
	}()
	b, err := g.cfg.Getter.Get(ctx, key)
	returned = true
	if g.cfg.OnLoad != nil {
		g.cfg.OnLoad(time.Since(start), err)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		g.Stats.LocalNotFound.Add(1)
		return entry{}, err
	case err != nil:
		g.Stats.LocalLoadErrs.Add(1)
		return entry{}, fmt.Errorf("group %s: load %q: %w", g.name, key, err)
	}
	g.Stats.LocalLoads.Add(1)
	e := entry{view: NewByteView(b)}
	if ttl := g.cfg.TTL; ttl > 0 {
		if j := g.cfg.TTLJitter; j > 0 {
			ttl += time.Duration(float64(ttl) * j * (2*g.cfg.Rand() - 1))
		}
		e.expire = g.cfg.Now().Add(max(ttl, time.Millisecond))
	}
	return e, nil
}

// hotExpire is when a hot copy of a value expiring at ownerExpire (zero:
// never) must be dropped: after HotTTL, and never after the owner's copy.
func (g *Group) hotExpire(ownerExpire time.Time) time.Time {
	exp := g.cfg.Now().Add(g.cfg.HotTTL)
	if !ownerExpire.IsZero() && ownerExpire.Before(exp) {
		return ownerExpire
	}
	return exp
}

func (g *Group) getFromPeer(ctx context.Context, peer PeerGetter, key string) (entry, error) {
	res, err := peer.Get(ctx, &pb.GetRequest{Group: g.name, Key: key})
	if err != nil {
		return entry{}, err
	}
	return g.entryFromPeer(key, res)
}

// entryFromPeer turns a peer's answer for key into an entry or an error.
func (g *Group) entryFromPeer(key string, res *pb.GetResponse) (entry, error) {
	switch {
	case res.GetNotFound():
		return entry{}, ErrNotFound
	case res.GetOriginError() != "":
		return entry{}, &OriginError{Msg: res.GetOriginError()}
	}
	e := entry{view: NewByteView(res.GetValue())}
	if ttl := res.GetTtlMs(); ttl > 0 {
		e.expire = g.cfg.Now().Add(msDuration(ttl))
	}
	return e, nil
}

// Result is the outcome of one key of GetMany.
type Result struct {
	Value ByteView
	Err   error // wraps ErrNotFound when the origin has no value
}

// GetMany returns the values of keys, in order. Keys owned by the same peer
// are fetched in one round trip, and the owners are asked in parallel.
func (g *Group) GetMany(ctx context.Context, keys []string) []Result {
	res := make([]Result, len(keys))
	byPeer := make(map[PeerGetter][]int)
	var local []int
	for i, key := range keys {
		if key == "" {
			res[i].Err = ErrEmptyKey
			continue
		}
		g.Stats.Gets.Add(1)
		if v, hot, ok := g.lookupCacheHot(key); ok {
			g.countHit(hot)
			res[i].Value = v
			continue
		}
		if g.knownMissing(key) {
			res[i].Err = ErrNotFound
			continue
		}
		g.Stats.Loads.Add(1)
		if peer, ok := g.pickPeer(key); ok {
			byPeer[peer] = append(byPeer[peer], i)
		} else {
			local = append(local, i)
		}
	}
	var wg sync.WaitGroup
	for _, i := range local {
		wg.Go(func() {
			e, err := g.loadLocal(ctx, keys[i])
			res[i] = Result{Value: e.view, Err: err}
		})
	}
	// One peer's batch runs here, the others in goroutines of their own: a
	// new goroutine's stack grows, by copying, as the batch goes down the
	// peer client (9-11% of a cluster node's CPU under pipelined GETs),
	// where this one's has room already.
	var mine PeerGetter
	for peer, idx := range byPeer {
		if mine == nil {
			mine = peer
			continue
		}
		wg.Go(func() { g.getManyFromPeer(ctx, peer, keys, idx, res) })
	}
	if mine != nil {
		g.getManyFromPeer(ctx, mine, keys, byPeer[mine], res)
	}
	wg.Wait()
	return res
}

// getManyFromPeer fills res[i] for each i in idx from one peer's batch
// answer; if the batch fails, each key is loaded as a single Get would.
func (g *Group) getManyFromPeer(ctx context.Context, peer PeerGetter, keys []string, idx []int, res []Result) {
	req := &pb.GetManyRequest{Group: g.name, Keys: make([][]byte, len(idx))}
	for j, i := range idx {
		req.Keys[j] = []byte(keys[i])
	}
	// As in load: a write that lands while the batch is out fences its
	// answers, which are then returned but not kept.
	tickets := make([]ticket, len(idx))
	for j, i := range idx {
		tickets[j] = g.fences.begin(keys[i])
	}
	out, err := peer.GetMany(ctx, req)
	if err == nil && len(out.GetResults()) == len(idx) {
		g.Stats.LoadsDeduped.Add(int64(len(idx)))
		g.Stats.PeerLoads.Add(int64(len(idx)))
		for j, i := range idx {
			e, err := g.entryFromPeer(keys[i], out.GetResults()[j])
			res[i] = Result{Value: e.view, Err: err}
			g.fences.end(tickets[j], func() { g.keepFromPeer(keys[i], e, err) })
		}
		return
	}
	for _, t := range tickets {
		g.fences.end(t, nil)
	}
	if err == nil {
		err = fmt.Errorf("peer answered %d results for %d keys", len(out.GetResults()), len(idx))
	}
	g.Stats.PeerErrors.Add(1)
	g.cfg.Logger.Warn("peer batch fetch failed, loading locally", "group", g.name, "keys", len(idx), "err", err)
	// The owner just failed: load every key here, in parallel, rather than
	// asking it again key by key, which could stall a batch for len(idx)
	// peer timeouts. Each key joins a fallback of it already in flight.
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() {
			load := g.fallbackFunc(keys[i])
			e, err := g.wait(ctx, keys[i], &g.fallbacks, func(ctx context.Context) (entry, error) {
				g.Stats.LoadsDeduped.Add(1)
				return load(ctx)
			})
			res[i] = Result{Value: e.view, Err: err}
		})
	}
	wg.Wait()
}

// Exists reports whether key is cached at its owner, without calling the
// origin.
func (g *Group) Exists(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, ErrEmptyKey
	}
	if _, ok := g.lookupCache(key); ok {
		return true, nil
	}
	peer, ok := g.pickPeer(key)
	if !ok {
		return false, nil
	}
	res, err := peer.Get(ctx, &pb.GetRequest{Group: g.name, Key: key, Peek: true})
	if err != nil {
		return false, fmt.Errorf("group %s: exists %q: %w", g.name, key, err)
	}
	return !res.GetNotFound() && res.GetOriginError() == "", nil
}

// Flush drops every value this node holds for the group, in O(1). Other
// nodes keep theirs. Loads in flight when Flush is called do not cache their
// results, though callers already waiting on them still get them.
func (g *Group) Flush() {
	// Stamped before the caches are cleared, so that a FILL checking it
	// after the clear refuses (see fill).
	g.lastFlush.Store(g.cfg.Now().UnixNano())
	g.fences.flushAll()
	g.negCache.clear()
	g.mainCache.clear()
	g.hotCache.clear()
}

// Close cancels the group's loads in flight (their waiters get an error
// wrapping ErrClosed) and makes later loads fail with ErrClosed. Values
// already cached are still served. It is safe to call more than once.
func (g *Group) Close() {
	g.loads.close()
}

// Len returns the number of entries this node holds for the group.
func (g *Group) Len() int64 {
	return g.mainCache.stats().Items + g.hotCache.stats().Items
}

// maxTTL bounds a lifetime that arrives from the network, so that a huge
// ttl_ms cannot overflow time.Duration; about 100 years.
const maxTTL = 100 * 365 * 24 * time.Hour

// msDuration converts milliseconds from the wire into a Duration, clamped
// to maxTTL.
func msDuration(ms int64) time.Duration {
	if ms > int64(maxTTL/time.Millisecond) {
		return maxTTL
	}
	return time.Duration(ms) * time.Millisecond
}

// loadSet holds the cancel functions of the loads in flight, so that Close
// can stop them.
type loadSet struct {
	mu     sync.Mutex // guards closed and m
	closed bool
	m      map[context.Context]context.CancelCauseFunc
}

// add registers a load's context; it reports false once the set is closed.
func (s *loadSet) add(ctx context.Context, cancel context.CancelCauseFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.m == nil {
		s.m = make(map[context.Context]context.CancelCauseFunc)
	}
	s.m[ctx] = cancel
	return true
}

func (s *loadSet) remove(ctx context.Context) {
	s.mu.Lock()
	delete(s.m, ctx)
	s.mu.Unlock()
}

func (s *loadSet) close() {
	s.mu.Lock()
	s.closed = true
	m := s.m
	s.m = nil
	s.mu.Unlock()
	for _, cancel := range m {
		cancel(ErrClosed)
	}
}
