package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/redis/go-redis/v9"
)

// The fault tests of issue 8. Each one injects one fault into a running
// cluster, checks every answer against the origin's true value, and logs
// what it measured; latencies are reported, and asserted only against
// generous bounds, because the machine they run on may be busy.

// peerTimeout is the longest a node waits for an owner before loading a
// key itself: cmd/rcache leaves the peer timeout at its default.
const peerTimeout = peerhttp.DefaultTimeout

// readHeaderTimeout is the peer server's http.Server.ReadHeaderTimeout in
// cmd/rcache.
const readHeaderTimeout = peerhttp.ServerReadHeaderTimeout

// slack is added to the bounds on durations for a busy machine.
const slack = 3 * time.Second

// fkey is the RESP key of a faultGroup key.
func fkey(key string) string { return faultGroup + ":" + key }

// TestFaultOwnerKilledUnderLoad SIGKILLs one node of three while 50
// clients GET many keys from the two others. Every GET is issued to a
// surviving node, so none may fail, and every answer must be the origin's.
// The origin calls the kill causes are bounded by one per key per
// surviving node: the owner's copy is lost, and each survivor loads the key
// once and keeps it as a hot copy (hot_ttl 1m outlasts the test).
func TestFaultOwnerKilledUnderLoad(t *testing.T) {
	o := newFaultOrigin(t, 0)
	// Hot copies of peer-fetched values would hide the kill: almost none
	// are kept (each fetch keeps one with probability 1e-6), while the
	// copies of fallback loads, which any positive probability keeps, live
	// for the rest of the test.
	nodes := startCluster(t, 3, faultConfig(t, o, "    hot_ttl: 1m\n    hot_probability: 0.000001\n    hot_on_repeat: false\n")...)
	ctx := testCtx(t)
	const nkeys, clients, victim = 60, 50, 2
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	// Every key loaded once, by its owner.
	warm := nodes[0].client(t, 3)
	for _, k := range keys {
		if got, err := warm.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Fatalf("warm-up GET %s = %q, %v", k, got, err)
		}
	}
	before := o.snapshot()

	var (
		stop             atomic.Bool
		killed           atomic.Int64 // UnixNano of the kill's return; 0 before
		gets, wrong      atomic.Int64
		errsBefore       atomic.Int64
		errsAfter        atomic.Int64
		latBefore, latAf latencies
		firstErr         atomic.Value
	)
	var wg sync.WaitGroup
	for c := range clients {
		nd := nodes[c%2]
		cl := nd.client(t, 3)
		rng := rand.New(rand.NewPCG(uint64(c), 8))
		wg.Go(func() {
			for !stop.Load() {
				k := keys[rng.IntN(nkeys)]
				start := time.Now()
				after := killed.Load() != 0
				got, err := cl.Get(ctx, fkey(k)).Result()
				gets.Add(1)
				switch {
				case err != nil && after:
					errsAfter.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("node %s: GET %s after the kill: %v", nd.addr, k, err))
				case err != nil:
					errsBefore.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("node %s: GET %s during the kill: %v", nd.addr, k, err))
				case got != trueValue(k):
					wrong.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("node %s: GET %s = %q, want %q", nd.addr, k, got, trueValue(k)))
				case after:
					latAf.add(time.Since(start))
				default:
					latBefore.add(time.Since(start))
				}
			}
		})
	}
	time.Sleep(time.Second)
	killStart := time.Now()
	if err := nodes[victim].stop(t, syscall.SIGKILL); err == nil {
		t.Errorf("SIGKILL: the process exited cleanly")
	}
	killed.Store(time.Now().UnixNano())
	getsAtKill := gets.Load()
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()

	if e := firstErr.Load(); e != nil {
		t.Errorf("first failure: %s", e)
	}
	if n := errsBefore.Load() + errsAfter.Load(); n != 0 {
		t.Errorf("GETs to surviving nodes that failed = %d (%d while the kill landed, %d after), want 0", n, errsBefore.Load(), errsAfter.Load())
	}
	if n := wrong.Load(); n != 0 {
		t.Errorf("GETs answered with a wrong value = %d, want 0", n)
	}
	after := o.snapshot()
	extra, victimKeys := 0, 0
	for _, k := range keys {
		// A survivor's key stays in its main cache; a dead node's key is
		// loaded at most once by each survivor.
		bound := 0
		if ownerIndex(nodes, k) == victim {
			victimKeys++
			bound = 2
		}
		d := after[k] - before[k]
		extra += d
		if d > bound {
			t.Errorf("origin calls for %s (owner node %d) after the kill = %d, want at most %d", k, ownerIndex(nodes, k), d, bound)
		}
	}
	var peerErrs int64
	for _, nd := range nodes[:2] {
		peerErrs += groupInfo(t, ctx, nd.client(t, 3), faultGroup)["peer_errors"]
	}
	t.Logf("owner SIGKILLed under %d clients: %d GETs (%d before the kill returned in %v), errors %d+%d, wrong %d",
		clients, gets.Load(), getsAtKill, time.Duration(killed.Load()-killStart.UnixNano()).Round(time.Millisecond),
		errsBefore.Load(), errsAfter.Load(), wrong.Load())
	t.Logf("latency before the kill: %v; after: %v", &latBefore, &latAf)
	t.Logf("origin calls after the kill: %d for %d keys the dead node owned (bound %d); survivors' peer_errors %d",
		extra, victimKeys, 2*victimKeys, peerErrs)
}

