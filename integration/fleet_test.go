package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/ring"
	"github.com/rcache/rcache/internal/chromium"
	"github.com/redis/go-redis/v9"
)

// The fleet tests of issue 9: nodes that find each other by gossip, and
// what joins, leaves and deaths cost. Every answer is checked against the
// origin's true value; times are measured and logged, and asserted only
// against generous bounds, because the machine may be busy.

// Generous bounds on how long every live node takes to list the new
// membership after an event. memberlist's LAN settings take about 0.3 s to
// spread a graceful leave and about 6 s to declare a killed node dead.
const (
	joinBound  = 5 * time.Second
	leaveBound = 5 * time.Second
	killBound  = 20 * time.Second
)

// coldHot keeps (almost) no hot copies of peer-fetched values, which would
// hide from the origin counts where keys are loaded.
const coldHot = "    hot_ttl: 1m\n    hot_probability: 0.000001\n    hot_on_repeat: false\n"

// liveSet is the nodes a client loop sends GETs to; it is safe for
// concurrent use.
type liveSet struct {
	mu    sync.Mutex // guards nodes
	nodes []*gnode
}

func (l *liveSet) add(nd *gnode) {
	l.mu.Lock()
	l.nodes = append(l.nodes, nd)
	l.mu.Unlock()
}

func (l *liveSet) remove(nd *gnode) {
	l.mu.Lock()
	l.nodes = slices.DeleteFunc(l.nodes, func(x *gnode) bool { return x == nd })
	l.mu.Unlock()
}

func (l *liveSet) pick(r *rand.Rand) *gnode {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nodes[r.IntN(len(l.nodes))]
}

