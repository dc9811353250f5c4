package resp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// writeChunkBytes is the most a socketConn writes to the socket under one
// write deadline: a client must take this much of its replies every
// WriteTimeout. Twice flushBytes, so that the replies of a pipeline, which
// a connection flushes once flushBytes of them pend, go in one write: at
// 64 KiB, a pipeline of 16 GETs of 4 KiB values (65.7 KB of replies) took
// two writes, the second of 208 bytes, and 6-13% more CPU per GET than
// with one.
const writeChunkBytes = 2 * flushBytes

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 10 * time.Second

// errTLSRequired is the line, in plain text, sent to a client that speaks
// plain RESP to a TLS port. Redis closes such a connection without a word;
// the line tells redis-cli's user why.
const errTLSRequired = "-ERR Protocol error: this port requires TLS\r\n"

// socketConn is an accepted connection as the guard reads it: it does the
// TLS handshake, when there is TLS, within handshakeTimeout, and puts
// Config's idle read timeout and write timeout on the socket. It is read
// and written by the goroutine serving the connection; wake and Close may
// be called from any goroutine.
type socketConn struct {
	net.Conn           // the *tls.Conn with TLS; raw without
	raw      net.Conn  // the connection accepted, under TLS
	tls      *tls.Conn // nil without TLS
	idle     time.Duration
	write    time.Duration // <= 0: no write deadline

	handshakeErrs *atomic.Int64 // counts failed TLS handshakes
	handshook     bool          // the TLS handshake is done (or there is none); used only by the serving goroutine

	mu    sync.Mutex // guards woken and the read deadline
	woken bool       // wake was called: every read from now fails at once
}

// wrapConn returns c, just accepted, as the connection's reader reads it: the
// socket under TLS if configured, the guard over it, and the trackedConn
// over that, which Shutdown drains.
func (s *Server) wrapConn(c net.Conn) *trackedConn {
	cfg := &s.h.cfg
	if tc, ok := c.(*net.TCPConn); ok {
		// As Redis's tcp-keepalive sets it: the first probe after the
		// period, then one every third of it, three at most. An error
		// (the socket is already gone) shows on the first read.
		tc.SetKeepAliveConfig(net.KeepAliveConfig{
			Enable:   cfg.KeepAlive > 0,
			Idle:     cfg.KeepAlive,
			Interval: max(cfg.KeepAlive/3, time.Second),
			Count:    3,
		})
	}
	sc := &socketConn{Conn: c, raw: c, idle: cfg.IdleTimeout, write: cfg.WriteTimeout, handshook: true}
	if cfg.TLS != nil {
		sc.tls = tls.Server(c, cfg.TLS)
		sc.Conn, sc.handshook = sc.tls, false
		sc.handshakeErrs = &s.h.tlsErrors
	}
	return &trackedConn{Conn: newGuardConn(sc, s.lim), sock: sc}
}

// Read reads from the socket; with an IdleTimeout, it gives up when no
// byte arrives for that long.
func (s *socketConn) Read(p []byte) (int, error) {
	if err := s.handshake(); err != nil {
		return 0, err
	}
	if s.idle > 0 {
		s.mu.Lock()
		if s.woken {
			s.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		s.Conn.SetReadDeadline(time.Now().Add(s.idle))
		s.mu.Unlock()
	}
	return s.Conn.Read(p)
}

// Write writes p to the socket in chunks of at most writeChunkBytes, each
// of which must be taken within WriteTimeout. Writing nothing does nothing,
// not even a TLS handshake, so that Serve can close a connection from its
// accept loop without blocking on the client.
func (s *socketConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := s.handshake(); err != nil {
		return 0, err
	}
	if s.write <= 0 {
		return s.Conn.Write(p)
	}
	n := 0
	for n < len(p) {
		end := min(len(p), n+writeChunkBytes)
		s.Conn.SetWriteDeadline(time.Now().Add(s.write))
		k, err := s.Conn.Write(p[n:end])
		n += k
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("resp: write to %s: the client did not take %d bytes of replies within %v: %w", s.raw.RemoteAddr(), end-n, s.write, err)
			}
			return n, err
		}
	}
	return n, nil
}

// handshake does the TLS handshake, if there is one to do, within
// handshakeTimeout. A client that sent plain RESP is told, in plain text,
// that the port requires TLS.
func (s *socketConn) handshake() error {
	if s.handshook {
		return nil
	}
	s.handshook = true
	// Under the lock, as wake sets its deadline: a wake that came before
	// the handshake began must not be overwritten by the handshake's.
	s.mu.Lock()
	deadline := time.Now().Add(handshakeTimeout)
	if s.woken {
		deadline = time.Now()
	}
	s.tls.SetDeadline(deadline)
	s.mu.Unlock()
	err := s.tls.Handshake()
	if err != nil {
		s.handshakeErrs.Add(1)
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && rh.Conn != nil {
			rh.Conn.SetWriteDeadline(time.Now().Add(handshakeTimeout))
			rh.Conn.Write([]byte(errTLSRequired)) // the connection closes anyway
		}
		return fmt.Errorf("resp: tls handshake with %s: %w", s.raw.RemoteAddr(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep the deadline wake set, if it came during the handshake: the
	// next Read fails on woken anyway, but a Write must not block.
	if !s.woken {
		s.tls.SetDeadline(time.Time{})
	}
	return nil
}

// wake makes the Read waiting on the socket, if any, and every Read after,
// fail at once.
func (s *socketConn) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.woken = true
	s.Conn.SetReadDeadline(time.Now())
}

// abort closes the socket at once, without the TLS close_notify alert,
// whose write could wait on a client that does not read.
func (s *socketConn) abort() error {
	return s.raw.Close()
}
