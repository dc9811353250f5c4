package peerhttp_test

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/pb"
)

// observed is one call of Config.Observe.
type observed struct {
	peer, op string
	d        time.Duration
	err      error
}

// TestObserve checks that Config.Observe sees every peer request, by
// operation, including one the open breaker refused.
func TestObserve(t *testing.T) {
	var mu sync.Mutex // guards calls
	var calls []observed
	cfg := peerhttp.Config{BreakerThreshold: 1, Observe: func(peer, op string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, observed{peer, op, d, err})
	}}
	var fail atomic.Bool
	f := newFakeMember(t, cfg, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case fail.Load():
			http.Error(w, "boom", http.StatusInternalServerError)
		case r.Method == http.MethodGet:
			answerOK(w, r)
		case r.URL.Path == "/_rcache/scores":
			w.Header().Set("Content-Type", "application/x-protobuf")
			b := marshal(t, &pb.GetManyResponse{Results: []*pb.GetResponse{{Value: []byte("a")}}})
			_, _ = w.Write(b)
		default:
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(marshal(t, &pb.WriteResponse{}))
		}
	})
	ctx := testContext(t)
	if err := f.get(ctx); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, err := f.peer.GetMany(ctx, &pb.GetManyRequest{Group: "scores", Keys: [][]byte{[]byte("a")}}); err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if _, err := f.peer.Write(ctx, &pb.WriteRequest{Group: "scores", Key: f.key, Op: pb.WriteRequest_OP_FILL, Value: []byte("v")}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	fail.Store(true)
	_ = f.get(ctx) // fails, opens the breaker
	_ = f.get(ctx) // refused

	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		op      string
		wantErr bool
		refused bool
	}{{"get", false, false}, {"getmany", false, false}, {"write", false, false}, {"get", true, false}, {"get", true, true}}
	if len(calls) != len(want) {
		t.Fatalf("Observe called %d times (%+v), want %d", len(calls), calls, len(want))
	}
	for i, w := range want {
		c := calls[i]
		if c.peer != f.srv.URL || c.op != w.op || (c.err != nil) != w.wantErr || errors.Is(c.err, peerhttp.ErrPeerUnavailable) != w.refused {
			t.Errorf("Observe call %d = %+v, want peer %s, op %q, error %v, refused %v", i, c, f.srv.URL, w.op, w.wantErr, w.refused)
		}
		if (c.d == 0) != w.refused {
			t.Errorf("Observe call %d: d = %v, want zero only when refused", i, c.d)
		}
	}
}
