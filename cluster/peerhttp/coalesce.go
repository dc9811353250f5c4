package peerhttp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rcache/rcache/pb"
)

const (
	// coalesceInflight is how many requests to one peer Get sends on its
	// own at once; while that many are in flight, further Gets wait and
	// go together in one GetMany.
	coalesceInflight = 2
	// maxCoalesce caps the keys of one coalesced GetMany; a Get that
	// finds the last waiting batch full, or for another group, opens a
	// new one.
	maxCoalesce = 128
	// coalesceMaxWait bounds how long a batch waits for a slot. Past it,
	// the batch is sent anyway, so that two slow requests in flight (keys
	// the owner has to load from a slow origin) hold up the other keys
	// for at most this long. A loopback round trip takes 0.1-0.2 ms idle,
	// under 1 ms with 256 callers.
	coalesceMaxWait = 5 * time.Millisecond
)

// coalescer merges the Gets and GetManys to one peer that arrive while its
// requests are in flight into GetMany requests, so that under load one
// round trip carries many keys. (A node serving pipelined GETs for many
// clients sends each pipeline's few keys of a peer as a GetMany; in one
// frame each, they cost the peer and this node a write and a read apiece.)
// A request is sent on its own (no added latency) while fewer than
// coalesceInflight requests are in flight. Otherwise it joins the last
// waiting batch, if its keys fit, or opens one and becomes its leader. When
// any request in flight ends, it hands its slot to the oldest waiting
// batch, whose leader sends it as one GetMany and gives each caller its
// results; a batch that has waited coalesceMaxWait goes without a slot. So
// coalesceInflight requests are in flight to a peer, plus one per
// coalesceMaxWait while they are slow, and each caller sends at most one
// request.
//
// The zero value is ready to use; it is safe for concurrent use.
type coalescer struct {
	mu       sync.Mutex // guards inflight and queue
	inflight int        // requests in flight, batches included
	queue    []*batch   // the batches waiting for a slot, oldest first
}

// batch is a GetMany being gathered.
type batch struct {
	group string
	peek  bool
	keys  [][]byte // appended to under coalescer.mu until turn is closed

	turn chan struct{} // closed when the batch gets a slot; keys is then fixed
	done chan struct{} // closed when res and err are set

	// res and err are written once by the leader before done is closed,
	// and read by the others only after.
	res *pb.GetManyResponse
	err error
}

// getCoalesced is Get with coalescing; see coalescer.
func (c *peer) getCoalesced(ctx context.Context, in *pb.GetRequest) (*pb.GetResponse, error) {
	res, err := c.coalesce(ctx, in, nil)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// coalesce asks the member for the keys of one request, a Get (one) or a
// GetMany (many, when one is nil), one answer per key: in that request
// while fewer than coalesceInflight are in flight, or else in a batch with
// other callers' keys; see coalescer. More than maxCoalesce keys go alone.
func (c *peer) coalesce(ctx context.Context, one *pb.GetRequest, many *pb.GetManyRequest) ([]*pb.GetResponse, error) {
	group, peek, keys := many.GetGroup(), many.GetPeek(), many.GetKeys()
	if one != nil {
		group, peek, keys = one.GetGroup(), one.GetPeek(), nil
	}
	co := &c.co
	co.mu.Lock()
	if co.inflight < coalesceInflight || len(keys) > maxCoalesce {
		co.inflight++
		co.mu.Unlock()
		defer c.release()
		return c.sendAlone(ctx, one, many)
	}
	if one != nil {
		// Made only now: a Get sent alone needs no key slice.
		keys = [][]byte{[]byte(one.GetKey())}
	}
	if n := len(co.queue); n > 0 {
		b := co.queue[n-1]
		if b.group == group && b.peek == peek && len(b.keys)+len(keys) <= maxCoalesce {
			i := len(b.keys)
			b.keys = append(b.keys, keys...)
			co.mu.Unlock()
			select {
			case <-b.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("peerhttp: %s from %s: %w", describe(group, keys), c.base, context.Cause(ctx))
			}
			if b.err != nil {
				return nil, fmt.Errorf("peerhttp: %s from %s, in a batch: %w", describe(group, keys), c.base, b.err)
			}
			// Capped, so that an append by this caller cannot write over
			// the next caller's results.
			return b.res.Results[i : i+len(keys) : i+len(keys)], nil
		}
	}
	// Clipped, so that the keys others append go to an array of the
	// batch's own, not to the rest of the caller's.
	b := &batch{group: group, peek: peek, keys: slices.Clip(keys), turn: make(chan struct{}), done: make(chan struct{})}
	co.queue = append(co.queue, b)
	co.mu.Unlock()

	// The leader waits for its turn whatever its ctx says, because the
	// batch is the others' too, but no longer than coalesceMaxWait.
	c.awaitTurn(b)
	defer c.release()
	if len(b.keys) == len(keys) {
		// Nobody joined.
		close(b.done)
		return c.sendAlone(ctx, one, many)
	}
	// The batch is sent for every caller in it: the leader giving up must
	// not fail the others, so its cancellation is dropped (send bounds
	// the request by Config.Timeout).
	b.res, b.err = c.getMany(context.WithoutCancel(ctx), &pb.GetManyRequest{Group: b.group, Keys: b.keys, Peek: b.peek})
	close(b.done)
	if b.err != nil {
		return nil, fmt.Errorf("peerhttp: %s from %s, in a batch: %w", describe(group, keys), c.base, b.err)
	}
	return b.res.Results[:len(keys):len(keys)], nil
}

// sendAlone sends one, if not nil, else many, as it is.
func (c *peer) sendAlone(ctx context.Context, one *pb.GetRequest, many *pb.GetManyRequest) ([]*pb.GetResponse, error) {
	if one != nil {
		out, err := c.getOne(ctx, one)
		if err != nil {
			return nil, err
		}
		return []*pb.GetResponse{out}, nil
	}
	out, err := c.getMany(ctx, many)
	if err != nil {
		return nil, err
	}
	return out.Results, nil
}

// describe names a request for keys of group in errors.
func describe(group string, keys [][]byte) string {
	if len(keys) == 1 {
		return fmt.Sprintf("get %q", keys[0])
	}
	return fmt.Sprintf("get %d keys of %q", len(keys), group)
}

// awaitTurn returns when batch b may be sent, holding a slot: given by
// release, or taken beyond coalesceInflight after coalesceMaxWait.
func (c *peer) awaitTurn(b *batch) {
	t := time.NewTimer(coalesceMaxWait)
	defer t.Stop()
	select {
	case <-b.turn:
		return
	case <-t.C:
	}
	co := &c.co
	co.mu.Lock()
	i := slices.Index(co.queue, b)
	if i < 0 {
		// release took b off the queue, and gave it its slot, between the
		// timer and the lock; it closes turn after unlocking.
		co.mu.Unlock()
		<-b.turn
		return
	}
	co.queue = slices.Delete(co.queue, i, i+1)
	co.inflight++
	co.mu.Unlock()
}

// release ends a request: its slot passes to the oldest waiting batch, if
// any.
func (c *peer) release() {
	co := &c.co
	co.mu.Lock()
	if len(co.queue) == 0 {
		co.inflight--
		co.mu.Unlock()
		return
	}
	b := co.queue[0]
	co.queue[0] = nil
	co.queue = co.queue[1:]
	co.mu.Unlock()
	close(b.turn)
}
