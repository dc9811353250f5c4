// Package resp serves rcache's groups to Redis clients over the Redis
// protocol (RESP2 and RESP3). It reads commands itself (reader.go) and
// writes replies with github.com/tidwall/redcon's Writer.
//
// A client key "name:key" addresses key in the configured group name; any
// other key (no colon, an unknown prefix, or the default group's own name)
// is the whole string in the default group. GET and MGET read through the
// groups' loaders; SET, DEL, INCR and the expiry commands act at each key's
// owner. DBSIZE, FLUSHDB and INFO see only this node; FLUSHALL and
// RCACHE.FLUSH reach every node.
//
// Every accepted connection passes through a framing guard (guard.go)
// before the connection's reader parses it, so that no malformed or
// oversized input reaches the parser. Under the guard is the socket
// (socket.go): TLS, when configured, and the write, idle and keepalive
// timeouts. The server writes a connection's replies out as they grow
// (afterReply), so what it holds for a client that does not read is
// bounded by MaxOutputBytes and WriteTimeout.
package resp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/tidwall/redcon"
)

// errServerClosed is returned by Serve once Shutdown has been called.
var errServerClosed = errors.New("resp: server closed")

// errShutdown is the cause given to the commands in flight when Shutdown's
// ctx ends before they do.
var errShutdown = replyError("ERR server is shutting down")

// Server answers Redis clients from the groups of a Registry. It is safe for
// concurrent use. Each connection is served by one goroutine, which runs
// its commands in order and is the only one that writes to it.
type Server struct {
	h   *handler
	lim guardLimits // the framing guard's limits, from the Config

	// isLoopback reports whether a client's remote address is on this
	// host, for protected mode; isLoopbackAddr, but tests replace it
	// before Serve.
	isLoopback func(net.Addr) bool

	// cancelBase cancels h.base, the parent of every command's context,
	// when Shutdown gives up waiting for the commands in flight.
	cancelBase context.CancelCauseFunc

	mu        sync.Mutex           // guards ln, conns, closing, idle and serveDone
	ln        *listener            // set by Serve
	conns     map[*client]struct{} // open connections
	closing   bool                 // Shutdown has begun: accept no more connections
	idle      chan struct{}        // closed once closing and conns is empty
	serveDone chan struct{}        // closed when Serve returns; nil before Serve

	drainOnce sync.Once // closes ln.drained

	// pipeBufs holds the readers' pipeline buffers (*[]byte of
	// pipeBufBytes) between a connection's bursts, for any connection.
	pipeBufs sync.Pool
}

// New returns a Server for cfg, or the reason cfg is invalid.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	base, cancel := context.WithCancelCause(context.Background())
	s := &Server{
		h:          newHandler(cfg, base, time.Now),
		lim:        newGuardLimits(cfg),
		isLoopback: isLoopbackAddr,
		cancelBase: cancel,
		conns:      make(map[*client]struct{}),
		idle:       make(chan struct{}),
	}
	return s, nil
}

// Serve accepts connections on ln and serves them until Shutdown, then
// returns nil. It returns an error if ln fails for another reason or if
// Shutdown was called before Serve. Serve closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing || s.ln != nil {
		s.mu.Unlock()
		ln.Close()
		if s.closing {
			return errServerClosed
		}
		return errors.New("resp: Serve called twice")
	}
	// Every byte a client sends passes the guard (wrapConn) before the
	// connection's reader.
	l := &listener{Listener: ln, s: s, drained: make(chan struct{})}
	s.ln = l
	done := make(chan struct{})
	s.serveDone = done
	s.mu.Unlock()
	defer close(done)

	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		s.h.port.Store(int64(a.Port))
	}
	addr := ln.Addr().String()
	s.h.addr.Store(&addr)
	s.h.cfg.Logger.Info("serving redis protocol", "addr", ln.Addr().String())
	for {
		// Accept fails only once the listener is closed; when Shutdown
		// closed it, only once the connections are drained.
		c, err := l.Accept()
		if err != nil {
			break
		}
		tc := c.(*trackedConn) // what listener.Accept returns
		cl, ok := s.accept(tc)
		if !ok {
			tc.Close()
			continue
		}
		go s.serveConn(cl)
	}
	ln.Close()
	s.mu.Lock()
	closing := s.closing
	var open []*client
	if !closing {
		for cl := range s.conns {
			open = append(open, cl)
		}
	}
	s.mu.Unlock()
	if closing {
		return nil
	}
	// The listener failed: end every connection (their goroutines then
	// unregister them), outside the lock, as a TLS close writes.
	for _, cl := range open {
		cl.conn.Close()
	}
	return fmt.Errorf("resp: accept: %w", l.acceptErr())
}

