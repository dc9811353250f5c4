package resp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// scores is the origin of the "scores" group: checkable by hand.
var scores = map[string]string{"Tom": "630", "Jack": "589", "Sam": "567"}

// fixture is a running Server with its own registry: "default" (no
// origin: a miss is nil), "scores" (a counting Getter over scores) and
// "errs" (a Getter that always fails, naming a host the reply must not
// show).
type fixture struct {
	srv  *Server
	addr string
	reg  *group.Registry
	def  *group.Group

	mu    sync.Mutex     // guards loads
	loads map[string]int // Getter calls of "scores" per key

	clock *fakeClock // the default group's clock
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newRegistry returns the fixture's groups, without a server.
func newRegistry(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		reg:   group.NewRegistry(),
		loads: make(map[string]int),
		clock: &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	var err error
	f.def, err = f.reg.NewGroupWithConfig(group.Config{
		Name: "default",
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return nil, group.ErrNotFound
		}),
		Now: f.clock.Now,
	})
	if err != nil {
		t.Fatalf("NewGroupWithConfig(default): %v", err)
	}
	f.reg.NewGroup("scores", 1<<20, group.GetterFunc(func(_ context.Context, key string) ([]byte, error) {
		f.mu.Lock()
		f.loads[key]++
		f.mu.Unlock()
		if v, ok := scores[key]; ok {
			return []byte(v), nil
		}
		return nil, group.ErrNotFound
	}))
	f.reg.NewGroup("errs", 1<<20, group.GetterFunc(func(context.Context, string) ([]byte, error) {
		return nil, errors.New("dial tcp 10.1.2.3:5432: connection refused")
	}))
	return f
}

func (f *fixture) loadCount(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads[key]
}

// newFixture starts a server over newRegistry's groups. edit, if not nil,
// adjusts its Config. The server is shut down when the test ends.
func newFixture(t testing.TB, edit func(*Config)) *fixture {
	t.Helper()
	f := newRegistry(t)
	cfg := Config{Registry: f.reg, Default: f.def, Version: "test"}
	if edit != nil {
		edit(&cfg)
	}
	f.srv, f.addr = startServer(t, cfg)
	return f
}

// startServer starts a Server for cfg on 127.0.0.1:0. Connections are
// queued from the moment it returns, and t.Cleanup shuts it down and checks
// that Serve returned nil.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv, serve(t, srv)
}

// serve starts srv on 127.0.0.1:0 and returns its address, as startServer
// does, for a Server a test has adjusted after New.
func serve(t testing.TB, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	})
	return ln.Addr().String()
}

// blockingGroup adds to f's registry a group "slow" whose Getter reports
// each call on entered, then waits for release.
func (f *fixture) blockingGroup(t testing.TB) (entered <-chan string, release chan<- struct{}) {
	t.Helper()
	in := make(chan string, 16)
	rel := make(chan struct{})
	f.reg.NewGroup("slow", 1<<20, group.GetterFunc(func(_ context.Context, key string) ([]byte, error) {
		in <- key
		<-rel
		return []byte("v:" + key), nil
	}))
	return in, rel
}

// dial opens a raw connection to addr, closed when the test ends.
func dial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readN reads exactly n bytes.
func readN(t testing.TB, r io.Reader, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

// expectEOF checks that the server closed the connection without sending
// more. A reset counts as a close: bytes the client sent after the server
// stopped reading (after QUIT, say) make the server's kernel answer the
// close with a reset.
func expectEOF(t testing.TB, r io.Reader) {
	t.Helper()
	b, err := io.ReadAll(r)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	if err != nil || len(b) > 0 {
		t.Errorf("after close read %q, %v; want nothing, EOF", b, err)
	}
}

func TestConfigValidate(t *testing.T) {
	f := newRegistry(t)
	other := group.NewRegistry()
	tests := []struct {
		name string
		cfg  Config
		want string // a substring of the error; "" for none
	}{
		{"ok", Config{Registry: f.reg, Default: f.def}, ""},
		{"nil default", Config{Registry: f.reg}, "nil Default"},
		{"default not in registry", Config{Registry: other, Default: f.def}, "not in Registry"},
		{"nil registry means the default one", Config{Default: f.def}, "not in Registry"},
		{"negative timeout", Config{Registry: f.reg, Default: f.def, CommandTimeout: -time.Second}, "negative CommandTimeout"},
		{"negative max clients", Config{Registry: f.reg, Default: f.def, MaxClients: -1}, "negative MaxClients"},
		{"negative idle timeout", Config{Registry: f.reg, Default: f.def, IdleTimeout: -1}, "negative IdleTimeout"},
		{"output limit under the bulk limit", Config{Registry: f.reg, Default: f.def, MaxBulkBytes: 1 << 20, MaxOutputBytes: 1<<20 + 63}, "MaxOutputBytes"},
		{"output limit fits the bulk limit", Config{Registry: f.reg, Default: f.def, MaxBulkBytes: 1 << 20, MaxOutputBytes: 1<<20 + 64}, ""},
		{"no output limit", Config{Registry: f.reg, Default: f.def, MaxOutputBytes: -1, WriteTimeout: -1, KeepAlive: -1}, ""},
		{"default output limit follows the bulk limit", Config{Registry: f.reg, Default: f.def, MaxBulkBytes: 512 << 20}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, err := New(tt.cfg); (err == nil) != (tt.want == "") {
				t.Errorf("New() error = %v, want error %v", err, tt.want != "")
			}
		})
	}
}

