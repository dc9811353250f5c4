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
	deadline time.Time

	once   sync.Once          // builds ctx, or sets it to h.ended if end comes first
	ctx    context.Context    // written once, in once; read after it
	cancel context.CancelFunc // likewise; nil when ctx is h.ended
}

// commandContext returns the context for one command's calls into the
// engine: the server's base context, bounded by CommandTimeout. The command
// calls end once it has replied.
func (h *handler) commandContext() *commandCtx {
	return &commandCtx{h: h, deadline: h.now().Add(h.cfg.CommandTimeout)}
}

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

// end releases the context once the command has replied. A context not
// built by then never will be: from now on c is h.ended, already done. (A
// load the command started goes on under context.WithoutCancel, which
// asks c only for values.)
func (c *commandCtx) end() {
	c.once.Do(func() { c.ctx = c.h.ended })
	if c.cancel != nil {
		c.cancel()
	}
}