// Shutdown stops accepting connections, lets the commands in flight finish
// and send their replies, closes every connection, and waits until every
// goroutine the server started has returned. If ctx ends first, the
// commands still running are cancelled and their connections closed at
// once, and Shutdown returns ctx's error when their goroutines are gone.
// Calling Shutdown again waits the same way.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	ln := s.ln
	serveDone := s.serveDone
	conns := make([]*client, 0, len(s.conns))
	for cl := range s.conns {
		conns = append(conns, cl)
	}
	s.signalIdleLocked()
	s.mu.Unlock()

	if ln != nil {
		// New dials are refused from here on. Serve's accept loop waits in
		// listener.Accept until the connections are drained.
		ln.Listener.Close()
	}
	// A connection closes itself the next time it would wait for a command.
	// One that is waiting now is woken; one that is running a command
	// finishes it, and sends the reply, first.
	for _, cl := range conns {
		cl.conn.drain()
	}

	var err error
	select {
	case <-s.idle: // nothing in flight: done, whatever ctx says
	default:
		err = s.wait(ctx)
	}
	if ln != nil {
		s.drainOnce.Do(func() { close(ln.drained) })
	}
	if serveDone != nil {
		<-serveDone
	}
	s.cancelBase(errShutdown)
	return err
}

// wait waits for the last connection to close, or for ctx to end; then it
// cancels the commands still running, closes their connections and waits
// for their goroutines.
func (s *Server) wait(ctx context.Context) error {
	select {
	case <-s.idle:
		return nil
	case <-ctx.Done():
		s.cancelBase(errShutdown)
		s.mu.Lock()
		for cl := range s.conns {
			cl.conn.abort()
		}
		s.mu.Unlock()
		// Every command waits on its ctx, now cancelled, and every
		// connection's next read or write fails: the goroutines end.
		<-s.idle
		return ctx.Err()
	}
}

// signalIdleLocked closes s.idle once Shutdown has begun and the last
// connection is gone.
func (s *Server) signalIdleLocked() {
	if !s.closing || len(s.conns) > 0 {
		return
	}
	select {
	case <-s.idle:
	default:
		close(s.idle)
	}
}

// accept registers a new connection, and returns its client; it runs on
// Serve's accept loop before the connection's goroutine starts. A
// connection that admit refuses is registered too, so that Shutdown waits
// for its goroutine, which sends the refusal and closes it
// (trackedConn.Read). It reports false once Shutdown has begun.
func (s *Server) accept(tc *trackedConn) (*client, bool) {
	tc.refusal = s.admit(tc)
	cl := s.h.newClient(tc, redcon.NewWriter(tc))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, false
	}
	s.conns[cl] = struct{}{}
	if tc.refusal == "" {
		s.h.connected.Add(1)
		s.h.received.Add(1)
	}
	return cl, true
}

// closed unregisters a connection, closed, as its goroutine ends; err is
// what ended it.
func (s *Server) closed(cl *client, err error) {
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		s.h.cfg.Logger.Debug("connection ended", "addr", cl.addr, "err", err)
	}
	if cl.conn.refusal == "" {
		s.h.connected.Add(-1)
	}
	s.mu.Lock()
	delete(s.conns, cl)
	s.signalIdleLocked()
	s.mu.Unlock()
}