// TestFaultPeerResponsesCut puts a proxy between node A and node B's peer
// port that cuts or resets some responses halfway. A must never answer a
// wrong or partial value: it counts a peer error and loads the key itself.
func TestFaultPeerResponsesCut(t *testing.T) {
	o := newFaultOrigin(t, 0)
	cfg := faultConfig(t, o, "")
	addrs := freeAddrs(t, 4) // A's RESP and peer ports, then B's
	peerA, peerB := "http://"+addrs[1], "http://"+addrs[3]
	b := startNode(t, addrs[2], addrs[3], append([]string{"--addr", addrs[2], "--peer-addr", addrs[3],
		"--peers", peerA + "," + peerB}, cfg...)...)
	proxy := startFaultProxy(t, b.peerAddr)
	viaProxy := "http://" + proxy.addr()
	// A knows B by the proxy's address. The rings differ, which costs
	// round trips, never correctness: B answers what it is asked.
	a := startNode(t, addrs[0], addrs[1], append([]string{"--addr", addrs[0], "--peer-addr", addrs[1],
		"--peers", peerA + "," + viaProxy}, cfg...)...)
	ctx := testCtx(t)

	// 8 KiB values, so that a cut body is clearly partial.
	var keys []string
	for i := 0; len(keys) < 120; i++ {
		if k := fmt.Sprintf("mid%d", i); ringOwner([]string{peerA, viaProxy}, k) == viaProxy {
			keys = append(keys, k)
		}
	}
	ca := a.client(t, 3)
	var wrong, failed atomic.Int64
	var lat latencies
	for round := range 2 {
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < len(keys); i += 8 {
					k := keys[i]
					start := time.Now()
					got, err := ca.Get(ctx, fkey(k)).Result()
					lat.add(time.Since(start))
					switch {
					case err != nil:
						failed.Add(1)
						t.Errorf("round %d: GET %s through a faulty proxy: %v", round, k, err)
					case got != trueValue(k):
						wrong.Add(1)
						t.Errorf("round %d: GET %s = %d bytes %.20q…, want %d bytes %.20q…", round, k, len(got), got, len(trueValue(k)), trueValue(k))
					}
				}
			})
		}
		wg.Wait()
	}
	// MGET of fresh keys: batch fetches (one request for many keys) get
	// cut too.
	var batchKeys []string
	for i := 0; len(batchKeys) < 96; i++ {
		if k := fmt.Sprintf("midm%d", i); ringOwner([]string{peerA, viaProxy}, k) == viaProxy {
			batchKeys = append(batchKeys, k)
		}
	}
	var wg sync.WaitGroup
	var mgets latencies
	for w := range 4 {
		wg.Go(func() {
			for i := w * 6; i < len(batchKeys); i += 4 * 6 {
				batch := batchKeys[i : i+6]
				args := make([]string, len(batch))
				for j, k := range batch {
					args[j] = fkey(k)
				}
				start := time.Now()
				got, err := ca.MGet(ctx, args...).Result()
				mgets.add(time.Since(start))
				if err != nil {
					failed.Add(1)
					t.Errorf("MGET %v through a faulty proxy: %v", batch, err)
					continue
				}
				for j, k := range batch {
					if v, ok := got[j].(string); !ok || v != trueValue(k) {
						wrong.Add(1)
						t.Errorf("MGET: %s = %.20q…, want %d bytes %.20q…", k, got[j], len(trueValue(k)), trueValue(k))
					}
				}
			}
		})
	}
	wg.Wait()
	infoA := groupInfo(t, ctx, ca, faultGroup)
	infoB := groupInfo(t, ctx, b.client(t, 3), faultGroup)
	// Each cut response is the first on a fresh connection, which the
	// transport does not retry: it is one failed fetch. (A circuit
	// breaker may add fetches it refused without sending.)
	switch {
	case proxy.faults() == 0:
		t.Errorf("the proxy cut no response (%s)", proxy)
	case infoA["peer_errors"] < proxy.faults():
		t.Errorf("A's peer_errors = %d after %d cut responses, want at least one per cut", infoA["peer_errors"], proxy.faults())
	}
	if infoA["local_loads"] < infoA["peer_errors"] {
		t.Errorf("A's local_loads = %d < peer_errors %d: a failed peer fetch did not fall back to a local load", infoA["local_loads"], infoA["peer_errors"])
	}
	t.Logf("cut peer responses: %d GETs of %d keys and %d MGETs of 6 at A, wrong %d, failed %d; %s", 2*len(keys), len(keys), len(batchKeys)/6, wrong.Load(), failed.Load(), proxy)
	t.Logf("A: peer_loads %d, peer_errors %d, local_loads %d; B: server_requests %d; origin calls %d; GET latency %v",
		infoA["peer_loads"], infoA["peer_errors"], infoA["local_loads"], infoB["server_requests"], o.total.Load(), &lat)
	t.Logf("MGET latency %v", &mgets)
}

