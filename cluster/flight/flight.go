// Package flight makes concurrent calls for the same key share one execution.
//
// It follows golang.org/x/sync/singleflight, with two differences: DoChan runs
// the call in a goroutine owned by the flight rather than by the first caller,
// and a panic or runtime.Goexit in the call is reported to every waiter as an
// error instead of being re-raised.
package flight

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// ErrGoexit is returned to the waiters of a call whose function called
// runtime.Goexit (for example through t.FailNow) instead of returning.
var ErrGoexit = errors.New("flight: function called runtime.Goexit")

// PanicError is returned to the waiters of a call whose function panicked.
type PanicError struct {
	// Value is the value the function panicked with.
	Value any
	// Stack is the stack of the panicking goroutine, from debug.Stack.
	Stack []byte
}

// Error returns the panic value; the stack is left out.
func (p *PanicError) Error() string {
	return fmt.Sprintf("flight: panic: %v", p.Value)
}

// Result holds the outcome of a call, as delivered by DoChan and DoOrJoin.
type Result struct {
	// Val is the value fn returned; nil if it panicked or called Goexit.
	Val any
	// Err is the error fn returned, a *PanicError, or ErrGoexit.
	Err error
	// Shared reports whether Val was given to more than one caller.
	Shared bool
}

// Group runs at most one call per key at a time. The zero value is ready to
// use, and a Group is safe for concurrent use. A Group must not be copied
// after first use.
type Group struct {
	mu sync.Mutex       // guards m and the dups and chans of every call in it
	m  map[string]*call // calls in flight; a call is removed when it completes
}

type call struct {
	// val, err and shared are written once, before wg.Done, and read only
	// after wg.Wait (or, by the goroutine that ran fn, after doCall).
	val    any
	err    error
	shared bool
	wg     sync.WaitGroup

	dups  int             // callers that joined after the first; guarded by Group.mu
	chans []chan<- Result // DoChan and DoOrJoin callers waiting; guarded by Group.mu
}

// Do calls fn and returns its results, making sure that only one call for key
// is in flight at a time. A caller that arrives while a call is in flight waits
// for it and receives the same results. shared reports whether v was given to
// more than one caller. Results are not cached: once the call completes, the
// next Do for key calls fn again, so errors are shared but not remembered.
//
// fn runs on the goroutine of the first caller. If fn panics, Do does not
// re-panic: every waiter, including the first caller, gets a *PanicError, so
// one bad load cannot crash a server that serves many keys. If fn calls
// runtime.Goexit, the first caller's goroutine exits and the other waiters get
// ErrGoexit.
//
// Callers share one execution, so fn must not depend on the first caller's
// context: the first caller giving up must not cancel the others. Run the
// load under context.WithoutCancel(ctx) with its own deadline.
func (g *Group) Do(key string, fn func() (any, error)) (v any, err error, shared bool) {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		c.dups++
		g.mu.Unlock()
		c.wg.Wait()
		return c.val, c.err, true
	}
	c := g.startLocked(key)
	g.mu.Unlock()

	g.doCall(c, key, fn)
	return c.val, c.err, c.shared
}

// DoChan is like Do but returns at once with a channel that receives the
// Result. The channel has a buffer of one, so a caller may stop waiting (for
// example when its ctx is done) without ever blocking the call.
//
// fn runs in a new goroutine owned by the flight, not by any caller, and
// callers leaving does not cancel it. fn must therefore bound itself: the
// engine runs it under context.WithoutCancel(ctx) plus a load timeout. A panic
// or runtime.Goexit in fn is delivered as a *PanicError or ErrGoexit, never
// crashing the process.
func (g *Group) DoChan(key string, fn func() (any, error)) <-chan Result {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		ch := c.joinLocked()
		g.mu.Unlock()
		return ch
	}
	c := g.startLocked(key)
	ch := make(chan Result, 1)
	c.chans = append(c.chans, ch)
	g.mu.Unlock()

	go g.doCall(c, key, fn)
	return ch
}

// DoOrJoin is Do for a caller that may or may not wait: when no call for
// key is in flight, it calls fn on the caller's goroutine, as Do does, and
// returns its Result with a nil channel; otherwise it joins the call in
// flight, as DoChan does, and returns a channel that receives the Result.
// So the first caller pays no goroutine and no hand-off, and a caller that
// would have to wait can still stop waiting. A panic in fn is returned as a
// *PanicError either way; if fn calls runtime.Goexit, the caller's
// goroutine exits and the joiners get ErrGoexit. As with Do, fn must not
// wait on a call for its own key: it would wait on itself.
func (g *Group) DoOrJoin(key string, fn func() (any, error)) (Result, <-chan Result) {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		ch := c.joinLocked()
		g.mu.Unlock()
		return Result{}, ch
	}
	c := g.startLocked(key)
	g.mu.Unlock()

	g.doCall(c, key, fn)
	return Result{Val: c.val, Err: c.err, Shared: c.shared}, nil
}

// Forget makes the next Do, DoChan or DoOrJoin for key start a new call,
// even if one is in flight. Callers already waiting keep waiting for the
// old call.
func (g *Group) Forget(key string) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
}

func (g *Group) startLocked(key string) *call {
	if g.m == nil {
		g.m = make(map[string]*call)
	}
	c := new(call)
	c.wg.Add(1)
	g.m[key] = c
	return c
}

// joinLocked adds a waiter to c, a call in flight, with g.mu held: the
// channel that receives its Result.
func (c *call) joinLocked() chan Result {
	ch := make(chan Result, 1)
	c.dups++
	c.chans = append(c.chans, ch)
	return ch
}

// doCall runs fn and releases every waiter of c, however fn ends.
func (g *Group) doCall(c *call, key string, fn func() (any, error)) {
	returned := false
	defer func() {
		if !returned {
			// recover returns nil during runtime.Goexit, and a non-nil
			// value (*runtime.PanicNilError for panic(nil)) during a panic.
			if r := recover(); r != nil {
				c.err = &PanicError{Value: r, Stack: debug.Stack()}
			} else {
				c.err = ErrGoexit
			}
		}
		g.mu.Lock()
		// Forget may have let a newer call take key while fn ran:
		// deleting it here would let a third call start beside it.
		if g.m[key] == c {
			delete(g.m, key)
		}
		// Nobody can join c any more, so dups and chans are final.
		c.shared = c.dups > 0
		chans := c.chans
		g.mu.Unlock()

		c.wg.Done()
		for _, ch := range chans {
			ch <- Result{Val: c.val, Err: c.err, Shared: c.shared}
		}
	}()
	c.val, c.err = fn()
	returned = true
}
