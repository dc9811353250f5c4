package flight_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/rcache/rcache/cluster/flight"
)

// TestDoDupSuppress starts 100 callers for one key while fn is held open.
// synctest.Wait returns only once every caller is blocked, either inside fn
// or waiting for its result, so all 100 are known to overlap before release.
func TestDoDupSuppress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group
		var calls atomic.Int32
		release := make(chan struct{})
		fn := func() (any, error) {
			calls.Add(1)
			<-release
			return "bar", nil
		}
		const n = 100
		results := make(chan flight.Result, n)
		for range n {
			go func() {
				v, err, shared := g.Do("key", fn)
				results <- flight.Result{Val: v, Err: err, Shared: shared}
			}()
		}
		synctest.Wait()
		close(release)
		for range n {
			if r := <-results; r.Val != "bar" || r.Err != nil || !r.Shared {
				t.Errorf(`Do("key") = %v, %v, %t, want bar, <nil>, true`, r.Val, r.Err, r.Shared)
			}
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("fn ran %d times, want 1", got)
		}
	})
}

var errBoom = errors.New("boom")

func isPanic(err error) bool {
	var pe *flight.PanicError
	return errors.As(err, &pe) && pe.Value == "boom" &&
		strings.Contains(err.Error(), "flight: panic: boom") &&
		bytes.Contains(pe.Stack, []byte("flight_test"))
}

// TestOutcomeShared holds a call open, joins it with DoChan, and then lets fn
// end in each possible way. The joiner and the first caller get the same
// outcome, and nothing is remembered: the next call runs fn again.
func TestOutcomeShared(t *testing.T) {
	t.Parallel()
	leaders := []struct {
		name  string
		start func(g *flight.Group, fn func() (any, error)) <-chan flight.Result
	}{
		{"Do", func(g *flight.Group, fn func() (any, error)) <-chan flight.Result {
			out := make(chan flight.Result, 1)
			go func() {
				defer close(out) // closed without a value if fn calls Goexit
				v, err, shared := g.Do("key", fn)
				out <- flight.Result{Val: v, Err: err, Shared: shared}
			}()
			return out
		}},
		{"DoChan", func(g *flight.Group, fn func() (any, error)) <-chan flight.Result {
			return g.DoChan("key", fn)
		}},
		{"DoOrJoin", func(g *flight.Group, fn func() (any, error)) <-chan flight.Result {
			out := make(chan flight.Result, 1)
			go func() {
				defer close(out) // closed without a value if fn calls Goexit
				r, ch := g.DoOrJoin("key", fn)
				if ch != nil {
					t.Error(`DoOrJoin("key") with no call in flight joined one, want fn run here`)
					r = <-ch
				}
				out <- r
			}()
			return out
		}},
	}
	tests := []struct {
		name    string
		end     func() (any, error)
		want    any
		wantErr func(error) bool
	}{
		{"value", func() (any, error) { return "v", nil }, "v",
			func(err error) bool { return err == nil }},
		{"error", func() (any, error) { return nil, errBoom }, nil,
			func(err error) bool { return errors.Is(err, errBoom) }},
		{"panic", func() (any, error) { panic("boom") }, nil, isPanic},
		{"goexit", func() (any, error) { runtime.Goexit(); return "unreachable", nil }, nil,
			func(err error) bool { return errors.Is(err, flight.ErrGoexit) }},
	}
	for _, l := range leaders {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var g flight.Group
				entered, release := make(chan struct{}), make(chan struct{})
				leader := l.start(&g, func() (any, error) {
					close(entered)
					<-release
					return tt.end()
				})
				<-entered
				joiner := g.DoChan("key", func() (any, error) {
					t.Error("second fn ran while the first was in flight")
					return nil, nil
				})
				_, joiner2 := g.DoOrJoin("key", func() (any, error) {
					t.Error("third fn ran while the first was in flight")
					return nil, nil
				})
				if joiner2 == nil {
					t.Fatal(`DoOrJoin("key") with a call in flight returned no channel, want to join it`)
				}
				close(release)

				if r := <-joiner; r.Val != tt.want || !tt.wantErr(r.Err) || !r.Shared {
					t.Errorf(`joiner DoChan("key") = %v, %v, %t, want %v, %s, true`, r.Val, r.Err, r.Shared, tt.want, tt.name)
				}
				if r := <-joiner2; r.Val != tt.want || !tt.wantErr(r.Err) || !r.Shared {
					t.Errorf(`joiner DoOrJoin("key") = %v, %v, %t, want %v, %s, true`, r.Val, r.Err, r.Shared, tt.want, tt.name)
				}
				r, ok := <-leader
				if !ok {
					if l.name == "DoChan" || tt.name != "goexit" {
						t.Errorf(`leader %s("key") returned nothing, want %v`, l.name, tt.want)
					}
				} else if r.Val != tt.want || !tt.wantErr(r.Err) || !r.Shared {
					t.Errorf(`leader %s("key") = %v, %v, %t, want %v, %s, true`, l.name, r.Val, r.Err, r.Shared, tt.want, tt.name)
				}

				v, err, shared := g.Do("key", func() (any, error) { return "again", nil })
				if v != "again" || err != nil || shared {
					t.Errorf(`next Do("key") = %v, %v, %t, want again, <nil>, false`, v, err, shared)
				}
			})
		}
	}
}

