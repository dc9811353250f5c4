package group_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// fakePeer is a PeerGetter standing in for a remote node. get answers Get,
// and each key of GetMany unless getMany is set; write answers Write (nil:
// an empty response). It records what it was asked and is safe for
// concurrent use.
type fakePeer struct {
	get     func(*pb.GetRequest) (*pb.GetResponse, error)
	getMany func(*pb.GetManyRequest) (*pb.GetManyResponse, error)
	write   func(*pb.WriteRequest) (*pb.WriteResponse, error)

	gets, getManys atomic.Int64

	mu        sync.Mutex // guards getReqs, manyReqs and writeReqs
	getReqs   []*pb.GetRequest
	manyReqs  []*pb.GetManyRequest
	writeReqs []*pb.WriteRequest
}

func (p *fakePeer) Get(_ context.Context, in *pb.GetRequest) (*pb.GetResponse, error) {
	p.gets.Add(1)
	p.mu.Lock()
	p.getReqs = append(p.getReqs, in)
	p.mu.Unlock()
	return p.get(in)
}

func (p *fakePeer) GetMany(_ context.Context, in *pb.GetManyRequest) (*pb.GetManyResponse, error) {
	p.getManys.Add(1)
	p.mu.Lock()
	p.manyReqs = append(p.manyReqs, in)
	p.mu.Unlock()
	if p.getMany != nil {
		return p.getMany(in)
	}
	out := &pb.GetManyResponse{}
	for _, key := range in.GetKeys() {
		res, err := p.get(&pb.GetRequest{Group: in.GetGroup(), Key: string(key), Peek: in.GetPeek()})
		if err != nil {
			return nil, err
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

func (p *fakePeer) Write(_ context.Context, in *pb.WriteRequest) (*pb.WriteResponse, error) {
	p.mu.Lock()
	p.writeReqs = append(p.writeReqs, in)
	p.mu.Unlock()
	if p.write == nil {
		return &pb.WriteResponse{}, nil
	}
	return p.write(in)
}

// writes returns the write requests the peer received.
func (p *fakePeer) writes() []*pb.WriteRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.writeReqs)
}

// valuesPeer returns a peer that owns values: it answers with the value of a
// key, or not-found.
func valuesPeer(values map[string]string) *fakePeer {
	return &fakePeer{get: func(in *pb.GetRequest) (*pb.GetResponse, error) {
		v, ok := values[in.GetKey()]
		if !ok {
			return &pb.GetResponse{NotFound: true}, nil
		}
		return &pb.GetResponse{Value: []byte(v)}, nil
	}}
}

// fixedPeer returns a peer that answers every Get with res and err.
func fixedPeer(res *pb.GetResponse, err error) *fakePeer {
	return &fakePeer{get: func(*pb.GetRequest) (*pb.GetResponse, error) { return res, err }}
}

// picker is a PeerPicker: owner names the node that owns a key (nil owner, or
// a nil result: this node), and peers are the other nodes.
type picker struct {
	owner func(key string) group.PeerGetter
	peers []group.PeerGetter
}

func (p *picker) PickPeer(key string) (group.PeerGetter, bool) {
	if p.owner == nil {
		return nil, false
	}
	if o := p.owner(key); o != nil {
		return o, true
	}
	return nil, false
}

func (p *picker) Peers() []group.PeerGetter { return p.peers }

// ownedBy returns a picker under which peer owns every key.
func ownedBy(peer *fakePeer) *picker {
	return &picker{owner: func(string) group.PeerGetter { return peer }, peers: []group.PeerGetter{peer}}
}

func isNotFound(err error) bool { return errors.Is(err, group.ErrNotFound) }

// TestGetFromPeer checks each kind of answer from the owner of a key. Only a
// transport failure makes this node call its own Getter.
func TestGetFromPeer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		peer           *fakePeer
		want           string
		wantErr        func(error) bool // nil: want no error
		wantCalls      int              // of the local Getter
		wantPeerLoads  int64
		wantPeerErrors int64
	}{
		{"value", fixedPeer(&pb.GetResponse{Value: []byte("630")}, nil), "630", nil, 0, 1, 0},
		{"not found", fixedPeer(&pb.GetResponse{NotFound: true}, nil), "", isNotFound, 0, 1, 0},
		{"origin error", fixedPeer(&pb.GetResponse{OriginError: "db down"}, nil), "", func(err error) bool {
			var oe *group.OriginError
			return errors.As(err, &oe) && oe.Msg == "db down" && !isNotFound(err)
		}, 0, 1, 0},
		{"transport error", fixedPeer(nil, errBoom), "630", nil, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newOrigin(scores)
			g := newTestGroup(t, group.Config{Name: "peer", Getter: db, HotProbability: -1})
			g.RegisterPeers(ownedBy(tt.peer))

			v, err := g.Get(context.Background(), "Tom")
			if tt.wantErr == nil && (err != nil || v.String() != tt.want) {
				t.Errorf("Get(%q) = %q, %v, want %q, <nil>", "Tom", v, err, tt.want)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Errorf("Get(%q) = %q, %v, want a %s error", "Tom", v, err, tt.name)
			}
			if n := db.Calls("Tom"); n != tt.wantCalls {
				t.Errorf("the local Getter ran %d times, want %d", n, tt.wantCalls)
			}
			if n := tt.peer.gets.Load(); n != 1 {
				t.Errorf("the peer was asked %d times, want 1", n)
			}
			if req := tt.peer.getReqs[0]; req.GetGroup() != "peer" || req.GetKey() != "Tom" || req.GetPeek() {
				t.Errorf("the peer got %v, want group peer, key Tom, no peek", req)
			}
			if got := g.Stats.PeerLoads.Load(); got != tt.wantPeerLoads {
				t.Errorf("Stats.PeerLoads = %d, want %d", got, tt.wantPeerLoads)
			}
			if got := g.Stats.PeerErrors.Load(); got != tt.wantPeerErrors {
				t.Errorf("Stats.PeerErrors = %d, want %d", got, tt.wantPeerErrors)
			}
			if got := g.CacheStats(group.MainCache).Items; got != 0 {
				t.Errorf("CacheStats(MainCache).Items = %d, want 0: this node does not own the key", got)
			}
		})
	}
}

