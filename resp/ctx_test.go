package resp

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tidwall/redcon"
)

func TestCommandCtxNotBuiltOnHit(t *testing.T) {
	f := newRegistry(t)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
	cl := h.newClient(nil, redcon.NewWriter(io.Discard))
	args := [][]byte{[]byte("GET"), []byte("scores:Tom")}
	h.exec(cl, args) // load it
	// No copy of the key, no context, no timer.
	if n := testing.AllocsPerRun(100, func() { h.exec(cl, args); cl.w.flush() }); n > 0 {
		t.Errorf("GET of a cached key: %v allocations, want 0", n)
	}
}

func TestCommandCtxEndedBeforeBuilt(t *testing.T) {
	f := newRegistry(t)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
	ctx := h.commandContext(h.newClient(nil, redcon.NewWriter(io.Discard)))
	ctx.end()
	select {
	case <-ctx.Done():
	default:
		t.Errorf("Done of an ended context is open")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err of an ended context = %v, want context.Canceled", ctx.Err())
	}
}

func TestCommandCtxDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newRegistry(t)
		cfg := Config{Registry: f.reg, Default: f.def, CommandTimeout: time.Second}.withDefaults()
		h := newHandler(cfg, context.Background(), time.Now)
		ctx := h.commandContext(h.newClient(nil, redcon.NewWriter(io.Discard)))
		defer ctx.end()
		if d, ok := ctx.Deadline(); !ok || d != time.Now().Add(time.Second) {
			t.Errorf("Deadline() = %v, %v; want now+1s", d, ok)
		}

		// Goroutines that share the context see one channel, and a
		// context derived from it ends with it, with its cause.
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		chans := make([]<-chan struct{}, 8)
		for i := range chans {
			wg.Go(func() { chans[i] = ctx.Done() })
		}
		wg.Wait()
		for _, ch := range chans[1:] {
			if ch != chans[0] {
				t.Fatalf("Done returned different channels")
			}
		}
		start := time.Now()
		<-child.Done()
		if d := time.Since(start); d != time.Second {
			t.Errorf("derived context ended after %v, want 1s", d)
		}
		if got := context.Cause(child); got != h.timeout {
			t.Errorf("Cause(derived) = %v, want %v", got, h.timeout)
		}
	})
}

func TestCommandCtxShutdown(t *testing.T) {
	f := newRegistry(t)
	base, stop := context.WithCancelCause(context.Background())
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), base, time.Now)
	ctx := h.commandContext(h.newClient(nil, redcon.NewWriter(io.Discard)))
	defer ctx.end()
	stop(errShutdown)
	<-ctx.Done()
	if got := context.Cause(ctx); got != errShutdown {
		t.Errorf("Cause after the base is cancelled = %v, want %v", got, errShutdown)
	}
}

func TestCommandCtxNeverReused(t *testing.T) {
	f := newRegistry(t)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
	cl := h.newClient(nil, redcon.NewWriter(io.Discard))
	// A load may keep a command's context after the command ended: no later
	// command gets the same one.
	seen := make(map[*commandCtx]bool)
	for range 3 * ctxBlock {
		ctx := h.commandContext(cl)
		if seen[ctx] {
			t.Fatalf("commandContext returned a context it had handed out before")
		}
		seen[ctx] = true
		ctx.end()
	}
	if n := testing.AllocsPerRun(10*ctxBlock, func() { h.commandContext(cl).end() }); n > 0.2 {
		t.Errorf("commandContext: %v allocations per command, want about 1/%d", n, ctxBlock)
	}
}

func TestCommandCtxClock(t *testing.T) {
	f := newRegistry(t)
	var reads int
	now := time.Unix(1000, 0)
	clock := func() time.Time { reads++; return now }
	cfg := Config{Registry: f.reg, Default: f.def, CommandTimeout: time.Second}.withDefaults()
	h := newHandler(cfg, context.Background(), clock)
	cl := h.newClient(nil, redcon.NewWriter(io.Discard))
	reads = 0

	steps := []struct {
		do        func() *commandCtx
		reads     int // of the clock, in all, after the step
		deadline  time.Time
		rationale string
	}{
		{func() *commandCtx { ctx := h.commandContext(cl); ctx.end(); return ctx }, 1, time.Unix(1001, 0), "the first command reads the clock"},
		{func() *commandCtx {
			now = now.Add(time.Millisecond)
			ctx := h.commandContext(cl)
			ctx.end()
			return ctx
		}, 1, time.Unix(1001, 0), "a command after one that waited on nothing shares its start"},
		{func() *commandCtx { ctx := h.commandContext(cl); <-ctx.Done(); ctx.end(); return ctx }, 1, time.Unix(1001, 0), "a command that waits on its context..."},
		{func() *commandCtx { ctx := h.commandContext(cl); ctx.end(); return ctx }, 2, time.Unix(1001, 0).Add(time.Millisecond), "...has the next one read the clock again"},
		{func() *commandCtx { cl.clock = time.Time{}; ctx := h.commandContext(cl); ctx.end(); return ctx }, 3, time.Unix(1001, 0).Add(time.Millisecond), "a new read of commands reads it again"},
	}
	for _, st := range steps {
		ctx := st.do()
		if d, _ := ctx.Deadline(); reads != st.reads || !d.Equal(st.deadline) {
			t.Errorf("%s: %d clock reads, deadline %v; want %d, %v", st.rationale, reads, d, st.reads, st.deadline)
		}
	}
}

func TestCommandCtxEndDropsClient(t *testing.T) {
	f := newRegistry(t)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
	cl := h.newClient(nil, redcon.NewWriter(io.Discard))
	// A load may keep the context after the command; it must not keep the
	// connection's state with it.
	ctx := h.commandContext(cl)
	ctx.end()
	if ctx.cl != nil {
		t.Errorf("an ended context still points at its client")
	}
}