// TestFleetGossipChurn runs a client loop of GETs over every live node of a
// gossip cluster while a 4th node joins, one node is SIGKILLed and another
// SIGTERMed, and measures how long each event takes to reach the ring of
// every live node. Every answer must be the origin's; only GETs sent to
// the killed node may fail.
func TestFleetGossipChurn(t *testing.T) {
	o := newFaultOrigin(t, 0)
	cfg := faultConfig(t, o, "")
	nodes := startGossipCluster(t, 3, cfg...)
	live := &liveSet{nodes: slices.Clone(nodes)}

	const nkeys, clients = 300, 8
	var (
		stop                    atomic.Bool
		gets, wrong, victimErrs atomic.Int64
		otherErrs               atomic.Int64
		firstErr                atomic.Value
		killedNode, stoppedNode atomic.Pointer[gnode]
		lat                     latencies
		perNodeMu               sync.Mutex // guards perNode
		perNode                 = map[string]int{}
		clientsMu               sync.Mutex // guards redisClients
		redisClients            = map[*gnode]*redis.Client{}
		ctx                     = testCtx(t)
	)
	clientOf := func(nd *gnode) *redis.Client {
		clientsMu.Lock()
		defer clientsMu.Unlock()
		c, ok := redisClients[nd]
		if !ok {
			c = redis.NewClient(&redis.Options{Addr: nd.addr, Protocol: 3, MaxRetries: -1, PoolSize: clients})
			redisClients[nd] = c
		}
		return c
	}
	t.Cleanup(func() {
		for _, c := range redisClients {
			c.Close()
		}
	})
	var wg sync.WaitGroup
	for c := range clients {
		rng := rand.New(rand.NewPCG(uint64(c), 9))
		wg.Go(func() {
			for !stop.Load() {
				nd := live.pick(rng)
				k := fmt.Sprintf("k%d", rng.IntN(nkeys))
				start := time.Now()
				got, err := clientOf(nd).Get(ctx, fkey(k)).Result()
				gets.Add(1)
				perNodeMu.Lock()
				perNode[nd.addr]++
				perNodeMu.Unlock()
				switch {
				case err != nil && nd == killedNode.Load():
					victimErrs.Add(1)
				case err != nil:
					otherErrs.Add(1)
					who := "a live node"
					if nd == stoppedNode.Load() {
						who = "the SIGTERMed node"
					}
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s %s: GET %s: %v", who, nd.addr, k, err))
				case got != trueValue(k):
					wrong.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("node %s: GET %s = %q, want %q", nd.addr, k, got, trueValue(k)))
				default:
					lat.add(time.Since(start))
				}
			}
		})
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	time.Sleep(500 * time.Millisecond)

	// A 4th node joins through the first.
	start := time.Now()
	d := startGossipNode(t, nodes[:1], cfg...)
	started := time.Since(start)
	live.add(d)
	all := append(slices.Clone(nodes), d)
	join, err := waitMembersSince(t, start, all, 4, killBound)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if join > joinBound {
		t.Errorf("join took %v to reach every node, want under %v", join, joinBound)
	}
	time.Sleep(500 * time.Millisecond)

	// SIGKILL node 1: the others learn it by failure detection.
	victim := nodes[1]
	killedNode.Store(victim)
	start = time.Now()
	if err := victim.stop(t, syscall.SIGKILL); err == nil {
		t.Errorf("SIGKILL: the process exited cleanly")
	}
	live.remove(victim)
	survivors := []*gnode{nodes[0], nodes[2], d}
	kill, err := waitMembersSince(t, start, survivors, 3, killBound+10*time.Second)
	if err != nil {
		t.Fatalf("kill: %v", err)
	}
	if kill > killBound {
		t.Errorf("a SIGKILLed node took %v to leave every ring, want under %v", kill, killBound)
	}
	time.Sleep(500 * time.Millisecond)

	// SIGTERM node 2: it leaves the gossip cluster and exits 0. Clients stop
	// choosing it first, as a client told of the leave would; GETs already
	// sent to it must still be answered.
	leaver := nodes[2]
	stoppedNode.Store(leaver)
	live.remove(leaver)
	start = time.Now()
	if err := leaver.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	rest := []*gnode{nodes[0], d}
	leave, err := waitMembersSince(t, start, rest, 2, killBound)
	if err != nil {
		t.Fatalf("graceful leave: %v", err)
	}
	select {
	case <-leaver.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the SIGTERMed node did not exit within 20s")
	}
	exited := time.Since(start)
	if leaver.exitErr != nil {
		t.Errorf("exit after SIGTERM = %v, want status 0", leaver.exitErr)
	}
	t.Logf("the SIGTERMed node's shutdown: %s", shutdownLog(leaver))
	if leave > leaveBound {
		t.Errorf("a graceful leave took %v to reach every ring, want under %v", leave, leaveBound)
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if e := firstErr.Load(); e != nil {
		t.Errorf("first failure: %s", e)
	}
	if n := otherErrs.Load(); n != 0 {
		t.Errorf("GETs to nodes other than the killed one that failed = %d, want 0", n)
	}
	if n := wrong.Load(); n != 0 {
		t.Errorf("GETs answered with a wrong value = %d, want 0", n)
	}
	t.Logf("ring convergence on every live node: join %v (the process took %v to start serving), SIGKILL %v, SIGTERM %v (exited 0 after %v)",
		join.Round(time.Millisecond), started.Round(time.Millisecond), kill.Round(time.Millisecond),
		leave.Round(time.Millisecond), exited.Round(time.Millisecond))
	t.Logf("%d clients: %d GETs (per node %v), wrong %d, errors on the killed node %d, elsewhere %d; latency %v",
		clients, gets.Load(), perNode, wrong.Load(), victimErrs.Load(), otherErrs.Load(), &lat)
	t.Logf("origin calls: %d for %d keys", o.total.Load(), nkeys)
}

// movedKeys returns the keys of sample whose owner on a ring of before
// differs from their owner on a ring of after, and of those how many went
// to a node other than the new ones.
// The rings are built as cluster/peerhttp builds its own (see ringOwner).
func movedKeys(sample, before, after []string) (moved []string, elsewhere int) {
	old, cur := ring.New(0, nil), ring.New(0, nil)
	old.Add(before...)
	cur.Add(after...)
	for _, k := range sample {
		was, is := old.Get(k), cur.Get(k)
		if was != is {
			moved = append(moved, k)
			if slices.Contains(before, is) {
				elsewhere++
			}
		}
	}
	return moved, elsewhere
}

// TestFleetKeyMovement measures the share of keys that change owner when a
// 4th node joins a warm 3-node gossip cluster: from a 10,000-key sample
// placed with the ring code peerhttp uses, and confirmed on a subset by
// the origin's calls and the new node's counters.
func TestFleetKeyMovement(t *testing.T) {
	o := newFaultOrigin(t, 0)
	cfg := append(faultConfig(t, o, coldHot), "--handoff-window", "0")
	nodes := startGossipCluster(t, 3, cfg...)
	ctx := testCtx(t)

	const sampleSize, subsetSize = 10000, 400
	sample := make([]string, sampleSize)
	for i := range sample {
		sample[i] = fmt.Sprintf("m%d", i)
	}
	subset := sample[:subsetSize]

	warm := nodes[0].client(t, 3)
	for _, k := range subset {
		if got, err := warm.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Fatalf("warm-up GET %s = %q, %v", k, got, err)
		}
	}
	if n := o.total.Load(); n != subsetSize {
		t.Fatalf("origin calls after warming %d keys = %d, want one each", subsetSize, n)
	}

	d := startGossipNode(t, nodes[:1], cfg...)
	all := append(slices.Clone(nodes), d)
	if _, err := waitMembers(t, all, 4, killBound); err != nil {
		t.Fatalf("join: %v", err)
	}
	before, after := peerURLs(nodes), peerURLs(all)
	moved, elsewhere := movedKeys(sample, before, after)
	frac := float64(len(moved)) / sampleSize
	if elsewhere != 0 {
		t.Errorf("%d keys moved between old nodes when a node joined, want 0", elsewhere)
	}
	if frac < 0.10 || frac > 0.45 {
		t.Errorf("share of keys that changed owner = %.1f%%, want near 25%%", 100*frac)
	}

	// The subset again, through the new node (an old node would answer the
	// keys that moved away from it from its own main cache): with no
	// hand-off window a key that moved is loaded by the new node from the
	// origin, and one that stayed is answered from its owner's main cache.
	movedSub, _ := movedKeys(subset, before, after)
	isMoved := map[string]bool{}
	for _, k := range movedSub {
		isMoved[k] = true
	}
	beforeCalls := o.snapshot()
	dc := d.client(t, 3)
	for _, k := range subset {
		if got, err := dc.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Errorf("GET %s after the join = %q, %v", k, got, err)
		}
	}
	afterCalls := o.snapshot()
	mismatch, reloaded := 0, 0
	for _, k := range subset {
		extra := afterCalls[k] - beforeCalls[k]
		reloaded += extra
		want := 0
		if isMoved[k] {
			want = 1
		}
		if extra != want {
			mismatch++
			if mismatch <= 5 {
				t.Errorf("key %s (moved %v): %d origin calls after the join, want %d", k, isMoved[k], extra, want)
			}
		}
	}
	dInfo := groupInfo(t, ctx, dc, faultGroup)
	if dInfo["local_loads"] != int64(len(movedSub)) || dInfo["main_items"] != int64(len(movedSub)) {
		t.Errorf("new node: local_loads %d, main_items %d, want %d each (the keys the ring moved to it)",
			dInfo["local_loads"], dInfo["main_items"], len(movedSub))
	}
	// With no hand-off window, the old owners drop their copies of the
	// keys that moved away as soon as the ring changes: served from their
	// main caches, those copies would miss every later write.
	var oldItems int64
	deadline := time.Now().Add(5 * time.Second)
	for {
		oldItems = 0
		for _, nd := range nodes {
			oldItems += groupInfo(t, ctx, nd.client(t, 3), faultGroup)["main_items"]
		}
		if oldItems == int64(subsetSize-len(movedSub)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if want := int64(subsetSize - len(movedSub)); oldItems != want {
		t.Errorf("after the join the old nodes hold %d main-cache entries of the subset, want %d (the keys they still own)", oldItems, want)
	}
	t.Logf("3 -> 4 nodes: %d of %d sampled keys changed owner (%.2f%%, ideal 25%%), %d between old nodes",
		len(moved), sampleSize, 100*frac, elsewhere)
	t.Logf("subset of %d keys: predicted moved %d (%.1f%%); origin reloads %d, new node local_loads %d, main_items %d; per-key mismatches %d",
		subsetSize, len(movedSub), 100*float64(len(movedSub))/subsetSize, reloaded, dInfo["local_loads"], dInfo["main_items"], mismatch)
}

// TestFleetWriteAfterMove writes, after the hand-off window, to keys a join
// moved away from their old owners, and reads them back through those old
// owners: each must answer the new value, not the copy it held before the
// join (which it drops when the window ends).
func TestFleetWriteAfterMove(t *testing.T) {
	o := newFaultOrigin(t, 0)
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("w%d", i)
	}
	nodes := warmCluster(t, o, 3, keys, "--handoff-window", "1s")
	ctx := testCtx(t)
	d := startGossipNode(t, nodes[:1], append(faultConfig(t, o, coldHot), "--handoff-window", "1s")...)
	all := append(slices.Clone(nodes), d)
	if _, err := waitMembers(t, all, 4, killBound); err != nil {
		t.Fatalf("join: %v", err)
	}
	time.Sleep(2 * time.Second) // the window, and the sweep after it
	before, after := peerURLs(nodes), peerURLs(all)
	moved, _ := movedKeys(keys, before, after)
	if len(moved) == 0 {
		t.Fatal("no key moved to the new node")
	}
	byURL := map[string]*gnode{}
	for _, nd := range nodes {
		byURL[nd.peerURL()] = nd
	}
	dc := d.client(t, 3)
	stale := 0
	for _, k := range moved {
		if err := dc.Set(ctx, fkey(k), "new-"+k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		old := byURL[ringOwner(before, k)]
		got, err := old.client(t, 3).Get(ctx, fkey(k)).Result()
		if err != nil || got != "new-"+k {
			stale++
			if stale <= 5 {
				t.Errorf("GET %s at its old owner after a SET at its new owner = %q, %v; want %q", k, got, err, "new-"+k)
			}
		}
	}
	t.Logf("%d keys moved to the new node; after the window, %d of them read back stale at their old owner", len(moved), stale)
}

// warmCluster starts a gossip cluster of n nodes and loads every key once
// through node 0, checking that each cost one origin call.
func warmCluster(t *testing.T, o *faultOrigin, n int, keys []string, extra ...string) []*gnode {
	t.Helper()
	cfg := append(faultConfig(t, o, coldHot), extra...)
	nodes := startGossipCluster(t, n, cfg...)
	ctx := testCtx(t)
	c := nodes[0].client(t, 3)
	for _, k := range keys {
		if got, err := c.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Fatalf("warm-up GET %s = %q, %v", k, got, err)
		}
	}
	if got := o.total.Load(); got != int64(len(keys)) {
		t.Fatalf("origin calls after warming %d keys = %d, want one each", len(keys), got)
	}
	return nodes
}

