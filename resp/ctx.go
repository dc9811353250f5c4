package resp

import (
	"context"
	"sync"
	"time"
)

// commandCtx is the context of one command's calls into the engine: the
// server's base context with the command's deadline (STYLE rule 24). It
// builds that context, and its timer, only when something first needs it:
// a wait on Done, Err, Value. A GET or MGET answered from memory never
// does, so it costs no timer and no allocation beyond the commandCtx; a
// cache hit is most of the traffic.
//
// A commandCtx is safe for concurrent use: MGET's goroutines share one.
type commandCtx struct {
	h        *handler
	cl       *client // its clock is read again after a wait; nil once ended
	deadline time.Time

	once   sync.Once          // builds ctx, or sets it to h.ended if end comes first
	ctx    context.Context    // written once, in once; read after it
	cancel context.CancelFunc // likewise; nil when ctx is h.ended
}

// commandContext returns the context for one command of cl's calls into
// the engine: the server's base context, bounded by CommandTimeout. The
// command calls end once it has replied. It is carved from a block of
// ctxBlock that cl holds, so that most commands allocate none: a context is
// never reused, since a load the command started may keep it (for its
// values) after the command ended.
func (h *handler) commandContext(cl *client) *commandCtx {
	if len(cl.ctxs) == 0 {
		cl.ctxs = make([]commandCtx, ctxBlock)
	}
	c := &cl.ctxs[0]
	cl.ctxs = cl.ctxs[1:]
	c.h, c.cl, c.deadline = h, cl, cl.started(h).Add(h.cfg.CommandTimeout)
	return c
}

// started returns when the command about to run started, for its deadline:
// when the server read it, or when the command before it in the pipeline
// ended if that one waited on something (built its context). Commands read
// together that wait on nothing run back to back, within microseconds, so
// they share one reading of the clock.
func (cl *client) started(h *handler) time.Time {
	if cl.clock.IsZero() {
		cl.clock = h.now()
	}
	return cl.clock
}

// ctxBlock is how many commandCtx a client allocates at once. A block lives
// as long as any of its contexts is kept.
const ctxBlock = 16

// built returns the context c stands for, building it the first time.
func (c *commandCtx) built() context.Context {
	c.once.Do(func() {
		c.ctx, c.cancel = context.WithDeadlineCause(c.h.base, c.deadline, c.h.timeout)
	})
	return c.ctx
}

// Deadline returns the command's deadline.
func (c *commandCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the deadline passes, the command ends
// or the server gives up on it.
func (c *commandCtx) Done() <-chan struct{} { return c.built().Done() }

// Err reports why Done is closed, if it is.
func (c *commandCtx) Err() error { return c.built().Err() }

// Value returns the base context's value for key. It answers
// context.Cause, and lets a context derived from c find the cancelCtx
// inside, so that deriving costs no goroutine.
func (c *commandCtx) Value(key any) any { return c.built().Value(key) }

// end releases the context once the command has replied, on the
// connection's goroutine. A context not built by then never will be: from
// now on c is h.ended, already done. (A load the command started goes on
// under context.WithoutCancel, which asks c only for values.)
func (c *commandCtx) end() {
	c.once.Do(func() { c.ctx = c.h.ended })
	cl := c.cl
	c.cl = nil // a load that keeps c must not keep the client (only end reads cl)
	if c.cancel != nil {
		c.cancel()
		if cl != nil {
			cl.clock = time.Time{} // the command may have waited
		}
	}
}