// TestFaultOriginBurst makes the origin fail (500, then a crash that cuts
// its connection) while 60 clients on three nodes GET the same five keys,
// all held until every request has reached the owner's load. The origin
// sees one call per key per burst, not per client; the error is not
// cached, so the first GET after the origin recovers succeeds.
func TestFaultOriginBurst(t *testing.T) {
	o := newFaultOrigin(t, 0)
	nodes := startCluster(t, 3, faultConfig(t, o, "")...)
	ctx := testCtx(t)
	const clients, nkeys = 60, 5
	cls := make([]*redis.Client, len(nodes))
	for i, nd := range nodes {
		cls[i] = nd.client(t, 3)
	}
	sum := func(field string) int64 {
		var n int64
		for _, c := range cls {
			n += groupInfo(t, ctx, c, faultGroup)[field]
		}
		return n
	}
	for _, burst := range []struct {
		name string
		mode int32
		// maxCalls bounds the origin calls per key in one burst.
		maxCalls int
	}{
		{"500", originFail, 1},
		// Go's http.Transport retries a GET when a reused
		// connection breaks before the answer, on the next idle
		// connection, until it uses a fresh one: a chain as long as the
		// origin client's idle pool, not one call per client.
		{"crash", originAbort, clients/nkeys - 1},
	} {
		t.Run(burst.name, func(t *testing.T) {
			keys := make([]string, nkeys)
			for i := range keys {
				keys[i] = fmt.Sprintf("%s-%d", burst.name, i)
			}
			gets0, served0 := sum("gets"), sum("server_requests")
			o.mode.Store(burst.mode)
			o.hold()
			var wg sync.WaitGroup
			var errReplies, other atomic.Int64
			start := time.Now()
			var lat latencies
			for c := range clients {
				wg.Go(func() {
					k := keys[c%nkeys]
					t0 := time.Now()
					_, err := cls[c%len(cls)].Get(ctx, fkey(k)).Result()
					lat.add(time.Since(t0))
					switch {
					case isReplyError(err):
						errReplies.Add(1)
					default:
						other.Add(1)
						t.Errorf("GET %s while the origin fails = %v, want an error reply", k, err)
					}
				})
			}
			// Every client has joined a load when the three nodes have
			// counted all the GETs and the owners all the peer requests:
			// each key has clients on its two other nodes.
			for sum("gets")-gets0 < clients || sum("server_requests")-served0 < 2*nkeys {
				if time.Since(start) > 10*time.Second {
					t.Fatalf("the GETs did not all arrive within 10s: gets %d, server_requests %d", sum("gets")-gets0, sum("server_requests")-served0)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // from counted to joined: a cache lookup
			o.open()
			wg.Wait()
			calls := 0
			for _, k := range keys {
				n := o.callsFor(k)
				calls += n
				if n < 1 || n > burst.maxCalls {
					t.Errorf("origin calls for %s in a burst of %d clients = %d, want 1 to %d", k, clients/nkeys, n, burst.maxCalls)
				}
			}

			o.mode.Store(originOK)
			for i, k := range keys {
				got, err := cls[i%len(cls)].Get(ctx, fkey(k)).Result()
				if err != nil || got != trueValue(k) {
					t.Errorf("first GET %s after the origin recovered = %q, %v, want %q: the error was cached", k, got, err, trueValue(k))
				}
			}
			for _, k := range keys {
				for _, c := range cls {
					if got, err := c.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
						t.Errorf("GET %s after recovery = %q, %v", k, got, err)
					}
				}
			}
			recovered := 0
			for _, k := range keys {
				recovered += o.callsFor(k)
			}
			recovered -= calls
			if recovered != nkeys {
				t.Errorf("origin calls after recovery = %d for %d keys, want one per key", recovered, nkeys)
			}
			t.Logf("origin %s burst: %d clients on %d keys -> %d origin calls (bound %d), %d error replies, %d other; error latency %v; after recovery %d calls",
				burst.name, clients, nkeys, calls, burst.maxCalls*nkeys, errReplies.Load(), other.Load(), &lat, recovered)
		})
	}
}

// floodCloseBound is how long TestFaultPipelineFlood waits for the server
// to close a connection that never reads its replies: the RESP server's
// write timeout (30 s by default) and some slack.
const floodCloseBound = 40 * time.Second

// TestFaultPipelineFlood has one client pipeline GETs of a 32 KiB value
// without ever reading a reply, and measures another client's GET latency
// before and during the flood. Once the server caps a client's pending
// output, it must close the flooding connection.
func TestFaultPipelineFlood(t *testing.T) {
	o := newFaultOrigin(t, 0)
	nodes := startCluster(t, 1, faultConfig(t, o, "")...)
	ctx := testCtx(t)
	c := nodes[0].client(t, 3)
	for _, k := range []string{"big", "small"} {
		if got, err := c.Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Fatalf("GET %s = %.20q, %v", k, got, err)
		}
	}
	measure := func(l *latencies) {
		for range 300 {
			start := time.Now()
			got, err := c.Get(ctx, fkey("small")).Result()
			l.add(time.Since(start))
			if err != nil || got != trueValue("small") {
				t.Errorf("GET small = %q, %v", got, err)
			}
		}
	}
	var before, during latencies
	measure(&before)

	conn, err := net.Dial("tcp", nodes[0].addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	cmd := fmt.Sprintf("*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(fkey("big")), fkey("big"))
	batch := []byte(strings.Repeat(cmd, 256))
	var sent atomic.Int64
	closed := make(chan error, 1)
	floodStart := time.Now()
	go func() {
		// Write whole commands only: a write that times out is resumed
		// where it stopped, so the server never sees a broken command.
		for {
			p := batch
			for len(p) > 0 {
				conn.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				n, err := conn.Write(p)
				p = p[n:]
				sent.Add(int64(n))
				var ne net.Error
				if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
					closed <- err
					return
				}
			}
		}
	}()
	// Let the flood fill the socket buffers, then measure.
	time.Sleep(500 * time.Millisecond)
	measure(&during)
	connected := connectedClients(t, ctx, c)
	t.Logf("pipeline flood of GET %d-byte value, never read: other client's GET before %v; during %v; %d commands sent so far, %d clients connected, server RSS %s",
		len(trueValue("big")), &before, &during, sent.Load()/int64(len(cmd)), connected, rss(nodes[0]))
	if p99 := during.pct(0.99); p99 > time.Second {
		t.Errorf("another client's GET p99 during the flood = %v, want under 1s", p99)
	}
	select {
	case err := <-closed:
		t.Logf("the server closed the flooding connection %v after the flood began (%v), after %d commands",
			time.Since(floodStart).Round(time.Millisecond), err, sent.Load()/int64(len(cmd)))
	case <-time.After(floodCloseBound - time.Since(floodStart)):
		t.Fatalf("the server did not close a connection that never read %d pipelined replies of %d bytes within %v (server RSS %s): the write timeout did not cut it",
			sent.Load()/int64(len(cmd)), len(trueValue("big")), floodCloseBound, rss(nodes[0]))
	}
	// The server must still be serving.
	var afterFlood latencies
	measure(&afterFlood)
	t.Logf("other client's GET after the flooding connection closed: %v", &afterFlood)
}

// patientClient returns a go-redis client of nd that waits for a reply
// longer than the peer timeout (go-redis gives up after 3s by default).
func patientClient(t *testing.T, nd *node) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: nd.addr, Protocol: 3, MaxRetries: -1, PoolSize: 64, ReadTimeout: peerTimeout + 2*slack})
	t.Cleanup(func() { c.Close() })
	return c
}