// getAllThrough GETs every key through nd, checking each answer, and
// returns the origin calls they caused and how long they took.
func getAllThrough(t *testing.T, o *faultOrigin, nd *gnode, keys []string) (int64, time.Duration) {
	t.Helper()
	ctx := testCtx(t)
	c := nd.client(t, 3)
	before := o.total.Load()
	start := time.Now()
	for _, k := range keys {
		if got, err := c.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Errorf("GET %s = %q, %v, want the origin's value", k, got, err)
		}
	}
	return o.total.Load() - before, time.Since(start)
}

// TestFleetHandoff counts the origin calls that churn costs a warm cluster,
// with and without each hand-off: a joining node that asks a key's previous
// owner (--handoff-window), and a leaving node that pushes its entries to
// their new owners (--handoff-keys).
func TestFleetHandoff(t *testing.T) {
	const nkeys = 400
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("h%d", i)
	}

	type result struct {
		extra, predicted int64
		took             time.Duration
		hits, misses     float64 // join: the new node's hand-off peeks; leave: hits counts the fills kept
	}
	join := func(t *testing.T, window string) result {
		o := newFaultOrigin(t, 0)
		nodes := warmCluster(t, o, 3, keys, "--handoff-window", window)
		cfg := append(faultConfig(t, o, coldHot), "--handoff-window", window)
		d := startGossipNode(t, nodes[:1], cfg...)
		all := append(slices.Clone(nodes), d)
		if _, err := waitMembers(t, all, 4, killBound); err != nil {
			t.Fatalf("join: %v", err)
		}
		moved, _ := movedKeys(keys, peerURLs(nodes), peerURLs(all))
		// Through the new node: an old node would answer the keys that
		// moved away from it from its own main cache.
		extra, took := getAllThrough(t, o, d, keys)
		t.Logf("new node's ring changes: %s", ringLog(d))
		m := scrape(t, d)
		hits, _ := metricValue(m, `rcache_group_handoff_hits_total{group="data"}`)
		misses, _ := metricValue(m, `rcache_group_handoff_misses_total{group="data"}`)
		return result{extra: extra, predicted: int64(len(moved)), took: took, hits: hits, misses: misses}
	}
	leave := func(t *testing.T, handoffKeys string) result {
		o := newFaultOrigin(t, 0)
		nodes := warmCluster(t, o, 3, keys, "--handoff-keys", handoffKeys)
		start := time.Now()
		if err := nodes[2].stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("exit after SIGTERM = %v, want status 0", err)
		}
		took := time.Since(start)
		if _, err := waitMembers(t, nodes[:2], 2, killBound); err != nil {
			t.Fatalf("leave: %v", err)
		}
		moved, _ := movedKeys(keys, peerURLs(nodes), peerURLs(nodes[:2]))
		var fills int64
		for _, nd := range nodes[:2] {
			fills += groupInfo(t, testCtx(t), nd.client(t, 3), faultGroup)["handoff_fills"]
		}
		extra, _ := getAllThrough(t, o, nodes[0], keys)
		t.Logf("the leaving node: %s; the survivors kept %d pushed entries (INFO handoff_fills)", handedOff(nodes[2]), fills)
		return result{extra: extra, predicted: int64(len(moved)), took: took, hits: float64(fills)}
	}

	var joinOn, joinOff, leaveOn, leaveOff result
	t.Run("join/window=30s", func(t *testing.T) { joinOn = join(t, "30s") })
	t.Run("join/window=0", func(t *testing.T) { joinOff = join(t, "0") })
	t.Run("leave/handoff-keys=10000", func(t *testing.T) { leaveOn = leave(t, "10000") })
	t.Run("leave/handoff-keys=0", func(t *testing.T) { leaveOff = leave(t, "0") })

	t.Logf("join of a 4th node, %d warm keys: extra origin calls %d of %d moved keys with --handoff-window 30s (new node's handoff hits %.0f, misses %.0f), %d of %d with 0",
		nkeys, joinOn.extra, joinOn.predicted, joinOn.hits, joinOn.misses, joinOff.extra, joinOff.predicted)
	t.Logf("re-GET of %d keys after the join: %v with the window, %v without", nkeys, joinOn.took.Round(time.Millisecond), joinOff.took.Round(time.Millisecond))
	t.Logf("SIGTERM of 1 of 3 nodes, %d warm keys: extra origin calls %d of %d moved keys with --handoff-keys 10000 (%.0f fills kept), %d of %d with 0 (%.0f fills); exit took %v and %v",
		nkeys, leaveOn.extra, leaveOn.predicted, leaveOn.hits, leaveOff.extra, leaveOff.predicted, leaveOff.hits, leaveOn.took.Round(time.Millisecond), leaveOff.took.Round(time.Millisecond))

	if joinOff.extra != joinOff.predicted {
		t.Errorf("join without a window: %d extra origin calls, want %d (one per moved key)", joinOff.extra, joinOff.predicted)
	}
	if leaveOff.extra != leaveOff.predicted {
		t.Errorf("leave without a push: %d extra origin calls, want %d (one per moved key)", leaveOff.extra, leaveOff.predicted)
	}
	if leaveOn.extra > leaveOff.extra/4 {
		t.Errorf("leave with --handoff-keys 10000: %d extra origin calls, want far fewer than the %d without", leaveOn.extra, leaveOff.extra)
	}
	if joinOn.hits == 0 {
		// A joining node must count the others as the previous owners of
		// the keys it takes over (peerhttp.Config.Joining): its own first
		// ring held only itself.
		t.Errorf("join with --handoff-window 30s: the new node's hand-off hits = 0 (misses %v), want one per moved key (%d)", joinOn.misses, joinOn.predicted)
	}
	if joinOn.extra > joinOff.extra/4 {
		t.Errorf("join with --handoff-window 30s: %d extra origin calls, want far fewer than the %d without", joinOn.extra, joinOff.extra)
	}
}