// serveConn serves cl's connection, on a goroutine of its own, until it
// closes: it reads the commands the client sent, as many as arrived at
// once (the pipeline), runs them in order (servePipeline), and sends their
// replies, then reads again.
func (s *Server) serveConn(cl *client) {
	rd := newReader(cl.conn, readerMax(s.lim))
	rd.pipes = &s.pipeBufs
	// With one P, let the other connections' goroutines run before
	// reading: by the time this one reads again, its client has often
	// answered the replies just sent, and the read finds the next commands
	// instead of nothing (a read that returns EAGAIN, a park, a wake by the
	// netpoller). Under GET load this cut the reads per request from 1.99
	// to 1.61-1.79 (-P 1; halved with -P 16) and 5-15% of the CPU per
	// request (docs/performance.md, session 5). Not
	// with more Ps: there a yield wakes an idle P's thread, which made a
	// lone client's round trip 1.5-2.5 times as long, and under load it
	// changed nothing measurable.
	yield := runtime.GOMAXPROCS(0) == 1
	var err error
	for {
		var cmds [][][]byte
		if yield {
			runtime.Gosched()
		}
		if cmds, err = rd.next(); err != nil {
			break
		}
		cl.clock = time.Time{} // these commands start now
		if !s.servePipeline(cl, cmds) {
			break
		}
	}
	if pe, ok := errors.AsType[*parseError](err); ok {
		// The guard let through what the reader cannot parse: a bug.
		// Tell the client, as the guard would have, and say so.
		s.h.cfg.Logger.Error("connection closed: the guard passed a command the reader refuses",
			"client", cl.id, "addr", cl.addr, "err", err)
		cl.w.w.WriteError(string(pe.reply))
		cl.w.flush()
	}
	cl.conn.Close()
	s.closed(cl, err)
}

// flushBytes is how many bytes of replies a connection lets pend before it
// writes them out, in the middle of a pipeline.
const flushBytes = 64 << 10

// serveCommand runs one command and sends or drops its reply (afterReply);
// more says whether commands follow it in the pipeline. It reports false
// once the connection is closing: no further command may run.
func (s *Server) serveCommand(cl *client, args [][]byte, more bool) bool {
	before := cl.w.pending
	s.h.exec(cl, args)
	return s.afterReply(cl, before, more)
}

// afterReply acts on the reply just written, whose bytes begin after
// before pending ones; more says whether commands (or replies of a run of
// GETs) follow it. It reports false once the connection is closing, having
// sent what the closing lets through.
//
// It writes the replies out after the last command of each pipeline read
// and whenever flushBytes are pending, so that a client pipelining GETs of
// large values does not need all of their replies to fit in MaxOutputBytes.
func (s *Server) afterReply(cl *client, before int64, more bool) bool {
	if cl.closing == keepOpen {
		switch {
		case cl.w.over:
			// Send the replies before this command's, none of it, and
			// close. (A copy, but only of what is pending, and only here.)
			s.h.outputLimitCloses.Add(1)
			s.h.cfg.Logger.Warn("connection closed: a reply passed the output limit",
				"client", cl.id, "addr", cl.addr, "maxoutputbytes", s.h.cfg.MaxOutputBytes)
			pend := cl.w.w.Buffer()
			cl.w.w.SetBuffer(pend[:min(before, int64(len(pend)))]) // min: never trust a count to slice
			cl.closing = closeAfterReply
		case cl.w.pending >= flushBytes || !more:
			cl.clock = time.Time{} // a write may block: the next command starts after it
			if err := cl.w.flush(); err != nil {
				// The commands still pipelined must not run.
				s.h.cfg.Logger.Debug("write failed", "client", cl.id, "err", err)
				cl.closing = closeNow
			}
		}
	}
	switch cl.closing {
	case closeAfterReply:
		// The commands pipelined after QUIT do not run; the replies so
		// far, +OK included, go out.
		cl.w.flush()
		return false
	case closeNow:
		cl.w.w.SetBuffer(nil) // like Redis, send nothing more
		return false
	}
	return true
}
