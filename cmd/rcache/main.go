// Command rcache runs one node of a distributed read-through cache that
// speaks the Redis protocol.
//
// With no flags it serves the demo group "scores" on 127.0.0.1:6380:
//
//	go run ./cmd/rcache
//	redis-cli -p 6380 GET scores:Tom
//
// With --config it reads its settings and groups from a YAML file (see
// package config and the repository's examples/), and the flags given on
// the command line override the file:
//
//	go run ./examples/mkdb examples/scores.db < examples/scores.sql
//	go run ./cmd/rcache --config examples/sqlite.yaml
//
// cmd/rcache is the one place that reads flags and the environment. Run
// rcache -h for the flags and the --group SOURCE forms.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/config"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/metrics"
	"github.com/rcache/rcache/resp"
	"github.com/rcache/rcache/status"
)

// version is the rcache release; the build may override it with -ldflags.
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "rcache:", err)
		os.Exit(1)
	}
}

// run starts a node from args and serves until ctx ends, then shuts down
// gracefully. env looks up the environment variables the configuration
// file names. ready, if not nil, is called with the bound addresses once
// both listeners accept connections.
func run(ctx context.Context, args []string, env lookupEnv, stderr io.Writer, ready func(respAddr, peerAddr string)) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var file *config.File
	if o.config != "" {
		if file, err = config.Load(o.config); err != nil {
			return err
		}
	}
	n, err := resolve(o, file, env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: n.logLevel}))

	if len(n.peers) > 0 && (n.gossipAddr != "" || n.peersDNS != "") {
		return errors.New("peers are listed (--peers or the config file) and discovered (--join, --gossip-addr or --peers-dns): choose one")
	}
	reg := group.NewRegistry()
	// rs and pool are set before any listener accepts, so before any
	// scrape.
	var (
		rs   *resp.Server
		pool *peerhttp.Pool
	)
	mx, err := metrics.New(metrics.Config{
		Groups: groupMetrics(reg),
		RESP:   respMetrics(&rs),
		Peers:  peerMetrics(&pool),
		Logger: log,
	})
	if err != nil {
		return err
	}
	def, err := reg.NewGroupWithConfig(group.Config{
		Name:       config.DefaultGroup,
		CacheBytes: n.maxMemory,
		Getter:     group.GetterFunc(noOrigin),
		Logger:     log,
		OnLoad:     observeLoad(mx, config.DefaultGroup),
	})
	if err != nil {
		return err
	}
	groups := []*group.Group{def}
	// The origins that hold files or connections open are closed when run
	// returns: after the servers have stopped, so that no request is still
	// loading from them.
	type openOrigin struct {
		group string
		io.Closer
	}
	var opened []openOrigin
	defer func() {
		for _, o := range opened {
			if err := o.Close(); err != nil {
				log.Warn("close origin", "group", o.group, "err", err)
			}
		}
	}()
	for _, spec := range n.groups {
		getter, closer, err := spec.origin.open(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", spec.where, err)
		}
		if closer != nil {
			opened = append(opened, openOrigin{spec.name, closer})
		}
		g, err := reg.NewGroupWithConfig(group.Config{
			Name:           spec.name,
			CacheBytes:     spec.cacheBytes,
			Getter:         getter,
			TTL:            spec.ttl,
			TTLJitter:      spec.ttlJitter,
			NegativeTTL:    spec.negativeTTL,
			HotTTL:         spec.hotTTL,
			MaxStale:       spec.maxStale,
			HotProbability: spec.hotProbability,
			HotRandomOnly:  spec.hotRandomOnly,
			LoadTimeout:    spec.loadTimeout,
			MaxOriginCalls: spec.maxOriginCalls,
			Logger:         log,
			OnLoad:         observeLoad(mx, spec.name),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", spec.where, err)
		}
		groups = append(groups, g)
		// Never log an origin's settings: they may hold secrets.
		log.Info("group", "name", spec.name, "origin", spec.origin.kind, "max_memory", spec.cacheBytes, "ttl", spec.ttl)
	}

	budgets := make([]int64, len(groups))
	for i, g := range groups {
		budgets[i] = g.Config().CacheBytes
	}
	prevLimit := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prevLimit)
	if limit, derived := setMemoryLimit(budgets, env); derived {
		log.Info("memory limit derived from the budgets", "gomemlimit", limit)
	}
	if prev, set := setGCPercent(env); set {
		defer debug.SetGCPercent(prev)
	}

	tc, err := loadTLS(n.tls)
	if err != nil {
		return err
	}
	scheme := "http"
	if tc.peerServer != nil {
		scheme = "https"
	}

	// Until the servers run, undo collects what an early return must close.
	var undo []func()
	defer func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}()
	respLn, err := net.Listen("tcp", n.addr)
	if err != nil {
		return fmt.Errorf("listen for clients: %w", err)
	}
	undo = append(undo, func() { respLn.Close() })
	peerLn, err := net.Listen("tcp", n.peerAddr)
	if err != nil {
		return fmt.Errorf("listen for peers: %w", err)
	}
	undo = append(undo, func() { peerLn.Close() })
	var metricsLn net.Listener
	if n.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", n.metricsAddr); err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		undo = append(undo, func() { metricsLn.Close() })
	}
	self, peers, err := clusterURLs(scheme, n.self, n.peers, n.peerAddr, peerLn.Addr())
	if err != nil {
		return err
	}

	pool, err = peerhttp.New(self, peerhttp.Config{
		Registry: reg,
		Logger:   log,
		Secret:   n.peerSecret,
		TLS:      tc.peerClient,
		Observe:  mx.ObservePeer,
		// peerhttp takes 0 as its default and a negative window as off.
		HandoffWindow:  cmp.Or(n.handoffWindow, -1),
		Joining:        len(n.join) > 0 || n.peersDNS != "",
		DisableStreams: !n.peerStreams,
	})
	if err != nil {
		return err
	}
	undo = append(undo, pool.Close)
	// After a ring change, the copies of keys that moved away are dropped
	// once the new owners have had the hand-off window to ask for them:
	// served from here, they would miss every later write, made at the
	// new owner.
	var sweep sweeper
	defer sweep.stop()
	owns := func(key string) bool { _, remote := pool.PickPeer(key); return !remote }
	// setMembers is called by one goroutine at a time: here, then by the
	// membership's OnChange, which never runs concurrently with itself.
	ringChanges := int64(-1)
	setMembers := func(urls []string) {
		pool.Set(urls...)
		// The pool ignores a list it already has (a restatement, or
		// duplicates): then there is no new ring to report or sweep.
		c := pool.RingChanges()
		if c == ringChanges {
			return
		}
		ringChanges = c
		mx.ObserveMembership(len(pool.Members()))
		sweep.schedule(n.handoffWindow, func() {
			for _, g := range groups {
				if d := g.DropUnowned(owns); d > 0 {
					log.Info("dropped the keys this node no longer owns", "group", g.Name(), "keys", d)
				}
			}
		})
	}
	setMembers(peers)
	for _, g := range groups {
		g.RegisterPeers(pool)
	}
	fl, err := startFleet(ctx, n, self, setMembers, log)
	if err != nil {
		return err
	}
	defer fl.leave(log)

	rs, err = resp.New(resp.Config{
		Registry:    reg,
		Default:     def,
		Cluster:     pool,
		RequirePass: n.requirePass,
		Logger:      log,
		Version:     version,

		MaxClients:                 n.maxClients,
		AllowRemoteWithoutPassword: n.allowRemote,
		IdleTimeout:                n.idleTimeout,
		KeepAlive:                  n.keepAlive,
		WriteTimeout:               n.writeTimeout,
		TLS:                        tc.resp,
	})
	if err != nil {
		return err
	}
	page := status.Handler(&statusSource{self: self, respAddr: respLn.Addr().String(), started: time.Now(), pool: pool, reg: reg})
	admin := http.NewServeMux()
	admin.Handle("/metrics", mx.Handler())
	admin.Handle("/", page)
	mux := http.NewServeMux()
	mux.Handle(peerhttp.DefaultBasePath, pool)
	if metricsLn == nil {
		mux.Handle("/", admin)
	}
	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	hs := peerhttp.NewServer(mux, tc.peerServer)
	hs.ErrorLog = errorLog
	servers := []*http.Server{hs}
	errc := make(chan error, 3)
	if tc.peerServer != nil {
		go func() { errc <- serveErr("peer server", hs.ServeTLS(peerLn, "", "")) }()
	} else {
		go func() { errc <- serveErr("peer server", hs.Serve(peerLn)) }()
	}
	if metricsLn != nil {
		ms := &http.Server{Handler: admin, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errorLog}
		servers = append(servers, ms)
		go func() { errc <- serveErr("metrics server", ms.Serve(metricsLn)) }()
	}
	go func() { errc <- serveErr("resp server", rs.Serve(respLn)) }()
	undo = nil // the servers own the listeners now
	log.Info("rcache started", "version", version, "addr", respLn.Addr().String(),
		"peer_addr", peerLn.Addr().String(), "self", self, "peers", len(peers), "gossip_addr", fl.gossipAddr(),
		"groups", strings.Join(groupNames(groups), ","), "max_memory", n.maxMemory, "tls", tc.resp != nil)
	if ready != nil {
		ready(respLn.Addr().String(), peerLn.Addr().String())
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		log.Error("server stopped", "err", serveErr)
	}
	// Leave first: the others stop routing keys here while this node still
	// answers the requests they sent before they knew. Then hand the
	// hottest entries to their new owners, so that they need not ask
	// their origins.
	sweep.stop() // the hand-off below needs this node's entries
	fl.leave(log)
	handoff(pool, groups, n.handoffKeys, log)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{serveErr, rs.Shutdown(sctx)}
	for _, s := range servers {
		errs = append(errs, s.Shutdown(sctx))
	}
	err = errors.Join(errs...)
	// Loads a client gave up on may still be running; stop them before the
	// origins close.
	for _, g := range groups {
		g.Close()
	}
	pool.Close()
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// handoffTimeout bounds the hand-off of a leaving node's entries.
const handoffTimeout = 5 * time.Second

// handoff pushes up to max of each group's most recently used entries to
// their owners once this node is off the ring. A node alone has no one to
// hand to.
func handoff(pool *peerhttp.Pool, groups []*group.Group, max int, log *slog.Logger) {
	if max <= 0 || len(pool.Members()) <= 1 {
		return
	}
	pool.Leave()
	ctx, cancel := context.WithTimeout(context.Background(), handoffTimeout)
	defer cancel()
	start := time.Now()
	total := 0
	for _, g := range groups {
		n, err := g.Handoff(ctx, pool.PickPeer, max)
		total += n
		if err != nil {
			log.Warn("hand-off", "group", g.Name(), "pushed", n, "err", err)
		}
	}
	log.Info("handed off", "entries", total, "took", time.Since(start).Round(time.Millisecond))
}

// serveErr turns the normal end of a server into nil.
func serveErr(what string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// noOrigin is the default group's origin: it has no data, so a miss is nil.
func noOrigin(context.Context, string) ([]byte, error) { return nil, group.ErrNotFound }

func groupNames(gs []*group.Group) []string {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Name()
	}
	return names
}
