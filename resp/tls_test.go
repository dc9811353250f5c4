package resp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/internal/testpki"
)

// testPKI is a CA made for one test and the certificates it signed: one
// for the server at 127.0.0.1, and one for a client.
type testPKI struct {
	pool   *x509.CertPool // the CA
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca := testpki.NewCA(t, "rcache test CA")
	return &testPKI{pool: ca.Pool, server: ca.Issue(t), client: ca.Issue(t)}
}

// serverTLS returns the server's TLS configuration; with mutual, clients
// must present a certificate the CA signed.
func (p *testPKI) serverTLS(mutual bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if mutual {
		c.ClientCAs = p.pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c
}

// dialTLS opens a TLS connection to addr, with the client certificate if
// withCert, closed when the test ends. The handshake is done when the
// first byte is written.
func (p *testPKI) dialTLS(t *testing.T, addr string, withCert bool) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1"}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.client}
	}
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c := tls.Client(raw, cfg)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func TestTLS(t *testing.T) {
	p := newTestPKI(t)
	f := newFixture(t, func(c *Config) { c.TLS = p.serverTLS(false) })
	c, r := p.dialTLS(t, f.addr, false)
	ping(t, c, r)
	if _, err := io.WriteString(c, multibulk("GET", "scores:Tom")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, r, 9); got != "$3\r\n630\r\n" {
		t.Errorf("GET scores:Tom = %q, want 630", got)
	}
	// The guard reads the plaintext: a length redcon alone would crash on.
	if _, err := io.WriteString(c, "*1\r\n$9223372036854775807\r\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadString('\n'); got != "-ERR Protocol error: invalid bulk length\r\n" {
		t.Errorf("huge bulk length = %q, %v; want the protocol error", got, err)
	}
	expectEOF(t, r)
}

func TestTLSRefusesPlaintext(t *testing.T) {
	p := newTestPKI(t)
	f := newFixture(t, func(c *Config) { c.TLS = p.serverTLS(false) })
	c, r := dial(t, f.addr)
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadString('\n'); got != errTLSRequired {
		t.Errorf("plain PING = %q, %v; want %q", got, err, errTLSRequired)
	}
	expectEOF(t, r)
	if got := f.srv.h.tlsErrors.Load(); got != 1 {
		t.Errorf("tlsErrors = %d, want 1", got)
	}
	tc, tr := p.dialTLS(t, f.addr, false) // the server goes on
	ping(t, tc, tr)
}

func TestMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	f := newFixture(t, func(c *Config) { c.TLS = p.serverTLS(true) })

	c, r := p.dialTLS(t, f.addr, true)
	ping(t, c, r)

	// Without a certificate: under TLS 1.3 the client's handshake ends
	// before the server has checked it, so the refusal shows on the
	// first read.
	c2, r2 := p.dialTLS(t, f.addr, false)
	io.WriteString(c2, "PING\r\n")
	got, err := io.ReadAll(r2)
	if len(got) > 0 || err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("PING without a client certificate read %q, %v; want a certificate required alert", got, err)
	}
	ping(t, c, r) // the other client goes on
}

// TestTLSProtectedMode checks that protected mode judges the TCP peer's
// address under TLS, and that its refusal goes out over TLS.
func TestTLSProtectedMode(t *testing.T) {
	p := newTestPKI(t)
	f := newRegistry(t)
	srv, err := New(Config{Registry: f.reg, Default: f.def, TLS: p.serverTLS(false)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []net.Addr
	srv.isLoopback = func(a net.Addr) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a)
		return len(seen) == 1 // the first client is local, the next remote
	}
	addr := serve(t, srv)

	c, r := p.dialTLS(t, addr, false)
	ping(t, c, r)
	_, r2 := p.dialTLS(t, addr, false)
	if line, err := r2.ReadString('\n'); line != errProtected {
		t.Errorf("remote client got %q, %v; want the protected mode refusal", line, err)
	}
	expectEOF(t, r2)

	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if ta, ok := a.(*net.TCPAddr); !ok || ta.String() == addr {
			t.Errorf("isLoopback(%v (%T)), want the TCP peer's address", a, a)
		}
	}
	if got := srv.h.rejectedProtected.Load(); got != 1 {
		t.Errorf("rejectedProtected = %d, want 1", got)
	}
}

// TestShutdownDuringTLSHandshake checks that Shutdown does not wait for a
// client that connected and never started its handshake.
func TestShutdownDuringTLSHandshake(t *testing.T) {
	p := newTestPKI(t)
	f := newRegistry(t)
	srv, err := New(Config{Registry: f.reg, Default: f.def, TLS: p.serverTLS(false)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c, r := dial(t, ln.Addr().String())
	defer c.Close()
	waitConns(t, srv, 1)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if d := time.Since(start); d > handshakeTimeout/2 {
		t.Errorf("Shutdown took %v, waiting on the handshake", d)
	}
	expectEOF(t, r)
}
