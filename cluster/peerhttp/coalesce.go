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

// coalescer merges the Gets to one peer that arrive while its requests are
// in flight into GetMany requests, so that under load one round trip
// carries many keys. A Get is sent on its own (no added latency) while
// fewer than coalesceInflight requests are in flight. Otherwise it joins
// the last waiting batch, or opens one and becomes its leader. When any
// request in flight ends, it hands its slot to the oldest waiting batch,
// whose leader sends it as one GetMany and gives each Get its result; a
// batch that has waited coalesceMaxWait goes without a slot. So
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
	co := &c.co
	co.mu.Lock()
	if co.inflight < coalesceInflight {
		co.inflight++
		co.mu.Unlock()
		defer c.release()
		return c.getOne(ctx, in)
	}
	if n := len(co.queue); n > 0 {
		b := co.queue[n-1]
		if b.group == in.GetGroup() && b.peek == in.GetPeek() && len(b.keys) < maxCoalesce {
			i := len(b.keys)
			b.keys = append(b.keys, []byte(in.GetKey()))
			co.mu.Unlock()
			select {
			case <-b.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("peerhttp: get %q from %s: %w", in.GetKey(), c.base, context.Cause(ctx))
			}
			if b.err != nil {
				return nil, fmt.Errorf("peerhttp: get %q from %s, in a batch: %w", in.GetKey(), c.base, b.err)
			}
			return b.res.Results[i], nil
		}
	}
	b := &batch{group: in.GetGroup(), peek: in.GetPeek(), keys: [][]byte{[]byte(in.GetKey())},
		turn: make(chan struct{}), done: make(chan struct{})}
	co.queue = append(co.queue, b)
	co.mu.Unlock()

	// The leader waits for its turn whatever its ctx says, because the
	// batch is the others' too, but no longer than coalesceMaxWait.
	c.awaitTurn(b)
	defer c.release()
	if len(b.keys) == 1 {
		// Nobody joined: a plain Get costs less than a GetMany.
		close(b.done)
		return c.getOne(ctx, in)
	}
	// The batch is sent for every caller in it: the leader giving up must
	// not fail the others, so its cancellation is dropped (send bounds
	// the request by Config.Timeout).
	b.res, b.err = c.GetMany(context.WithoutCancel(ctx), &pb.GetManyRequest{Group: b.group, Keys: b.keys, Peek: b.peek})
	close(b.done)
	if b.err != nil {
		return nil, fmt.Errorf("peerhttp: get %q from %s, in a batch: %w", in.GetKey(), c.base, b.err)
	}
	return b.res.Results[0], nil
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