// rss returns the resident memory of nd's process, from /proc.
func rss(nd *node) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", nd.cmd.Process.Pid))
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown"
}

// connectedClients returns INFO's connected_clients.
func connectedClients(t *testing.T, ctx context.Context, c *redis.Client) int {
	t.Helper()
	text, err := c.Info(ctx, "clients").Result()
	if err != nil {
		t.Fatalf("INFO clients: %v", err)
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_clients:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatalf("INFO clients has no connected_clients:\n%s", text)
	return 0
}

// TestFaultSlowlorisPeer opens 20 connections to a node's peer port that
// send a request header one byte a second. The server must drop each
// within its ReadHeaderTimeout, while the other nodes' peer requests to it
// keep being answered.
func TestFaultSlowlorisPeer(t *testing.T) {
	o := newFaultOrigin(t, 0)
	nodes := startCluster(t, 3, faultConfig(t, o, "")...)
	ctx := testCtx(t)
	const victim, slow = 1, 20
	header := "GET /_rcache/" + faultGroup + "/k HTTP/1.1\r\nHost: rcache\r\nRcache-Peer: slowloris\r\n\r\n"
	var dropped latencies
	var wg sync.WaitGroup
	var lasted atomic.Int64
	for range slow {
		conn, err := net.Dial("tcp", nodes[victim].peerAddr)
		if err != nil {
			t.Fatalf("dial the peer port: %v", err)
		}
		t.Cleanup(func() { conn.Close() })
		start := time.Now()
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			buf := make([]byte, 512)
			conn.SetReadDeadline(start.Add(readHeaderTimeout + 2*slack))
			for {
				if _, err := conn.Read(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						lasted.Add(1)
						return
					}
					dropped.add(time.Since(start))
					return
				}
			}
		})
		go func() {
			for i := range len(header) {
				if _, err := conn.Write([]byte{header[i]}); err != nil {
					return
				}
				select {
				case <-done:
					return
				case <-time.After(time.Second):
				}
			}
		}()
	}

	// Meanwhile node 0 fetches fresh keys that the victim owns: each GET
	// is a peer request to it.
	keys := keysOwnedBy(nodes, victim, "s", 40)
	c0 := nodes[0].client(t, 3)
	var lat latencies
	for _, k := range keys {
		start := time.Now()
		got, err := c0.Get(ctx, fkey(k)).Result()
		lat.add(time.Since(start))
		if err != nil || got != trueValue(k) {
			t.Errorf("GET %s during the slowloris = %q, %v", k, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	info0 := groupInfo(t, ctx, c0, faultGroup)
	if info0["peer_errors"] != 0 || info0["peer_loads"] != int64(len(keys)) {
		t.Errorf("node 0: peer_loads %d, peer_errors %d, want %d and 0: the slowloris hurt other peer requests", info0["peer_loads"], info0["peer_errors"], len(keys))
	}
	if n := lasted.Load(); n > 0 {
		t.Errorf("%d of %d slowloris connections were still open %v after they began; ReadHeaderTimeout is %v", n, slow, readHeaderTimeout+2*slack, readHeaderTimeout)
	}
	if d := dropped.pct(1); d > readHeaderTimeout+slack {
		t.Errorf("slowest slowloris connection dropped after %v, want within ReadHeaderTimeout %v (+%v slack)", d, readHeaderTimeout, slack)
	}
	t.Logf("slowloris on the peer port: %d connections dropped after %v (ReadHeaderTimeout %v); %d peer GETs meanwhile: %v, peer_errors %d",
		dropped.n(), &dropped, readHeaderTimeout, len(keys), &lat, info0["peer_errors"])
}

// TestFaultSIGTERMUnderLoad sends SIGTERM to a node while 50 clients GET
// from it through an origin that takes 20ms. Just before the signal the
// origin holds its requests until every client has a GET that the node has
// read and is loading; it lets them go 300ms after the signal. Every one
// of those in-flight GETs must be answered with the true value; after
// them, each client sees a closed connection, never a wrong value or an
// error reply, and the process exits with status 0.
func TestFaultSIGTERMUnderLoad(t *testing.T) {
	o := newFaultOrigin(t, 20*time.Millisecond)
	nodes := startCluster(t, 3, faultConfig(t, o, "")...)
	ctx := testCtx(t)
	const clients = 50
	var (
		signalled                            atomic.Bool
		done, replies, repliesAfter, closed  atomic.Int64
		wrong, errReplies, otherErrs         atomic.Int64
		closedSentBefore, closedBeforeSignal atomic.Int64
		firstErr                             atomic.Value
	)
	var wg sync.WaitGroup
	for c := range clients {
		cl := nodes[0].client(t, 3)
		rng := rand.New(rand.NewPCG(uint64(c), 6))
		wg.Go(func() {
			for {
				k := fmt.Sprintf("t%d", rng.IntN(5000))
				sentBefore := !signalled.Load()
				got, err := cl.Get(ctx, fkey(k)).Result()
				done.Add(1)
				switch {
				case err == nil && got == trueValue(k):
					replies.Add(1)
					if sentBefore && signalled.Load() {
						repliesAfter.Add(1)
					}
					continue
				case err == nil:
					wrong.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("GET %s = %q, want %q", k, got, trueValue(k)))
				case isConnClosed(err):
					closed.Add(1)
					switch {
					case !signalled.Load():
						closedBeforeSignal.Add(1)
					case sentBefore:
						closedSentBefore.Add(1)
					}
				case isReplyError(err):
					errReplies.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("GET %s during shutdown: error reply %v", k, err))
				default:
					otherErrs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("GET %s during shutdown: %v", k, err))
				}
				return
			}
		})
	}
	time.Sleep(time.Second)
	// Hold the origin until the node has read one GET of every client
	// that it has not answered: each GET it reads counts in INFO's gets.
	o.hold()
	info := nodes[0].client(t, 3)
	heldAt := time.Now()
	// Three polls in a row, so that no reply was on its way back.
	for stable := 0; stable < 3; {
		if groupInfo(t, ctx, info, faultGroup)["gets"]-done.Load() < clients {
			stable = 0
		} else {
			stable++
		}
		if time.Since(heldAt) > 10*time.Second {
			o.open()
			t.Fatalf("the node did not hold %d GETs in flight within 10s", clients)
		}
		time.Sleep(10 * time.Millisecond)
	}
	atTerm := replies.Load()
	signalled.Store(true)
	start := time.Now()
	time.AfterFunc(300*time.Millisecond, o.open)
	exitErr := nodes[0].stop(t, syscall.SIGTERM)
	exited := time.Since(start)
	wg.Wait()
	if exitErr != nil {
		t.Errorf("exit after SIGTERM under load = %v, want status 0", exitErr)
	}
	if e := firstErr.Load(); e != nil {
		t.Errorf("first failure: %s", e)
	}
	if n := repliesAfter.Load(); n != clients {
		t.Errorf("GETs in flight at SIGTERM answered with the true value = %d, want all %d (%d saw the connection close)", n, clients, closedSentBefore.Load())
	}
	if wrong.Load()+errReplies.Load()+otherErrs.Load()+closedBeforeSignal.Load() != 0 {
		t.Errorf("wrong values %d, error replies %d, other errors %d, connections closed before SIGTERM %d; want only replies and closed connections after SIGTERM",
			wrong.Load(), errReplies.Load(), otherErrs.Load(), closedBeforeSignal.Load())
	}
	if exited > 10*time.Second+slack {
		t.Errorf("exit took %v after SIGTERM; the shutdown budget is 10s", exited)
	}
	t.Logf("SIGTERM under %d clients: %d replies before; %d GETs in flight (held at the origin 300ms past SIGTERM), %d answered with the true value; then %d clients saw the connection close; exit %v after %v; wrong %d, error replies %d",
		clients, atTerm, clients, repliesAfter.Load(), closed.Load(), exitErr, exited.Round(time.Millisecond), wrong.Load(), errReplies.Load())
}

