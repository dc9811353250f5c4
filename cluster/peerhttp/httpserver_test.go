package peerhttp_test

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
)

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// pipeListener is a net.Listener whose connections are net.Pipes handed
// to it by dial, so that a server runs inside a synctest bubble.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// dial returns the client end of a new connection to the server.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

// TestNewServerSlowloris sends a request's headers one line per second
// to the server NewServer returns, with its real timeouts (synctest's
// clock makes that instant). The server must drop the connection
// ServerReadHeaderTimeout after it opened; a prompt request is served.
func TestNewServerSlowloris(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := peerhttp.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "hi")
		}), nil)
		srv.ErrorLog = discardLog()
		ln := newPipeListener()
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()

		// A prompt client is served.
		c := ln.dial()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if b, _ := io.ReadAll(c); len(b) == 0 {
			t.Errorf("prompt request got no answer")
		}
		c.Close()

		// A trickling one is cut.
		c = ln.dial()
		start := time.Now()
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
			for {
				if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
					return // the server dropped us
				}
				time.Sleep(time.Second)
			}
		}()
		_, _ = io.ReadAll(c) // until the server closes
		cut := time.Since(start)
		c.Close()
		<-wrote // its next write fails
		if cut > peerhttp.ServerReadHeaderTimeout+time.Second {
			t.Errorf("trickling client cut after %v, want at most %v", cut, peerhttp.ServerReadHeaderTimeout+time.Second)
		}
		if cut < peerhttp.ServerReadHeaderTimeout {
			t.Errorf("trickling client cut after %v, before ServerReadHeaderTimeout %v", cut, peerhttp.ServerReadHeaderTimeout)
		}

		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
}

// TestNewServerBounds checks the documented values.
func TestNewServerBounds(t *testing.T) {
	srv := peerhttp.NewServer(http.NotFoundHandler(), nil)
	if srv.ReadHeaderTimeout != peerhttp.ServerReadHeaderTimeout || srv.ReadTimeout != peerhttp.ServerReadTimeout ||
		srv.WriteTimeout != peerhttp.ServerWriteTimeout || srv.IdleTimeout != peerhttp.ServerIdleTimeout ||
		srv.MaxHeaderBytes != peerhttp.ServerMaxHeaderBytes || srv.TLSConfig != nil {
		t.Errorf("NewServer = %+v, want the documented bounds and no TLS", srv)
	}
	if srv.WriteTimeout <= time.Minute {
		t.Errorf("WriteTimeout = %v, want more than the longest peer deadline (1m)", srv.WriteTimeout)
	}
}