// TestHotCacheSampling checks the hot-copy decision for a key fetched
// once: a value fetched from a peer is kept when Rand() < HotProbability,
// and never when HotProbability is negative. (HotRandomOnly, so that the
// second fetch is not kept for being a second: TestHotCacheRepeat.)
func TestHotCacheSampling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		prob, rnd float64
		wantHot   bool
	}{
		{"always", 1, 0.999, true},
		{"below", 0.5, 0.49, true},
		{"at", 0.5, 0.5, false},
		{"above", 0.5, 0.51, false},
		{"disabled", -1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peer := valuesPeer(scores)
			g := newTestGroup(t, group.Config{
				Name: "hot", Getter: newOrigin(nil),
				HotProbability: tt.prob, Rand: func() float64 { return tt.rnd }, HotRandomOnly: true,
			})
			g.RegisterPeers(ownedBy(peer))
			mustGet(t, g, "Tom", "630")
			mustGet(t, g, "Tom", "630")

			wantGets, wantItems := int64(2), int64(0)
			if tt.wantHot {
				wantGets, wantItems = 1, 1
			}
			if n := peer.gets.Load(); n != wantGets {
				t.Errorf("after two Gets, the peer was asked %d times, want %d", n, wantGets)
			}
			if n := g.CacheStats(group.HotCache).Items; n != wantItems {
				t.Errorf("CacheStats(HotCache).Items = %d, want %d", n, wantItems)
			}
		})
	}
}