// shutdownWatch is a Shutdown ctx that tells when Shutdown starts waiting
// on it: by then it has stopped accepting and drained the idle connections,
// and waits only for the commands in flight.
type shutdownWatch struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func newShutdownWatch(ctx context.Context) *shutdownWatch {
	return &shutdownWatch{Context: ctx, waiting: make(chan struct{})}
}

func (w *shutdownWatch) Done() <-chan struct{} {
	w.once.Do(func() { close(w.waiting) })
	return w.Context.Done()
}

func TestShutdownLetsCommandsInFlightFinish(t *testing.T) {
	f := newFixture(t, nil)
	entered, release := f.blockingGroup(t)

	busy, busyR := dial(t, f.addr)
	idle, idleR := dial(t, f.addr)
	if _, err := io.WriteString(idle, "PING\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, idleR, 7); got != "+PONG\r\n" {
		t.Fatalf("PING = %q", got)
	}
	if _, err := io.WriteString(busy, "GET slow:k\r\n"); err != nil {
		t.Fatal(err)
	}
	<-entered // the GET is in flight

	ctx := newShutdownWatch(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- f.srv.Shutdown(ctx) }()
	<-ctx.waiting

	expectEOF(t, idleR) // the idle connection is closed at once
	if _, err := net.Dial("tcp", f.addr); err == nil {
		t.Errorf("Dial after Shutdown began succeeded, want refused")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a command in flight", err)
	default:
	}

	close(release)
	if got, want := readN(t, busyR, 9), "$3\r\nv:k\r\n"; got != want {
		t.Errorf("in-flight GET = %q, want %q", got, want)
	}
	expectEOF(t, busyR)
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
}

func TestShutdownGivesUpWhenCtxEnds(t *testing.T) {
	f := newFixture(t, nil)
	entered, release := f.blockingGroup(t)
	// The load runs detached from the command: let it end before the test
	// does, so that no goroutine outlives it.
	defer close(release)

	c, r := dial(t, f.addr)
	if _, err := io.WriteString(c, "GET slow:k\r\n"); err != nil {
		t.Fatal(err)
	}
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown(cancelled ctx) = %v, want context.Canceled", err)
	}
	// The connection was closed under the command: its reply may or may
	// not have made it, but nothing else may follow.
	b, _ := io.ReadAll(r)
	if s := string(b); s != "" && s != "-"+string(errShutdown)+"\r\n" {
		t.Errorf("after forced shutdown read %q", s)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	f := newRegistry(t)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown before Serve = %v, want nil", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err == nil {
		t.Errorf("Serve after Shutdown = nil, want an error")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Errorf("Serve after Shutdown left the listener open")
	}
}

func TestServeListenerClosed(t *testing.T) {
	f := newRegistry(t)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
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
	io.WriteString(c, "PING\r\n")
	readN(t, r, 7) // Serve is running

	ln.Close()
	if err := <-served; err == nil || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after its listener closed = %v, want net.ErrClosed", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	expectEOF(t, r)
}

func TestShutdownTwice(t *testing.T) {
	f := newFixture(t, nil)
	c, r := dial(t, f.addr)
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		t.Fatal(err)
	}
	readN(t, r, 7)
	for i := range 2 {
		if err := f.srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown #%d = %v, want nil", i+1, err)
		}
	}
	expectEOF(t, r)
}

func TestConnectionCount(t *testing.T) {
	f := newFixture(t, nil)
	for range 3 {
		c, r := dial(t, f.addr)
		io.WriteString(c, "PING\r\n")
		readN(t, r, 7)
	}
	if got := f.srv.h.connected.Load(); got != 3 {
		t.Errorf("connected = %d, want 3", got)
	}
	if got := f.srv.h.received.Load(); got != 3 {
		t.Errorf("received = %d, want 3", got)
	}
}
