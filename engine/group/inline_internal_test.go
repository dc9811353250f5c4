package group

import (
	"context"
	"testing"
	"time"
)

// TestLoadsInline checks which callers run a load on their own goroutine:
// those that would wait at least as long as the load may take.
func TestLoadsInline(t *testing.T) {
	const loadTimeout = 10 * time.Second
	g := &Group{cfg: Config{LoadTimeout: loadTimeout}}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want bool
	}{
		{"no deadline, never canceled", func(*testing.T) context.Context { return context.Background() }, true},
		{"detached", func(t *testing.T) context.Context { return context.WithoutCancel(t.Context()) }, true},
		{"cancelable, no deadline", func(t *testing.T) context.Context { return t.Context() }, false},
		{"canceled", func(*testing.T) context.Context { return canceled }, false},
		{"deadline past the load's", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 2*loadTimeout)
			t.Cleanup(cancel)
			return ctx
		}, true},
		{"deadline a little before the load's", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), loadTimeout-loadTimeout/128)
			t.Cleanup(cancel)
			return ctx
		}, true},
		{"deadline well before the load's", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), loadTimeout/2)
			t.Cleanup(cancel)
			return ctx
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.loadsInline(tt.ctx(t)); got != tt.want {
				t.Errorf("loadsInline = %t, want %t", got, tt.want)
			}
		})
	}
}
