package group_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// failPicker returns a PeerPicker whose PickPeer fails the test: a node
// serving a peer's request must never forward it.
func failPicker(t *testing.T) *picker {
	return &picker{owner: func(key string) group.PeerGetter {
		t.Errorf("PickPeer(%q) called while serving a peer", key)
		return nil
	}}
}

// serveGroup returns a group over scores whose Getter fails for the key
// "err", with a picker that fails the test if asked.
func serveGroup(t *testing.T, cfg group.Config) (*group.Group, *origin) {
	t.Helper()
	db := newOrigin(scores)
	cfg.Name = "serve"
	cfg.Getter = group.GetterFunc(func(ctx context.Context, key string) ([]byte, error) {
		if key == "err" {
			return nil, errBoom
		}
		return db.Get(ctx, key)
	})
	g := newTestGroup(t, cfg)
	g.RegisterPeers(failPicker(t))
	return g, db
}

// checkResponse compares a GetResponse with want; an OriginError is matched
// by the substring "boom".
func checkResponse(t *testing.T, call string, got, want *pb.GetResponse) {
	t.Helper()
	if want.GetOriginError() != "" {
		if !strings.Contains(got.GetOriginError(), "boom") || got.GetNotFound() || len(got.GetValue()) != 0 {
			t.Errorf("%s = %v, want an origin error mentioning boom", call, got)
		}
		return
	}
	if !proto.Equal(got, want) {
		t.Errorf("%s = %v, want %v", call, got, want)
	}
}

func TestServeGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		warm      bool // ServeGet the key once first
		req       *pb.GetRequest
		want      *pb.GetResponse
		wantCalls int // Getter calls, including the warm-up
	}{
		{"loads", false, &pb.GetRequest{Key: "Tom"}, &pb.GetResponse{Value: []byte("630")}, 1},
		{"cached", true, &pb.GetRequest{Key: "Tom"}, &pb.GetResponse{Value: []byte("630")}, 1},
		{"not found", false, &pb.GetRequest{Key: "Kate"}, &pb.GetResponse{NotFound: true}, 1},
		{"empty key", false, &pb.GetRequest{Key: ""}, &pb.GetResponse{NotFound: true}, 0},
		{"peek, not cached", false, &pb.GetRequest{Key: "Tom", Peek: true}, &pb.GetResponse{NotFound: true}, 0},
		{"peek, cached", true, &pb.GetRequest{Key: "Tom", Peek: true}, &pb.GetResponse{Value: []byte("630")}, 1},
		{"origin error", false, &pb.GetRequest{Key: "err"}, &pb.GetResponse{OriginError: "boom"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			g, db := serveGroup(t, group.Config{})
			if tt.warm {
				g.ServeGet(ctx, &pb.GetRequest{Key: tt.req.GetKey()})
			}
			checkResponse(t, "ServeGet("+tt.req.String()+")", g.ServeGet(ctx, tt.req), tt.want)
			if n := db.Calls(tt.req.GetKey()); n != tt.wantCalls {
				t.Errorf("the Getter ran %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestServeGetTTL checks with a fake clock that ServeGet sends a value's
// remaining lifetime, rounded up to a millisecond.
func TestServeGetTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	g, _ := serveGroup(t, group.Config{TTL: time.Minute, TTLJitter: -1, Now: clk.Now})
	steps := []struct {
		advance time.Duration
		want    int64
	}{
		{0, 60000},
		{20 * time.Second, 40000},
		{40*time.Second - 1500*time.Microsecond, 2},
		{time.Millisecond, 1}, // 500µs left
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if got := g.ServeGet(ctx, &pb.GetRequest{Key: "Tom"}).GetTtlMs(); got != s.want {
			t.Errorf("step %d: ServeGet(Tom).TtlMs = %d, want %d", i, got, s.want)
		}
	}

	g.ServeWrite(ctx, &pb.WriteRequest{Key: "Sam", Op: pb.WriteRequest_OP_SET, Value: []byte("600")})
	if got := g.ServeGet(ctx, &pb.GetRequest{Key: "Sam"}).GetTtlMs(); got != 0 {
		t.Errorf("ServeGet(Sam).TtlMs of a value with no expiry = %d, want 0", got)
	}
}

func TestServeGetMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, db := serveGroup(t, group.Config{})
	keys := []string{"Tom", "Kate", "", "Sam", "err", "Tom"}
	got := g.ServeGetMany(ctx, &pb.GetManyRequest{Keys: toBytes(keys)}).GetResults()
	want := []*pb.GetResponse{
		{Value: []byte("630")}, {NotFound: true}, {NotFound: true},
		{Value: []byte("567")}, {OriginError: "boom"}, {Value: []byte("630")},
	}
	if len(got) != len(want) {
		t.Fatalf("ServeGetMany(%q) returned %d results, want %d", keys, len(got), len(want))
	}
	for i := range want {
		checkResponse(t, "ServeGetMany(...)["+keys[i]+"]", got[i], want[i])
	}
	if n := db.Calls("Tom"); n != 1 {
		t.Errorf("the Getter ran %d times for Tom, asked twice in one batch, want 1", n)
	}
	if n := g.Stats.ServerRequests.Load(); n != int64(len(keys)) {
		t.Errorf("Stats.ServerRequests = %d, want %d", n, len(keys))
	}

	// A peek answers from memory only.
	keys = []string{"Tom", "Jack"}
	got = g.ServeGetMany(ctx, &pb.GetManyRequest{Keys: toBytes(keys), Peek: true}).GetResults()
	want = []*pb.GetResponse{{Value: []byte("630")}, {NotFound: true}}
	for i := range want {
		checkResponse(t, "ServeGetMany(peek)["+keys[i]+"]", got[i], want[i])
	}
	if n := db.Calls("Jack"); n != 0 {
		t.Errorf("a peek called the Getter %d times for Jack, want 0", n)
	}
}

// TestServeWriteOwned checks the writes a peer sends to the owner of a key.
func TestServeWriteOwned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, db := serveGroup(t, group.Config{})
	steps := []struct {
		req  *pb.WriteRequest
		want *pb.WriteResponse
		get  string // the value Get returns afterwards
	}{
		{&pb.WriteRequest{Key: "Tom", Op: pb.WriteRequest_OP_SET, Value: []byte("41")}, &pb.WriteResponse{Applied: true}, "41"},
		{&pb.WriteRequest{Key: "Tom", Op: pb.WriteRequest_OP_INCR, Delta: 1}, &pb.WriteResponse{IntValue: 42}, "42"},
		{&pb.WriteRequest{Key: "Tom", Op: pb.WriteRequest_OP_DELETE}, &pb.WriteResponse{Count: 1}, "630"},
		{&pb.WriteRequest{Key: "Jack", Op: pb.WriteRequest_OP_DELETE}, &pb.WriteResponse{}, "589"},
		{&pb.WriteRequest{Key: "Sam", Op: pb.WriteRequest_OP_SET, Value: []byte("x")}, &pb.WriteResponse{Applied: true}, "x"},
		{&pb.WriteRequest{Key: "Sam", Op: pb.WriteRequest_OP_INCR, Delta: 1}, &pb.WriteResponse{Error: pb.WriteResponse_ERROR_NOT_INTEGER}, "x"},
		// A SET that expired as it was written (a past EXAT): the old
		// value back, and the key gone, so the next Get loads it.
		{&pb.WriteRequest{Key: "Sam", Op: pb.WriteRequest_OP_SET, Value: []byte("y"), TtlMs: -1, Get: true}, &pb.WriteResponse{Applied: true, Found: true, Value: []byte("x")}, "567"},
		{&pb.WriteRequest{Key: "Sam", Op: pb.WriteRequest_OP_SET, Value: []byte("y"), TtlMs: -1, Cond: pb.WriteRequest_COND_NX}, &pb.WriteResponse{}, "567"},
		// A condition this node does not know (from a newer one) refuses.
		{&pb.WriteRequest{Key: "Tom", Op: pb.WriteRequest_OP_EXPIRE, TtlMs: 1000, Cond: 99}, &pb.WriteResponse{}, "630"},
	}
	for _, s := range steps {
		if got := g.ServeWrite(ctx, s.req); !proto.Equal(got, s.want) {
			t.Errorf("ServeWrite(%v) = %v, want %v", s.req, got, s.want)
		}
		if v := g.ServeGet(ctx, &pb.GetRequest{Key: s.req.GetKey()}); string(v.GetValue()) != s.get {
			t.Errorf("after ServeWrite(%v), ServeGet(%q) = %v, want %q", s.req, s.req.GetKey(), v, s.get)
		}
	}
	if n := db.Calls("Tom"); n != 1 {
		t.Errorf("the Getter ran %d times for Tom, want 1 (after DELETE)", n)
	}
}

// TestServeWriteDrop checks the invalidations: DROP removes this node's hot
// and main copies of a key, FLUSH empties both caches.
func TestServeWriteDrop(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) *group.Group {
		// hot is owned by a peer and kept as a hot copy; Tom and Sam are
		// owned here.
		peer := valuesPeer(map[string]string{"hot": "copy"})
		g := newTestGroup(t, group.Config{
			Name: "drop", Getter: newOrigin(scores), HotProbability: 1, Rand: func() float64 { return 0 },
		})
		g.RegisterPeers(&picker{owner: func(key string) group.PeerGetter {
			if key == "hot" {
				return peer
			}
			return nil
		}})
		mustGet(t, g, "hot", "copy")
		mustGet(t, g, "Tom", "630")
		mustGet(t, g, "Sam", "567")
		if h, m := g.CacheStats(group.HotCache).Items, g.CacheStats(group.MainCache).Items; h != 1 || m != 2 {
			t.Fatalf("CacheStats Items = hot %d, main %d, want 1, 2", h, m)
		}
		return g
	}
	tests := []struct {
		name              string
		reqs              []*pb.WriteRequest
		wantHot, wantMain int64
	}{
		{"drop hot copy", []*pb.WriteRequest{{Key: "hot", Op: pb.WriteRequest_OP_DROP}}, 0, 2},
		{"drop main copy", []*pb.WriteRequest{{Key: "Tom", Op: pb.WriteRequest_OP_DROP}}, 1, 1},
		{"drop missing key", []*pb.WriteRequest{{Key: "Kate", Op: pb.WriteRequest_OP_DROP}}, 1, 2},
		{"flush", []*pb.WriteRequest{{Op: pb.WriteRequest_OP_FLUSH}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := setup(t)
			for _, req := range tt.reqs {
				if res := g.ServeWrite(context.Background(), req); !proto.Equal(res, &pb.WriteResponse{}) {
					t.Errorf("ServeWrite(%v) = %v, want an empty response", req, res)
				}
			}
			if h, m := g.CacheStats(group.HotCache).Items, g.CacheStats(group.MainCache).Items; h != tt.wantHot || m != tt.wantMain {
				t.Errorf("CacheStats Items = hot %d, main %d, want %d, %d", h, m, tt.wantHot, tt.wantMain)
			}
		})
	}
}

// toBytes converts keys to the wire's [][]byte.
func toBytes(keys []string) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	return out
}