// TestFleetStatusPage checks a real 3-node cluster's /metrics and status
// page: the ring and group series, and the DOM headless chromium builds
// from the page.
func TestFleetStatusPage(t *testing.T) {
	o := newFaultOrigin(t, 0)
	nodes := startGossipCluster(t, 3, faultConfig(t, o, "")...)
	ctx := testCtx(t)
	const gets = 30
	c := nodes[0].client(t, 3)
	for i := range gets {
		k := fmt.Sprintf("s%d", i)
		if got, err := c.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Fatalf("GET %s = %q, %v", k, got, err)
		}
	}

	m := scrape(t, nodes[0])
	if v, ok := metricValue(m, "rcache_ring_members"); !ok || v != 3 {
		t.Errorf("rcache_ring_members = %v (found %v), want 3", v, ok)
	}
	series := `rcache_group_gets_total{group="` + faultGroup + `"}`
	if v, ok := metricValue(m, series); !ok || v < gets {
		t.Errorf("%s = %v (found %v), want at least %d", series, v, ok, gets)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", m)
	}

	browser := chromium.Need(t)
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a browser; skipped under -short")
	}
	start := time.Now()
	dom := chromium.DumpDOM(t, browser, nodes[0].peerURL()+"/")
	took := time.Since(start)
	want := []string{`<table id="peers">`, `<table id="groups">`, `<tr><td>` + faultGroup + `</td>`}
	for _, p := range nodes[1:] {
		want = append(want, `<tr><td>`+p.peerURL()+`</td><td class="healthy">healthy</td>`)
	}
	for _, w := range want {
		if !strings.Contains(dom, w) {
			t.Errorf("DOM lacks %s", w)
		}
	}
	_, peersTable, _ := strings.Cut(dom, `<table id="peers">`)
	peersTable, _, _ = strings.Cut(peersTable, `</table>`)
	if n := strings.Count(peersTable, "<tr><td>"); n != 2 {
		t.Errorf("DOM's peers table has %d rows, want 2", n)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	t.Logf("/metrics: rcache_ring_members 3, %s found; chromium --dump-dom took %v", series, took.Round(time.Millisecond))
}
