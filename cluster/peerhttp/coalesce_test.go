package peerhttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// roundTripFunc serves requests in process, so that a Pool can run inside
// a synctest bubble.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serveInProcess returns a transport that answers with h.
func serveInProcess(h http.Handler) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})
}

// batchMember plays a member that answers "v:"+key to GETs (after gate
// is closed) and to GetManys (at once, or with 500 when failBatches), and
// records what it was asked.
type batchMember struct {
	gate        chan struct{}
	failBatches bool

	mu       sync.Mutex // guards gets and batches
	gets     []string   // the key of each GET
	batches  [][]string // the keys of each GetMany
	attempts int        // GetManys, failed ones included
}

func (m *batchMember) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(headerContentType, contentType)
	if r.Method == http.MethodGet {
		key, _ := url.PathUnescape(path.Base(r.URL.EscapedPath()))
		m.mu.Lock()
		m.gets = append(m.gets, key)
		m.mu.Unlock()
		<-m.gate
		b, _ := proto.Marshal(&pb.GetResponse{Value: []byte("v:" + key)})
		_, _ = w.Write(b)
		return
	}
	m.mu.Lock()
	m.attempts++
	m.mu.Unlock()
	if m.failBatches {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	in := new(pb.GetManyRequest)
	_ = proto.Unmarshal(body, in)
	out := new(pb.GetManyResponse)
	var keys []string
	for _, k := range in.Keys {
		keys = append(keys, string(k))
		out.Results = append(out.Results, &pb.GetResponse{Value: []byte("v:" + string(k))})
	}
	m.mu.Lock()
	m.batches = append(m.batches, keys)
	m.mu.Unlock()
	b, _ := proto.Marshal(out)
	_, _ = w.Write(b)
}

// newBatchPeer returns the client for a batchMember.
func newBatchPeer(t *testing.T, m *batchMember) *peer {
	t.Helper()
	p, err := New("http://self:1", Config{Transport: serveInProcess(m), DisableStreams: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.Set("http://self:1", "http://member:1")
	return p.state.Load().clients["http://member:1"]
}

// TestCoalesce holds coalesceInflight GETs at the member, lets more Gets
// queue behind them, and checks that those go in GetManys of at most
// maxCoalesce keys, each Get getting its own value.
func TestCoalesce(t *testing.T) {
	for _, queued := range []int{1, 5, maxCoalesce + 3} {
		t.Run(strconv.Itoa(queued), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &batchMember{gate: make(chan struct{})}
				c := newBatchPeer(t, m)
				ctx := context.Background()
				var wg sync.WaitGroup
				get := func(key string) {
					wg.Go(func() {
						res, err := c.Get(ctx, &pb.GetRequest{Group: "g", Key: key})
						if err != nil || string(res.GetValue()) != "v:"+key {
							t.Errorf("Get(%q) = %q, %v; want %q", key, res.GetValue(), err, "v:"+key)
						}
					})
					synctest.Wait() // the Get is at the member or queued
				}
				for i := range coalesceInflight {
					get("held-" + strconv.Itoa(i))
				}
				for i := range queued {
					get("queued-" + strconv.Itoa(i))
				}
				close(m.gate)
				wg.Wait()

				wantGets := coalesceInflight // the held ones
				if queued == 1 {
					wantGets++ // and the lone queued one
				}
				if len(m.gets) != wantGets {
					t.Errorf("GETs = %q, want %d", m.gets, wantGets)
				}
				// The queued Gets, in order, split into batches of at
				// most maxCoalesce; a lone one goes as a GET.
				var want [][]string
				if queued > 1 {
					for i := 0; i < queued; i += maxCoalesce {
						var keys []string
						for j := i; j < min(queued, i+maxCoalesce); j++ {
							keys = append(keys, "queued-"+strconv.Itoa(j))
						}
						want = append(want, keys)
					}
				}
				if !equalBatches(m.batches, want) {
					t.Errorf("GetManys = %d %q, want %d %q", len(m.batches), m.batches, len(want), want)
				}
			})
		})
	}
}

// equalBatches compares batches as sets of keys, in order of their first
// key: the last batch may be sent before an earlier one when slots free.
func equalBatches(got, want [][]string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, b := range got {
		for _, k := range b {
			seen[k]++
		}
	}
	for _, b := range want {
		for _, k := range b {
			if seen[k] != 1 {
				return false
			}
			delete(seen, k)
		}
	}
	return len(seen) == 0
}

// TestCoalesceFailure checks that a failed GetMany fails every Get in it
// with a transport error, and that a queued Get whose caller gives up
// returns at once while the batch goes on for the others.
func TestCoalesceFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &batchMember{gate: make(chan struct{}), failBatches: true}
		c := newBatchPeer(t, m)
		var wg sync.WaitGroup
		for i := range coalesceInflight {
			wg.Go(func() { _, _ = c.Get(context.Background(), &pb.GetRequest{Group: "g", Key: "held-" + strconv.Itoa(i)}) })
		}
		synctest.Wait()
		for i := range 3 {
			wg.Go(func() {
				if _, err := c.Get(context.Background(), &pb.GetRequest{Group: "g", Key: "queued-" + strconv.Itoa(i)}); err == nil {
					t.Errorf("Get in a failed batch = nil error, want one")
				}
			})
			synctest.Wait()
		}
		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error)
		go func() {
			_, err := c.Get(ctx, &pb.GetRequest{Group: "g", Key: "impatient"})
			gaveUp <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-gaveUp; err == nil {
			t.Errorf("Get after its caller gave up = nil error, want one")
		}
		close(m.gate)
		wg.Wait()
		if m.attempts != 1 {
			t.Errorf("GetManys = %d, want 1", m.attempts)
		}
	})
}