// TestFaultOwnerStopped SIGSTOPs the owner of some keys. A GET of such a
// key at another node waits at most the peer timeout, then loads the key
// locally; by then the peer's circuit breaker is open, so a second wave of
// fresh keys is loaded locally at once. After SIGCONT the owner serves its
// keys again.
func TestFaultOwnerStopped(t *testing.T) {
	o := newFaultOrigin(t, 0)
	nodes := startCluster(t, 3, faultConfig(t, o, "")...)
	ctx := testCtx(t)
	const victim, wave = 2, 20
	keys := keysOwnedBy(nodes, victim, "p", 2*wave+20)
	others := append(keysOwnedBy(nodes, 0, "q", wave/2), keysOwnedBy(nodes, 1, "q", wave/2)...)
	cls := []*redis.Client{patientClient(t, nodes[0]), patientClient(t, nodes[1])}
	cv := nodes[victim].client(t, 3)

	if err := nodes[victim].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	stopped := true
	defer func() {
		if stopped {
			nodes[victim].cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	getAll := func(keys []string, lat *latencies) {
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Go(func() {
				start := time.Now()
				got, err := cls[i%2].Get(ctx, fkey(k)).Result()
				lat.add(time.Since(start))
				if err != nil || got != trueValue(k) {
					t.Errorf("GET %s with its owner stopped = %q, %v", k, got, err)
				}
			})
		}
		wg.Wait()
	}
	var first, second, repeat, control latencies
	stopStart := time.Now()
	getAll(keys[:wave], &first)
	// Hot copies now, where the fallback loads kept them for hot_ttl (5s).
	getAll(keys[:wave], &repeat)
	getAll(keys[wave:2*wave], &second)
	getAll(others, &control)
	stopFor := time.Since(stopStart)
	for _, l := range []*latencies{&first, &second} {
		if p := l.pct(1); p > peerTimeout+slack {
			t.Errorf("slowest GET of a stopped owner's key = %v, want at most the peer timeout %v (+%v slack)", p, peerTimeout, slack)
		}
	}
	// The first wave's timeouts opened the stopped peer's circuit breaker:
	// the second wave's keys are loaded locally without waiting for it.
	if p := second.pct(0.5); p > time.Second {
		t.Errorf("GET p50 of a second wave of the stopped owner's keys = %v, want under 1s (the circuit breaker is open)", p)
	}
	if p := repeat.pct(0.99); p > time.Second {
		t.Errorf("GET p99 of keys just loaded by a fallback, while their owner is stopped = %v, want under 1s (hot copies)", p)
	}
	if p := control.pct(0.99); p > time.Second {
		t.Errorf("GET p99 of keys the running nodes own, while a node is stopped = %v, want under 1s", p)
	}

	if err := nodes[victim].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT: %v", err)
	}
	stopped = false
	resumed := time.Now()
	served0 := groupInfo(t, ctx, cv, faultGroup)["server_requests"]
	// Fresh keys, one at a time, until the owner answers one: a breaker
	// may hold requests back for a while after the stop.
	var tries int
	for _, k := range keys[2*wave:] {
		tries++
		if got, err := cls[0].Get(ctx, fkey(k)).Result(); err != nil || got != trueValue(k) {
			t.Errorf("GET %s after SIGCONT = %q, %v", k, got, err)
		}
		if groupInfo(t, ctx, cv, faultGroup)["server_requests"] > served0 {
			break
		}
		if time.Since(resumed) > 15*time.Second {
			t.Fatalf("the resumed owner served none of %d fresh keys within 15s of SIGCONT", tries)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if groupInfo(t, ctx, cv, faultGroup)["server_requests"] == served0 {
		t.Errorf("the resumed owner served none of %d fresh keys after SIGCONT", tries)
	}
	var peerErrs int64
	for _, c := range cls {
		peerErrs += groupInfo(t, ctx, c, faultGroup)["peer_errors"]
	}
	t.Logf("owner SIGSTOPped for %v (peer timeout %v): first wave of %d fresh keys %v; the first again %v; second wave of fresh keys %v; keys of running owners %v",
		stopFor.Round(time.Millisecond), peerTimeout, wave, &first, &repeat, &second, &control)
	t.Logf("peer_errors %d; after SIGCONT the owner served again after %v (%d fresh keys tried)",
		peerErrs, time.Since(resumed).Round(time.Millisecond), tries)
}
