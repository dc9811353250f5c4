package group

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rcache/rcache/pb"
)

// A warm hand-off moves values to their new owner when the ring changes, so
// that a membership change does not turn into a burst of origin calls. It
// works from both sides:
//
//   - pull: a node loading a key it owns first peeks at the key's previous
//     owner (HandoffPicker.PreviousOwner) before calling the origin;
//   - push: a node shutting down, once it has left the ring, offers its main
//     cache to the new owners (Handoff), which keep each value with OP_FILL
//     unless they hold the key already.
//
// Either way a value written meanwhile must win over the handed-off copy.
// Writes mark their key in recentWrites (and Flush stamps lastFlush) before
// they change the cache; a FILL or a peek result is refused for a key marked
// within writeMemory.

// writeMemory is how long a write to a key, or a flush, keeps hand-off
// copies of it out: marks last between one and two periods.
const writeMemory = 5 * time.Second

// handoffConcurrency bounds the FILLs Handoff has in flight at once.
const handoffConcurrency = 8

// recentlyWritten reports whether key was written on this node, or the
// group flushed, within writeMemory. Collisions make it report true for
// keys never written, which only costs a hand-off copy.
func (g *Group) recentlyWritten(key string) bool {
	now := g.cfg.Now()
	if now.UnixNano()-g.lastFlush.Load() < int64(2*writeMemory) {
		return true
	}
	return g.recentWrites.seen(key, now)
}

// fromPreviousOwner asks key's previous owner, when the picker knows one,
// for its copy of key, without letting it call its origin, and bounded by
// HandoffTimeout. It reports false (and the load goes on to the origin)
// when there is no previous owner, it has no value, or it cannot answer in
// time. It runs inside the load's flight and fence.
func (g *Group) fromPreviousOwner(ctx context.Context, key string) (entry, bool) {
	p := g.peers.Load()
	if p == nil {
		return entry{}, false
	}
	hp, ok := (*p).(HandoffPicker)
	if !ok {
		return entry{}, false
	}
	peer, ok := hp.PreviousOwner(key)
	if !ok || g.recentlyWritten(key) {
		return entry{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.HandoffTimeout)
	defer cancel()
	res, err := peer.Get(ctx, &pb.GetRequest{Group: g.name, Key: key, Peek: true})
	if err != nil || res.GetNotFound() || res.GetOriginError() != "" {
		g.Stats.HandoffMisses.Add(1)
		if err != nil {
			g.cfg.Logger.Debug("hand-off peek failed", "group", g.name, "err", err)
		}
		return entry{}, false
	}
	e, err := g.entryFromPeer(key, res)
	if err != nil {
		g.Stats.HandoffMisses.Add(1)
		return entry{}, false
	}
	g.Stats.HandoffHits.Add(1)
	return e, true
}

// fill applies an OP_FILL: it keeps in's value in the main cache only if
// this node holds no live value for the key and the key was not written
// (nor the group flushed) within writeMemory. It reports whether it kept
// the value. It tells no other node.
//
// The check runs under the main cache's lock, in modify, and a write marks
// its key before it changes the cache, so the FILL cannot resurrect a value
// a DEL has just removed:
//
//	fill:  modify{ not held? not marked? put }
//	del:                                        mark k ... remove k
//
// either the mark comes first and the fill refuses, or the fill's put comes
// first and the DEL's remove, which needs the same lock, drops it after
// (TestFillRacingDelete).
func (g *Group) fill(in *pb.WriteRequest) bool {
	key := in.GetKey()
	if key == "" {
		return false
	}
	var expire time.Time
	if in.GetTtlMs() > 0 {
		expire = g.cfg.Now().Add(msDuration(in.GetTtlMs()))
	}
	v := NewByteView(in.GetValue())
	kept := false
	g.mainCache.modify(key, func(_ ByteView, _ time.Time, held bool) change {
		if held || g.recentlyWritten(key) {
			return change{op: keepEntry}
		}
		kept = true
		return change{op: putEntry, view: v, expire: expire}
	})
	if kept {
		g.Stats.HandoffFills.Add(1)
	}
	return kept
}

// handoffItem is one main cache entry Handoff offers to its new owner.
type handoffItem struct {
	key    string
	view   ByteView
	expire time.Time // zero: never
}

// Handoff offers up to max values of the main cache (max <= 0: all of
// them), most recently used first, to their owners, as OP_FILL writes that
// each owner keeps only if it holds no value for the key and saw no write
// to it lately. owner returns the node that now owns a key, or false to skip
// the key. It sends up to 8 FILLs at once and stops when ctx ends.
//
// A node calls it at graceful shutdown, after it has left the ring (so that
// owner names the new owners), to spare them a burst of origin calls. It
// returns how many values the owners kept, and an error if ctx ended first
// or some FILLs failed in transport.
func (g *Group) Handoff(ctx context.Context, owner func(key string) (PeerGetter, bool), max int) (pushed int, err error) {
	items := g.mainCache.snapshot(max)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards kept, failed and firstErr
		kept     int
		failed   int
		firstErr error
	)
	sem := make(chan struct{}, handoffConcurrency)
send:
	for _, it := range items {
		peer, ok := owner(it.key)
		if !ok {
			continue
		}
		in := &pb.WriteRequest{Group: g.name, Key: it.key, Op: pb.WriteRequest_OP_FILL, Value: it.view.ByteSlice()}
		if !it.expire.IsZero() {
			left := it.expire.Sub(g.cfg.Now())
			if left <= 0 {
				continue
			}
			in.TtlMs = ttlMs(left)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break send
		}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := peer.Write(ctx, in)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed++
				if firstErr == nil {
					firstErr = err
				}
			case res.GetApplied():
				kept++
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return kept, fmt.Errorf("group %s: hand-off stopped: %w", g.name, context.Cause(ctx))
	}
	if failed > 0 {
		return kept, fmt.Errorf("group %s: hand-off: %d of %d fills failed: %w", g.name, failed, len(items), firstErr)
	}
	return kept, nil
}

// DropUnowned removes from the main cache every key that owns says this
// node no longer owns, and returns how many it removed. A node calls it
// some time after a ring change (once the hand-off window, during which the
// keys' new owners may still ask it for them, has passed): a copy of a key
// that moved would otherwise be served from here for as long as it lives,
// and a later write, made at the new owner, would never reach it. The next
// GET of such a key here asks its owner.
func (g *Group) DropUnowned(owns func(key string) bool) int {
	return g.mainCache.removeIf(func(key string) bool { return !owns(key) })
}