// TestHotCacheRepeat checks with a fake clock that a value fetched from
// its owner again within one to two HotTTLs is kept as a hot copy whatever
// Rand says, that one fetched once, or again only after two HotTTLs, is
// not, and that neither HotRandomOnly nor a disabled hot cache keeps one.
func TestHotCacheRepeat(t *testing.T) {
	t.Parallel()
	const hotTTL = 10 * time.Second
	tests := []struct {
		name       string
		prob       float64
		randomOnly bool
		gap        time.Duration // between the first two fetches
		wantGets   int64         // of the peer, after three Gets
		wantItems  int64
	}{
		{"again at once", 0.5, false, 0, 2, 1},
		{"again within HotTTL", 0.5, false, hotTTL - time.Second, 2, 1},
		{"again after two HotTTLs", 0.5, false, 2 * hotTTL, 3, 1}, // kept at the third
		{"random only", 0.5, true, 0, 3, 0},
		{"disabled", -1, false, 0, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			peer := valuesPeer(scores)
			g := newTestGroup(t, group.Config{
				Name: "hot", Getter: newOrigin(nil), Now: clk.Now, HotTTL: hotTTL,
				HotProbability: tt.prob, HotRandomOnly: tt.randomOnly,
				Rand: func() float64 { return 0.99 }, // never by chance
			})
			g.RegisterPeers(ownedBy(peer))
			mustGet(t, g, "Tom", "630")
			if n := g.CacheStats(group.HotCache).Items; n != 0 {
				t.Fatalf("after one fetch, CacheStats(HotCache).Items = %d, want 0", n)
			}
			clk.Advance(tt.gap)
			mustGet(t, g, "Tom", "630")
			mustGet(t, g, "Tom", "630")
			if n := peer.gets.Load(); n != tt.wantGets {
				t.Errorf("after three Gets, the peer was asked %d times, want %d", n, tt.wantGets)
			}
			if n := g.CacheStats(group.HotCache).Items; n != tt.wantItems {
				t.Errorf("CacheStats(HotCache).Items = %d, want %d", n, tt.wantItems)
			}
		})
	}
}

// TestHotCacheExpiry checks with a fake clock that a hot copy lives for
// HotTTL, and never longer than the owner's copy.
func TestHotCacheExpiry(t *testing.T) {
	t.Parallel()
	const hotTTL = 10 * time.Second
	tests := []struct {
		name     string
		ownerTTL time.Duration // sent by the owner; zero: never expires
		wantLife time.Duration
	}{
		{"owner never expires", 0, hotTTL},
		{"owner expires later", time.Minute, hotTTL},
		{"owner expires sooner", 2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			peer := fixedPeer(&pb.GetResponse{Value: []byte("630"), TtlMs: tt.ownerTTL.Milliseconds()}, nil)
			g := newTestGroup(t, group.Config{
				Name: "hot", Getter: newOrigin(nil), Now: clk.Now,
				HotTTL: hotTTL, HotProbability: 1, Rand: func() float64 { return 0 },
			})
			g.RegisterPeers(ownedBy(peer))

			mustGet(t, g, "Tom", "630")
			clk.Advance(tt.wantLife - time.Nanosecond)
			mustGet(t, g, "Tom", "630")
			if n := peer.gets.Load(); n != 1 {
				t.Errorf("%v after the fetch, the peer was asked %d times, want 1", tt.wantLife-time.Nanosecond, n)
			}
			clk.Advance(time.Nanosecond)
			mustGet(t, g, "Tom", "630")
			if n := peer.gets.Load(); n != 2 {
				t.Errorf("%v after the fetch, the peer was asked %d times, want 2", tt.wantLife, n)
			}
		})
	}
}

// TestPeerFallbackHotCopy checks what this node keeps of a value it loaded
// itself because the owner was unreachable: a hot copy for HotTTL, so the
// owner's copy wins once it is back, and nothing when the hot cache is
// disabled.
func TestPeerFallbackHotCopy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prob    float64
		wantHot bool
	}{
		{"hot cache", 0.5, true},
		{"hot cache disabled", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			db := newOrigin(scores)
			peer := fixedPeer(nil, errBoom)
			g := newTestGroup(t, group.Config{
				Name: "fallback", Getter: db, Now: clk.Now, HotTTL: time.Second,
				HotProbability: tt.prob, Rand: func() float64 { return 0.99 },
			})
			g.RegisterPeers(ownedBy(peer))

			mustGet(t, g, "Tom", "630")
			wantItems := int64(0)
			if tt.wantHot {
				wantItems = 1
			}
			if n := g.CacheStats(group.HotCache).Items; n != wantItems {
				t.Errorf("CacheStats(HotCache).Items = %d, want %d", n, wantItems)
			}
			if n := g.CacheStats(group.MainCache).Items; n != 0 {
				t.Errorf("CacheStats(MainCache).Items = %d, want 0", n)
			}
			mustGet(t, g, "Tom", "630")
			wantGets := int64(2)
			if tt.wantHot {
				wantGets = 1
			}
			if n := peer.gets.Load(); n != wantGets {
				t.Errorf("after two Gets, the peer was asked %d times, want %d", n, wantGets)
			}
			clk.Advance(time.Second)
			mustGet(t, g, "Tom", "630")
			if n := peer.gets.Load(); n != wantGets+1 {
				t.Errorf("after HotTTL, the peer was asked %d times, want %d", n, wantGets+1)
			}
		})
	}
}