// TestForget recreates the interleaving that doCall's g.m[key] == c check
// guards: the first call, forgotten, completes while a second is in flight,
// and must not remove the second from the group.
func TestForget(t *testing.T) {
	t.Parallel()
	var g flight.Group
	entered1, release1 := make(chan struct{}), make(chan struct{})
	first := g.DoChan("key", func() (any, error) {
		close(entered1)
		<-release1
		return "first", nil
	})
	<-entered1
	g.Forget("key")

	entered2, release2 := make(chan struct{}), make(chan struct{})
	second := g.DoChan("key", func() (any, error) {
		close(entered2)
		<-release2
		return "second", nil
	})
	<-entered2 // the second call started although the first is in flight
	close(release1)
	if r := <-first; r.Val != "first" || r.Err != nil || r.Shared {
		t.Errorf(`first DoChan("key") = %v, %v, %t, want first, <nil>, false`, r.Val, r.Err, r.Shared)
	}

	third := g.DoChan("key", func() (any, error) {
		t.Error("third call started beside the second")
		return nil, nil
	})
	close(release2)
	for _, ch := range []<-chan flight.Result{second, third} {
		if r := <-ch; r.Val != "second" || r.Err != nil || !r.Shared {
			t.Errorf(`DoChan("key") = %v, %v, %t, want second, <nil>, true`, r.Val, r.Err, r.Shared)
		}
	}
}

// TestDoChanAbandon has one caller leave through its ctx and another never
// read its channel. The call still completes for the remaining waiter, and
// the flight's goroutine exits: synctest.Test fails if it stays blocked.
func TestDoChanAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group
		release := make(chan struct{})
		fn := func() (any, error) {
			<-release
			return "v", nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		leaving := g.DoChan("key", fn)
		abandoned := g.DoChan("key", fn)
		staying := g.DoChan("key", fn)
		cancel()
		select {
		case r := <-leaving:
			t.Errorf(`DoChan("key") = %v before fn returned, want ctx.Done first`, r.Val)
		case <-ctx.Done():
		}
		close(release)
		if r := <-staying; r.Val != "v" || r.Err != nil || !r.Shared {
			t.Errorf(`DoChan("key") = %v, %v, %t, want v, <nil>, true`, r.Val, r.Err, r.Shared)
		}
		synctest.Wait()
		if len(abandoned) != 1 || len(leaving) != 1 {
			t.Errorf("unread channels hold %d and %d results, want 1 and 1", len(abandoned), len(leaving))
		}
	})
}

func BenchmarkDo(b *testing.B) {
	var g flight.Group
	fn := func() (any, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		g.Do("key", fn)
	}
}

func BenchmarkDoParallel(b *testing.B) {
	var g flight.Group
	fn := func() (any, error) { return 1, nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Do("key", fn)
		}
	})
}