// TestCoalesceMaxWait holds coalesceInflight GETs at the member for good:
// a queued Get must go anyway after coalesceMaxWait.
func TestCoalesceMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &batchMember{gate: make(chan struct{})}
		c := newBatchPeer(t, m)
		var wg sync.WaitGroup
		for i := range coalesceInflight {
			wg.Go(func() { _, _ = c.Get(context.Background(), &pb.GetRequest{Group: "g", Key: "held-" + strconv.Itoa(i)}) })
		}
		synctest.Wait()
		start := time.Now()
		var queued sync.WaitGroup
		for i := range 3 {
			queued.Go(func() {
				key := "queued-" + strconv.Itoa(i)
				res, err := c.Get(context.Background(), &pb.GetRequest{Group: "g", Key: key})
				if err != nil || string(res.GetValue()) != "v:"+key {
					t.Errorf("Get(%q) = %q, %v; want %q", key, res.GetValue(), err, "v:"+key)
				}
			})
			synctest.Wait()
		}
		queued.Wait() // while the held GETs still are
		if d := time.Since(start); d != coalesceMaxWait {
			t.Errorf("queued Gets answered after %v, want %v", d, coalesceMaxWait)
		}
		if len(m.batches) != 1 || len(m.batches[0]) != 3 {
			t.Errorf("GetManys = %q, want one of the 3 queued keys", m.batches)
		}
		close(m.gate)
		wg.Wait()
		if c.co.inflight != 0 || len(c.co.queue) != 0 {
			t.Errorf("after all Gets: %d in flight, %d batches queued; want none", c.co.inflight, len(c.co.queue))
		}
	})
}

// TestCoalesceGetMany holds coalesceInflight GETs at the member and checks
// that GetManys queued behind them go in one GetMany with the queued Gets,
// each caller getting its own keys' values in its order; that a GetMany
// nobody joined goes as it came; that one of more than maxCoalesce keys
// goes at once; and that a batch takes no more than maxCoalesce keys.
func TestCoalesceGetMany(t *testing.T) {
	tests := []struct {
		name    string
		callers [][]string // one Get per lone key, one GetMany per longer list
		want    [][]string // the GetManys the member sees
	}{
		{"mixed", [][]string{{"a"}, {"b", "c"}, {"d"}, {"e", "f", "g"}}, [][]string{{"a", "b", "c", "d", "e", "f", "g"}}},
		{"alone", [][]string{{"b", "c"}}, [][]string{{"b", "c"}}},
		{"two GetManys", [][]string{{"b", "c"}, {"d", "e"}}, [][]string{{"b", "c", "d", "e"}}},
		{"over maxCoalesce", [][]string{{"a"}, keyRange("big", maxCoalesce+1)}, [][]string{keyRange("big", maxCoalesce+1)}},
		// The GetMany does not fit in a's batch: it waits in one of its
		// own, and a, whom nobody joined, goes as a GET.
		{"full batch", [][]string{{"a"}, keyRange("m", maxCoalesce)}, [][]string{keyRange("m", maxCoalesce)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &batchMember{gate: make(chan struct{})}
				c := newBatchPeer(t, m)
				ctx := context.Background()
				var wg sync.WaitGroup
				for i := range coalesceInflight {
					wg.Go(func() { _, _ = c.Get(ctx, &pb.GetRequest{Group: "g", Key: "held-" + strconv.Itoa(i)}) })
				}
				synctest.Wait()
				for _, keys := range tt.callers {
					wg.Go(func() {
						if len(keys) == 1 {
							res, err := c.Get(ctx, &pb.GetRequest{Group: "g", Key: keys[0]})
							if err != nil || string(res.GetValue()) != "v:"+keys[0] {
								t.Errorf("Get(%q) = %q, %v; want %q", keys[0], res.GetValue(), err, "v:"+keys[0])
							}
							return
						}
						in := &pb.GetManyRequest{Group: "g"}
						for _, k := range keys {
							in.Keys = append(in.Keys, []byte(k))
						}
						out, err := c.GetMany(ctx, in)
						if err != nil || len(out.GetResults()) != len(keys) {
							t.Errorf("GetMany(%q) = %d results, %v; want %d", keys, len(out.GetResults()), err, len(keys))
							return
						}
						for j, k := range keys {
							if got := string(out.GetResults()[j].GetValue()); got != "v:"+k {
								t.Errorf("GetMany(%q) result %d = %q, want %q", keys, j, got, "v:"+k)
							}
						}
					})
					synctest.Wait() // at the member, or queued
				}
				close(m.gate)
				wg.Wait()
				if !equalBatches(m.batches, tt.want) {
					t.Errorf("GetManys = %q, want %q", m.batches, tt.want)
				}
			})
		})
	}
}

// keyRange returns n keys: prefix-0, prefix-1, ...
func keyRange(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = prefix + "-" + strconv.Itoa(i)
	}
	return keys
}