// TestPeerDedup starts 100 Gets of a key a peer owns while the peer's answer
// is held; they share one request.
func TestPeerDedup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		peer := &fakePeer{get: func(*pb.GetRequest) (*pb.GetResponse, error) {
			<-release
			return &pb.GetResponse{Value: []byte("630")}, nil
		}}
		db := newOrigin(scores)
		g := newTestGroup(t, group.Config{Name: "peerdedup", Getter: db, HotProbability: -1})
		g.RegisterPeers(ownedBy(peer))

		const n = 100
		errs := make(chan error, n)
		for range n {
			go func() {
				v, err := g.Get(context.Background(), "Tom")
				if err == nil && v.String() != "630" {
					err = errors.New("got " + v.String())
				}
				errs <- err
			}()
		}
		synctest.Wait()
		close(release)
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("Get(%q) = %v, want %q", "Tom", err, "630")
			}
		}
		if got := peer.gets.Load(); got != 1 {
			t.Errorf("the peer was asked %d times, want 1", got)
		}
		if got := db.Total(); got != 0 {
			t.Errorf("the local Getter ran %d times, want 0", got)
		}
		if got := g.Stats.PeerLoads.Load(); got != 1 {
			t.Errorf("Stats.PeerLoads = %d, want 1", got)
		}
	})
}

// TestOwnerFetchInline checks the fetch a caller runs on its own goroutine
// (its ctx can wait as long as a load may take): the peer is asked on that
// goroutine, a joiner whose ctx is canceled still leaves at once, and the
// fetch goes on to give the first caller its value.
func TestOwnerFetchInline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		peerG := make(chan uint64, 1)
		peer := &fakePeer{get: func(*pb.GetRequest) (*pb.GetResponse, error) {
			peerG <- goroutineID()
			close(started)
			<-release
			return &pb.GetResponse{Value: []byte("630")}, nil
		}}
		g := newTestGroup(t, group.Config{Name: "inline", Getter: newOrigin(scores), HotProbability: -1})
		g.RegisterPeers(ownedBy(peer))

		type result struct {
			v   group.ByteView
			err error
			g   uint64
		}
		done1 := make(chan result, 1)
		go func() {
			v, err := g.Get(context.Background(), "Tom")
			done1 <- result{v, err, goroutineID()}
		}()
		<-started

		// A deadline past the load's, as caller 1's: caller 2 would run
		// a fetch itself, but joins the one in flight.
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Hour)
		defer cancel2()
		done2 := goGet(g, ctx2, "Tom", "630")
		synctest.Wait() // caller 2 has joined the fetch
		cancel2()
		if err := <-done2; !errors.Is(err, context.Canceled) {
			t.Errorf("caller 2: Get(%q) error = %v, want one wrapping context.Canceled", "Tom", err)
		}
		close(release)
		r := <-done1
		if r.err != nil || r.v.String() != "630" {
			t.Errorf("caller 1: Get(%q) = %q, %v, want %q, <nil>", "Tom", r.v, r.err, "630")
		}
		if id := <-peerG; id != r.g {
			t.Errorf("the peer was asked on goroutine %d, want caller 1's (%d)", id, r.g)
		}
		if got := peer.gets.Load(); got != 1 {
			t.Errorf("the peer was asked %d times, want 1", got)
		}
	})
}

