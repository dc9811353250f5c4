package group_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

func TestIncrByReportsOriginFailure(t *testing.T) {
	t.Parallel()
	g := newTestGroup(t, group.Config{Name: "incr", Getter: group.GetterFunc(
		func(context.Context, string) ([]byte, error) { return nil, errBoom })})
	n, err := g.IncrBy(context.Background(), "k", 1)
	var oe *group.OriginError
	if !errors.As(err, &oe) || n != 0 {
		t.Errorf("IncrBy with a failing origin = %d, %v, want an *OriginError", n, err)
	}
}

func TestServeWriteRefusesBadRequests(t *testing.T) {
	t.Parallel()
	g := newTestGroup(t, group.Config{Name: "w", Getter: newOrigin(scores)})
	tests := []struct {
		name string
		in   *pb.WriteRequest
	}{
		{"empty key", &pb.WriteRequest{Op: pb.WriteRequest_OP_SET, Value: []byte("v")}},
		{"unspecified op", &pb.WriteRequest{Key: "k"}},
		{"unknown op", &pb.WriteRequest{Key: "k", Op: pb.WriteRequest_Op(99)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := g.ServeWrite(context.Background(), tt.in)
			if res.GetError() != pb.WriteResponse_ERROR_BAD_REQUEST || res.GetMessage() == "" {
				t.Errorf("ServeWrite(%v) = %v, want ERROR_BAD_REQUEST with a message", tt.in, res)
			}
		})
	}
	if n := g.Len(); n != 0 {
		t.Errorf("Len after refused writes = %d, want 0", n)
	}
}

// TestMaxOriginCalls starts more distinct loads than the cap allows and
// checks that no more than the cap reach the Getter at once.
func TestMaxOriginCalls(t *testing.T) {
	t.Parallel()
	const limit, loads = 3, 12
	var inFlight, peak atomic.Int64
	entered := make(chan struct{}, loads)
	release := make(chan struct{})
	g := newTestGroup(t, group.Config{Name: "capped", MaxOriginCalls: limit, Getter: group.GetterFunc(
		func(_ context.Context, key string) ([]byte, error) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			entered <- struct{}{}
			<-release
			inFlight.Add(-1)
			return []byte(key), nil
		})})
	var wg sync.WaitGroup
	for i := range loads {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			if v, err := g.Get(context.Background(), key); err != nil || v.String() != key {
				t.Errorf("Get(%q) = %q, %v", key, v, err)
			}
		})
	}
	for range limit {
		<-entered // the first calls fill every slot
	}
	for range loads - limit {
		release <- struct{}{} // free a slot ...
		<-entered             // ... and the next call takes it
	}
	for range limit {
		release <- struct{}{}
	}
	wg.Wait()
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrent origin calls = %d, want %d", p, limit)
	}
}
