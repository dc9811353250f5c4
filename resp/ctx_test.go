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
	// The key's string and the commandCtx: no context, no timer.
	if n := testing.AllocsPerRun(100, func() { h.exec(cl, args); cl.w.flush() }); n > 2 {
		t.Errorf("GET of a cached key: %v allocations, want at most 2", n)
	}
}

func TestCommandCtxEndedBeforeBuilt(t *testing.T) {
	f := newRegistry(t)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
	ctx := h.commandContext()
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
		ctx := h.commandContext()
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
	ctx := h.commandContext()
	defer ctx.end()
	stop(errShutdown)
	<-ctx.Done()
	if got := context.Cause(ctx); got != errShutdown {
		t.Errorf("Cause after the base is cancelled = %v, want %v", got, errShutdown)
	}
}