// TestOwnerFailedCallerLeaves checks that the Getter a failed fetch falls
// back to does not hold the caller that ran the fetch on its own
// goroutine: a Getter that ignores its ctx cannot keep a caller past its
// ctx, and the fallback still ends for the caller that waits.
func TestOwnerFailedCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		g := newTestGroup(t, group.Config{Name: "fallback-leave", HotProbability: -1, Getter: group.GetterFunc(
			func(context.Context, string) ([]byte, error) {
				calls.Add(1)
				close(started)
				<-release // ignores its ctx
				return []byte("630"), nil
			})})
		g.RegisterPeers(ownedBy(fixedPeer(nil, errBoom)))

		// A deadline past the load's: this caller runs the fetch itself.
		ctx1, cancel1 := context.WithTimeout(context.Background(), time.Hour)
		defer cancel1()
		done1 := goGet(g, ctx1, "Tom", "630")
		<-started
		done2 := goGet(g, context.Background(), "Tom", "630")
		synctest.Wait() // caller 2 has joined the fallback
		cancel1()
		if err := <-done1; !errors.Is(err, context.Canceled) {
			t.Errorf("caller 1: Get(%q) error = %v, want one wrapping context.Canceled", "Tom", err)
		}
		close(release)
		if err := <-done2; err != nil {
			t.Errorf("caller 2: Get(%q) = %v, want %q", "Tom", err, "630")
		}
		// Caller 2's own fetch failed too, and it joined the fallback in
		// flight rather than calling the Getter again.
		if got := g.Stats.PeerErrors.Load(); got != 2 {
			t.Errorf("Stats.PeerErrors = %d, want 2", got)
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("the Getter ran %d times, want 1", got)
		}
	})
}

// TestBatchFallbackBesideFailingFetch has a batch fail while a Get's fetch
// of one of its keys, from the same failing owner, is in flight: the
// batch's key falls back to the Getter, rather than joining that fetch and
// getting its failure, and so does the Get once its fetch fails.
func TestBatchFallbackBesideFailingFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		peer := &fakePeer{
			get: func(*pb.GetRequest) (*pb.GetResponse, error) {
				close(started)
				<-release
				return nil, errBoom
			},
			getMany: func(*pb.GetManyRequest) (*pb.GetManyResponse, error) { return nil, errBoom },
		}
		g := newTestGroup(t, group.Config{Name: "batch-beside", Getter: newOrigin(scores), HotProbability: -1})
		g.RegisterPeers(ownedBy(peer))

		done1 := goGet(g, context.Background(), "Tom", "630")
		<-started
		res := g.GetMany(context.Background(), []string{"Tom"})
		if res[0].Err != nil || res[0].Value.String() != "630" {
			t.Errorf("GetMany(Tom) beside a failing fetch = %q, %v, want %q, <nil>", res[0].Value, res[0].Err, "630")
		}
		close(release)
		if err := <-done1; err != nil {
			t.Errorf("Get(%q) = %v, want %q", "Tom", err, "630")
		}
	})
}

// goGet runs g.Get(ctx, key) on a goroutine of its own and sends its error
// on the channel returned, or an error saying what it got instead of want.
func goGet(g *group.Group, ctx context.Context, key, want string) <-chan error {
	done := make(chan error, 1)
	go func() {
		v, err := g.Get(ctx, key)
		if err == nil && v.String() != want {
			err = fmt.Errorf("got %q", v)
		}
		done <- err
	}()
	return done
}

// goroutineID returns the id of the calling goroutine, from the first line
// of its stack trace ("goroutine 7 [running]:").
func goroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(f[1], 10, 64)
	return id
}

// byPrefix returns an owner function that gives a key to the peer named by
// its first byte, or to this node.
func byPrefix(peers map[byte]group.PeerGetter) func(string) group.PeerGetter {
	return func(key string) group.PeerGetter { return peers[key[0]] }
}

type wantResult struct {
	value string
	err   error // checked with errors.Is
}

func checkResults(t *testing.T, keys []string, got []group.Result, want []wantResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("GetMany(%q) returned %d results, want %d", keys, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if w.err == nil && (g.Err != nil || g.Value.String() != w.value) {
			t.Errorf("GetMany(...)[%d] (%q) = %q, %v, want %q, <nil>", i, keys[i], g.Value, g.Err, w.value)
		}
		if w.err != nil && !errors.Is(g.Err, w.err) {
			t.Errorf("GetMany(...)[%d] (%q) = %q, %v, want error %v", i, keys[i], g.Value, g.Err, w.err)
		}
	}
}

