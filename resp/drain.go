package resp

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// listener is the net.Listener that Serve accepts from. It wraps each
// accepted connection (see Server.wrapConn), and once Shutdown has closed the
// real listener it holds Serve's accept loop back until the connections
// are drained, so that Serve returns only once they are gone.
type listener struct {
	net.Listener
	s       *Server
	drained chan struct{} // closed by Shutdown once the connections are gone

	errMu sync.Mutex // guards err
	err   error      // the error that ended Accept, when Shutdown did not
}

// Accept returns the next connection. After a temporary failure (out of
// file descriptors, say) it waits a little before trying again, as
// net/http does, instead of spinning. It fails only once the listener is
// closed.
func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return l.s.wrapConn(c), nil
		}
		l.s.mu.Lock()
		closing := l.s.closing
		l.s.mu.Unlock()
		if closing {
			<-l.drained
			return nil, net.ErrClosed
		}
		if errors.Is(err, net.ErrClosed) {
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			return nil, err
		}
		delay = min(max(2*delay, 5*time.Millisecond), time.Second)
		l.s.h.cfg.Logger.Warn("accept failed, retrying", "err", err, "delay", delay)
		time.Sleep(delay)
	}
}

// errRefused ends a connection that admit refused.
var errRefused = errors.New("resp: connection refused")

// abort closes the connection at once.
func (c *trackedConn) abort() error {
	if c.sock != nil {
		return c.sock.abort()
	}
	return c.Conn.Close()
}

func (l *listener) acceptErr() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// trackedConn is a server connection that Shutdown can drain: it stops
// reading commands once draining, and a read already waiting is woken.
// The connection's reader reads from it only on the connection's
// goroutine, after it has flushed the replies to the commands read before, so a connection waiting
// in Read has nothing in flight.
type trackedConn struct {
	net.Conn             // the guardConn
	sock     *socketConn // under the guard; nil in tests that build a trackedConn by hand

	// refusal, if not "", is the line that refuses the client (see
	// Server.admit): the first Read sends it and ends the connection. It
	// is set before the connection's goroutine starts.
	refusal string

	mu       sync.Mutex // guards reading and draining
	reading  bool       // a Read is waiting on the socket
	draining bool       // Shutdown has begun: read no more commands
}

// Read reads from the connection unless it is draining, in which case it
// reports io.EOF so that the connection's loop closes the connection.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.refusal != "" {
		// Written here, on the connection's goroutine, and not on Serve's
		// accept loop: with TLS, the first write waits on a handshake.
		c.Conn.Write([]byte(c.refusal)) // the connection closes anyway
		return 0, errRefused
	}
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		return 0, io.EOF
	}
	c.reading = true
	c.mu.Unlock()

	n, err := c.Conn.Read(p)

	c.mu.Lock()
	c.reading = false
	draining := c.draining
	c.mu.Unlock()
	if err != nil && n == 0 && draining {
		// The deadline drain set woke us: not a network failure.
		return 0, io.EOF
	}
	return n, err
}

// drain makes the connection close itself the next time it would wait for
// a command. A Read already waiting returns at once: if it raced with
// arriving bytes, the commands they hold still run and get their replies,
// and the next Read reports io.EOF.
func (c *trackedConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if !c.reading {
		return
	}
	if c.sock != nil {
		c.sock.wake() // which a Read the guard makes next cannot undo
	} else {
		c.Conn.SetReadDeadline(time.Now())
	}
}
