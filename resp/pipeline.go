package resp

import (
	"context"
	"sync"

	"github.com/rcache/rcache/engine/group"
)

// Pipelined GETs. Run one at a time, the GETs of keys owned by other nodes
// that a client pipelines would each wait for one peer round trip, one
// after the other. Instead, the connection's loop hands servePipeline every
// command read at once, and it runs them in order:
//
//   - each run of consecutive GETs, up to maxGetRun of them, is fetched
//     together: the keys in memory first, without copying them, then the
//     others with one GetMany per group (a group's GetMany asks each owner
//     once, in parallel), the groups in parallel;
//   - every other command, and a lone GET, runs alone (serveCommand).
//
// So a GET never moves across another command: a SET before it is done
// before it is fetched, a DEL after it after it is fetched. The replies go
// out in the order of the commands, each exactly as a lone GET would have
// written it, and each GET counts as one call in the command stats. The
// replies are flushed every flushBytes, and a reply over MaxOutputBytes
// closes the connection, as for any other command; the GETs of the run
// whose replies were not sent then are not counted. A run is fetched only
// while the connection is authenticated (otherwise each GET runs alone, and
// is refused); a command of the pipeline that authenticates applies to the
// runs after it.

// maxGetRun is the most GETs fetched together; a longer run of GETs is
// fetched in several. It bounds the values a connection holds at once.
const maxGetRun = 512

// isGet reports whether args is a GET of one key, which a run may hold. A
// GET with the wrong number of arguments runs alone, and is refused.
func isGet(args [][]byte) bool { return len(args) == 2 && equalFold(args[0], "get") }

// getRun is the state of a run of GETs: the client keeps one and reuses it,
// so that a run answered from memory allocates nothing.
type getRun struct {
	keys    [][]byte    // the client keys, aliasing redcon's buffer
	res     []getResult // one per key
	batches []getBatch  // the keys to fetch, per group; reused
}

// getResult is the outcome of one GET of a run.
type getResult struct {
	v    group.ByteView
	err  error // from the load; wraps group.ErrNotFound for a key with no value
	null bool  // the key cannot exist (splitKey gave the empty key)
}

// getBatch is the keys of a run that one group must fetch.
type getBatch struct {
	g    *group.Group
	idx  []int    // their positions in the run
	keys []string // the keys within g
	res  []group.Result
}

// servePipeline runs cmds, the commands of a pipeline, in order, for the
// connection cl: the runs of GETs together (serveGets), the other commands
// one by one (serveCommand). It reports false, and stops, once the
// connection is closing.
func (s *Server) servePipeline(cl *client, cmds [][][]byte) bool {
	n := len(cmds)
	run := &cl.run
	for i := 0; i < n; {
		j := i
		for cl.authed && j < n && j-i < maxGetRun && isGet(cmds[j]) {
			j++
		}
		if j-i < 2 {
			if !s.serveCommand(cl, cmds[i], i+1 < n) {
				return false
			}
			i++
			continue
		}
		run.keys = run.keys[:0]
		for k := i; k < j; k++ {
			run.keys = append(run.keys, cmds[k][1])
		}
		if !s.serveGets(cl, j < n) {
			return false
		}
		i = j
	}
	return true
}

// serveGets fetches the run of GETs in cl.run.keys and writes their
// replies, each followed by afterReply; more says whether commands follow
// the run. It reports false once the connection is closing.
func (s *Server) serveGets(cl *client, more bool) bool {
	run := &cl.run
	ctx := s.h.fetchGets(cl)
	defer func() {
		if ctx != nil {
			ctx.end()
		}
		run.release()
	}()
	for i := range run.keys {
		before := cl.w.pending
		s.h.replyGet(ctx, cl, &run.res[i])
		if !s.afterReply(cl, before, more || i+1 < len(run.keys)) {
			return false
		}
	}
	return true
}

// fetchGets fills cl.run.res for cl.run.keys. It returns the context of
// the loads, which the caller ends once it has replied, or nil when every
// key was answered from memory.
func (h *handler) fetchGets(cl *client) *commandCtx {
	run := &cl.run
	run.res = append(run.res[:0], make([]getResult, len(run.keys))...)
	run.batches = run.batches[:0]
	for i, raw := range run.keys {
		g, key := splitKeyBytes(h.cfg.Registry, h.cfg.Default, raw)
		if len(key) == 0 {
			run.res[i].null = true
			continue
		}
		// As GET does: a hit needs no copy of the key.
		if v, ok := g.Lookup(string(key)); ok {
			run.res[i].v = v
			continue
		}
		b := run.batch(g)
		b.idx = append(b.idx, i)
		b.keys = append(b.keys, string(key))
	}
	if len(run.batches) == 0 {
		return nil
	}
	ctx := h.commandContext(cl)
	// The other groups in goroutines, the first one here.
	var wg sync.WaitGroup
	for k := 1; k < len(run.batches); k++ {
		b := &run.batches[k]
		wg.Go(func() { b.fetch(ctx) })
	}
	run.batches[0].fetch(ctx)
	wg.Wait()
	for k := range run.batches {
		b := &run.batches[k]
		for j, i := range b.idx {
			run.res[i].v, run.res[i].err = b.res[j].Value, b.res[j].Err
		}
	}
	return ctx
}

// batch returns the batch of g in run, adding it if it has none yet.
func (run *getRun) batch(g *group.Group) *getBatch {
	for k := range run.batches {
		if run.batches[k].g == g {
			return &run.batches[k]
		}
	}
	if len(run.batches) < cap(run.batches) {
		run.batches = run.batches[:len(run.batches)+1]
	} else {
		run.batches = append(run.batches, getBatch{})
	}
	b := &run.batches[len(run.batches)-1]
	b.g, b.idx, b.keys, b.res = g, b.idx[:0], b.keys[:0], b.res[:0]
	return b
}

// fetch loads the keys of b. A single key is loaded by Get, as a lone GET
// loads it; more by one GetMany, which asks each owner once.
func (b *getBatch) fetch(ctx *commandCtx) {
	if len(b.keys) == 1 {
		v, err := b.g.Get(ctx, b.keys[0])
		b.res = append(b.res[:0], group.Result{Value: v, Err: err})
		return
	}
	b.res = b.g.GetMany(ctx, b.keys)
}

// release drops what run refers to, once its replies are written: the
// values, and redcon's buffer, are not kept until the next run.
func (run *getRun) release() {
	clear(run.keys)
	run.keys = run.keys[:0]
	clear(run.res)
	run.res = run.res[:0]
	for k := range run.batches {
		b := &run.batches[k]
		clear(b.keys)
		clear(b.res)
		b.g = nil
	}
	run.batches = run.batches[:0]
}

// replyGet writes the reply of one GET of a run, as get writes it, and
// counts the call as exec does; ctx is the run's (nil if it loaded
// nothing).
func (h *handler) replyGet(ctx *commandCtx, cl *client, r *getResult) {
	h.getCmd.calls.Add(1)
	switch {
	case r.null:
		cl.w.Null()
	case r.err != nil:
		var c context.Context // nil: ctx is nil only when nothing was loaded
		if ctx != nil {
			c = ctx
		}
		errs := cl.w.errs
		h.fail(c, cl, loadError{r.err})
		if n := cl.w.errs - errs; n > 0 {
			h.getCmd.failed.Add(1)
			h.errorReplies.Add(n)
		}
	default:
		cl.w.BulkString(r.v.String())
	}
}