// TestGetMany spreads keys over this node and two peers: each peer gets one
// batch with its keys in order, and the results come back in request order.
func TestGetMany(t *testing.T) {
	t.Parallel()
	peerA := valuesPeer(map[string]string{"a1": "A1", "a2": "A2"})
	peerB := valuesPeer(map[string]string{"b1": "B1"})
	db := newOrigin(map[string]string{"l1": "L1"})
	g := newTestGroup(t, group.Config{Name: "many", Getter: db, HotProbability: -1})
	g.RegisterPeers(&picker{
		owner: byPrefix(map[byte]group.PeerGetter{'a': peerA, 'b': peerB}),
		peers: []group.PeerGetter{peerA, peerB},
	})

	keys := []string{"a1", "l1", "b1", "", "a2", "b2", "l2"}
	got := g.GetMany(context.Background(), keys)
	checkResults(t, keys, got, []wantResult{
		{"A1", nil}, {"L1", nil}, {"B1", nil}, {"", group.ErrEmptyKey},
		{"A2", nil}, {"", group.ErrNotFound}, {"", group.ErrNotFound},
	})

	for _, p := range []struct {
		name     string
		peer     *fakePeer
		wantKeys []string
	}{
		{"a", peerA, []string{"a1", "a2"}},
		{"b", peerB, []string{"b1", "b2"}},
	} {
		if n, m := p.peer.getManys.Load(), p.peer.gets.Load(); n != 1 || m != 0 {
			t.Errorf("peer %s got %d GetMany and %d Get calls, want 1 and 0", p.name, n, m)
			continue
		}
		if req := p.peer.manyReqs[0]; req.GetGroup() != "many" || !slices.Equal(keyStrings(req.GetKeys()), p.wantKeys) {
			t.Errorf("peer %s got GetMany(group %q, keys %q), want group many, keys %q", p.name, req.GetGroup(), req.GetKeys(), p.wantKeys)
		}
	}
	if n, m := db.Calls("l1"), db.Calls("l2"); n != 1 || m != 1 {
		t.Errorf("the local Getter ran %d times for l1 and %d for l2, want 1 and 1", n, m)
	}

	// l1 is now cached here; the peers' keys are not (no hot cache).
	got = g.GetMany(context.Background(), []string{"l1", "a1"})
	checkResults(t, keys, got, []wantResult{{"L1", nil}, {"A1", nil}})
	if n := db.Calls("l1"); n != 1 {
		t.Errorf("the local Getter ran %d times for cached l1, want 1", n)
	}
}

// TestGetManyFallback checks that a failed batch (a transport error or a
// malformed answer) loads each of its keys with the local Getter, in
// parallel, instead of asking the failing owner again key by key.
func TestGetManyFallback(t *testing.T) {
	t.Parallel()
	owner := map[string]string{"b1": "B1"}
	local := []wantResult{{"local-B1", nil}, {"", group.ErrNotFound}}
	tests := []struct {
		name           string
		peer           *fakePeer
		want           []wantResult
		wantGets       int64 // single Gets sent to the peer
		wantLocal      int   // local Getter calls
		wantPeerErrors int64
	}{
		{
			name: "batch fails",
			peer: func() *fakePeer {
				p := valuesPeer(owner)
				p.getMany = func(*pb.GetManyRequest) (*pb.GetManyResponse, error) { return nil, errBoom }
				return p
			}(),
			want:           local,
			wantLocal:      2,
			wantPeerErrors: 1,
		},
		{
			name: "short answer",
			peer: func() *fakePeer {
				p := valuesPeer(owner)
				p.getMany = func(*pb.GetManyRequest) (*pb.GetManyResponse, error) {
					return &pb.GetManyResponse{Results: []*pb.GetResponse{{Value: []byte("B1")}}}, nil
				}
				return p
			}(),
			want:           local,
			wantLocal:      2,
			wantPeerErrors: 1,
		},
		{
			name:           "peer down",
			peer:           fixedPeer(nil, errBoom),
			want:           local,
			wantLocal:      2,
			wantPeerErrors: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newOrigin(map[string]string{"b1": "local-B1"})
			g := newTestGroup(t, group.Config{Name: "many", Getter: db, HotProbability: -1})
			g.RegisterPeers(ownedBy(tt.peer))

			keys := []string{"b1", "b2"}
			checkResults(t, keys, g.GetMany(context.Background(), keys), tt.want)
			if n := tt.peer.getManys.Load(); n != 1 {
				t.Errorf("the peer got %d GetMany calls, want 1", n)
			}
			if n := tt.peer.gets.Load(); n != tt.wantGets {
				t.Errorf("the peer got %d Get calls, want %d", n, tt.wantGets)
			}
			if n := db.Total(); n != tt.wantLocal {
				t.Errorf("the local Getter ran %d times, want %d", n, tt.wantLocal)
			}
			if n := g.Stats.PeerErrors.Load(); n != tt.wantPeerErrors {
				t.Errorf("Stats.PeerErrors = %d, want %d", n, tt.wantPeerErrors)
			}
			// Each key is loaded once, however the batch ended.
			if n := g.Stats.LoadsDeduped.Load(); n != int64(len(keys)) {
				t.Errorf("Stats.LoadsDeduped = %d, want %d", n, len(keys))
			}
		})
	}
}

// TestRegisterPeersPanics checks the programmer errors of RegisterPeers: a
// nil picker, and a second call.
func TestRegisterPeersPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		register func(*group.Group)
		want     string // in the panic message
	}{
		{"nil", func(g *group.Group) { g.RegisterPeers(nil) }, "group: nil PeerPicker for peers"},
		{"twice", func(g *group.Group) {
			g.RegisterPeers(group.NoPeers{})
			g.RegisterPeers(group.NoPeers{})
		}, "group: RegisterPeers called more than once for peers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGroup(t, group.Config{Name: "peers", Getter: newOrigin(scores)})
			func() {
				defer func() {
					if msg, _ := recover().(string); !strings.Contains(msg, tt.want) {
						t.Errorf("RegisterPeers panicked with %q, want %q", msg, tt.want)
					}
				}()
				tt.register(g)
			}()
		})
	}
}

// TestNoPeers checks that under NoPeers this node owns every key.
func TestNoPeers(t *testing.T) {
	t.Parallel()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "nopeers", Getter: db})
	g.RegisterPeers(group.NoPeers{})
	mustGet(t, g, "Tom", "630")
	if err := g.Set(context.Background(), "Jack", []byte("600"), 0); err != nil {
		t.Errorf("Set(%q) = %v, want <nil>", "Jack", err)
	}
	mustGet(t, g, "Jack", "600")
	if n := g.CacheStats(group.MainCache).Items; n != 2 {
		t.Errorf("CacheStats(MainCache).Items = %d, want 2", n)
	}
}

// keyStrings converts the keys of a GetManyRequest to strings.
func keyStrings(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}

// TestGetManyKeepsWhatAGetKeeps checks that a batch keeps what single Gets
// of its keys would: the owner's "not found" as a negative entry (the next
// batch does not ask again) and, with HotProbability 1, its values as hot
// copies; and that a remembered "not found" is answered without a fetch.
func TestGetManyKeepsWhatAGetKeeps(t *testing.T) {
	t.Parallel()
	peer := valuesPeer(map[string]string{"a1": "A1"})
	g := newTestGroup(t, group.Config{Name: "keeps", Getter: newOrigin(nil), HotProbability: 1})
	g.RegisterPeers(&picker{
		owner: byPrefix(map[byte]group.PeerGetter{'a': peer}),
		peers: []group.PeerGetter{peer},
	})
	keys := []string{"a1", "a2"}
	for round := range 2 {
		got := g.GetMany(context.Background(), keys)
		checkResults(t, keys, got, []wantResult{{"A1", nil}, {"", group.ErrNotFound}})
		if n := peer.getManys.Load() + peer.gets.Load(); n != 1 {
			t.Errorf("round %d: the owner was asked %d times, want once (a hot copy and a negative entry after the first)", round, n)
		}
	}
	if n := g.Stats.NegativeHits.Load(); n != 1 {
		t.Errorf("NegativeHits = %d, want 1 (a2 in the second batch)", n)
	}
}
