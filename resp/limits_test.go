package resp

import (
	"bytes"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

// bigValue is a 1 MiB value, stored under key "big" by setBig.
var bigValue = strings.Repeat("v", 1<<20)

// setBig stores bigValue under "big" through a raw connection.
func setBig(t *testing.T, addr string) {
	t.Helper()
	c, r := dial(t, addr)
	if _, err := io.WriteString(c, multibulk("SET", "big", bigValue)); err != nil {
		t.Fatalf("SET big: %v", err)
	}
	if got := readN(t, r, 5); got != "+OK\r\n" {
		t.Fatalf("SET big = %q, want +OK", got)
	}
	c.Close()
}

// getBig sends GET big n times, pipelined, on c and checks the n replies.
func getBig(t *testing.T, c io.Writer, r io.Reader, n int) bool {
	t.Helper()
	if _, err := io.WriteString(c, strings.Repeat("GET big\r\n", n)); err != nil {
		t.Errorf("GET big: %v", err)
		return false
	}
	want := bulk(bigValue)
	for i := range n {
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
			t.Errorf("GET big #%d = %.20q…, %v; want %.20q…", i, got, err, want)
			return false
		}
	}
	return true
}

// heapPeak samples the heap in use until stop is called, which returns the
// most it saw.
func heapPeak() (stop func() uint64) {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		return <-result
	}
}

// TestClientThatDoesNotReadIsClosed pipelines GETs of a 1 MiB value, 2 GiB
// of replies, on a connection that never reads them: the server must close
// it once WriteTimeout has passed with its socket buffers full, without
// holding the replies in memory, while another client's GETs go on.
func TestClientThatDoesNotReadIsClosed(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	f := newFixture(t, func(c *Config) { c.WriteTimeout = writeTimeout })
	setBig(t, f.addr)
	waitConns(t, f.srv, 0)
	runtime.GC()
	stop := heapPeak()

	good, goodR := dial(t, f.addr)
	slow, slowR := dial(t, f.addr)
	ping(t, good, goodR)
	ping(t, slow, slowR) // both are registered
	if tc, ok := slow.(interface{ SetReadBuffer(int) error }); ok {
		tc.SetReadBuffer(4 << 10) // fill the socket buffers sooner
	}
	start := time.Now()
	if _, err := io.WriteString(slow, strings.Repeat("GET big\r\n", 2048)); err != nil {
		t.Fatalf("writing the GETs: %v", err)
	}

	// The other client reads 1 MiB replies while the server gives up on
	// the slow one.
	var wg sync.WaitGroup
	closed := make(chan struct{})
	gets := 0
	wg.Go(func() {
		for {
			select {
			case <-closed:
				return
			default:
			}
			if !getBig(t, good, goodR, 1) {
				return
			}
			gets++
		}
	})
	waitConns(t, f.srv, 1) // the slow client is gone, the good one remains
	elapsed := time.Since(start)
	close(closed)
	wg.Wait()
	peak := stop()

	if elapsed < writeTimeout {
		t.Errorf("the client that does not read was closed after %v, before WriteTimeout %v", elapsed, writeTimeout)
	}
	if gets == 0 || !getBig(t, good, goodR, 1) {
		t.Errorf("the other client's GETs: %d succeeded meanwhile, want some, and one after", gets)
	}
	// The replies pending on the slow connection: 64 KiB and a reply.
	// Without the server's flushing, redcon keeps a pipeline's replies, up
	// to 455 MiB here.
	if peak > 48<<20 {
		t.Errorf("peak heap %d MiB, want less than 48 MiB", peak>>20)
	}
	t.Logf("closed after %v (WriteTimeout %v); peak heap %.1f MiB; the other client's GETs meanwhile: %d",
		elapsed.Round(time.Millisecond), writeTimeout, float64(peak)/(1<<20), gets)
}

func TestOutputLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.MaxBulkBytes = 1<<20 + 1
		c.MaxOutputBytes = 3 << 20
	})
	setBig(t, f.addr)

	// A pipeline may pass the limit: its replies go out as they come.
	c1, r1 := dial(t, f.addr)
	getBig(t, c1, r1, 8)

	// One reply may not: the client gets the replies before it, then
	// nothing more, and is closed.
	c2, r2 := dial(t, f.addr)
	if _, err := io.WriteString(c2, "PING\r\n"+multibulk("MGET", "big", "big", "big")+"PING\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, r2, 7); got != "+PONG\r\n" {
		t.Errorf("PING = %q, want +PONG", got)
	}
	expectEOF(t, r2)
	if got := f.srv.h.outputLimitCloses.Load(); got != 1 {
		t.Errorf("outputLimitCloses = %d, want 1", got)
	}

	// The other connection is unaffected, and a reply under the limit
	// goes out.
	if _, err := io.WriteString(c1, multibulk("MGET", "big", "big")); err != nil {
		t.Fatal(err)
	}
	want := "*2\r\n" + bulk(bigValue) + bulk(bigValue)
	if got := readN(t, r1, len(want)); got != want {
		t.Errorf("MGET big big = %.20q…, want %.20q…", got, want)
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	f := newFixture(t, func(c *Config) { c.IdleTimeout = idle })
	c, r := dial(t, f.addr)
	start := time.Now()
	// A client that keeps sending is not idle, however long it stays.
	for time.Since(start) < 2*idle {
		ping(t, c, r)
	}
	last := time.Now()
	expectEOF(t, r) // closed without a word, as Redis does
	if d := time.Since(last); d < idle {
		t.Errorf("closed %v after the last command, before IdleTimeout %v", d, idle)
	}
	waitConns(t, f.srv, 0)
}

// TestWriterCountsBytes checks that a writer's pending count is the bytes
// redcon sends, errors aside.
func TestWriterCountsBytes(t *testing.T) {
	for _, proto := range []int{resp2, resp3} {
		var buf bytes.Buffer
		w := writer{w: redcon.NewWriter(&buf), proto: proto}
		w.Array(12)
		w.Bulk([]byte("0123456789"))
		w.BulkString("")
		w.Int(0)
		w.Int(-1)
		w.Int(math.MaxInt64)
		w.Int(math.MinInt64)
		w.Simple("OK\r\nx")
		w.Null()
		w.Map(1)
		w.Double(1.5)
		w.Verbatim("txt", []byte("text"))
		w.Error("ERR no\r\nline breaks")
		w.Error("not a code")
		pending := w.pending
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		if pending != int64(buf.Len()) {
			t.Errorf("RESP%d: pending = %d, sent %d bytes %q", proto, pending, buf.Len(), buf.String())
		}
		if w.pending != 0 {
			t.Errorf("RESP%d: pending after flush = %d, want 0", proto, w.pending)
		}
	}
	for _, n := range []int64{0, 9, 10, 99, 100, -1, -9, -10, math.MaxInt64, math.MinInt64} {
		if got, want := headerLen(n), len(redcon.AppendInt(nil, n)); got != want {
			t.Errorf("headerLen(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestWriterLimit(t *testing.T) {
	var buf bytes.Buffer
	w := writer{w: redcon.NewWriter(&buf), proto: resp2, limit: 10}
	w.Simple("OK")        // 5 bytes
	w.Bulk([]byte("abc")) // 9 bytes: over
	w.Simple("OK")        // dropped: the connection is closing
	if !w.over || w.pending != 5 {
		t.Errorf("over, pending = %v, %d; want true, 5", w.over, w.pending)
	}
	w.flush()
	if got := buf.String(); got != "+OK\r\n" {
		t.Errorf("sent %q, want only the reply under the limit", got)
	}
}

// TestFloodThatDoesNotReadIsClosed streams commands and never reads the
// replies: once the socket buffers are full the server's write stalls, and
// WriteTimeout closes the connection and frees its goroutine. (ECHOs of
// 32 KiB fill the buffers sooner than PINGs would, under -race too.)
//
// The client's receive buffer is small, to fill sooner, but not below two
// of loopback's 64 KiB segments: with 4 KiB (8 KiB in the kernel) one
// 32 KiB reply overfilled it, the client's kernel then dropped every
// packet from the server, the window updates included, and about one run
// in 25 stalled with the server waiting for the rest of a command that the
// client could not send, its replies queued far below the send buffer's
// limit, so that no write ever timed out (on main and on the new reader
// alike; ss showed the state).
func TestFloodThatDoesNotReadIsClosed(t *testing.T) {
	const writeTimeout = 300 * time.Millisecond
	f := newFixture(t, func(c *Config) { c.WriteTimeout = writeTimeout })
	c, r := dial(t, f.addr)
	if tc, ok := c.(interface{ SetReadBuffer(int) error }); ok {
		tc.SetReadBuffer(128 << 10)
	}
	ping(t, c, r)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.Close() // ends the writer below, if the server has not
	wg.Go(func() {
		batch := []byte(strings.Repeat(multibulk("ECHO", strings.Repeat("e", 32<<10)), 16))
		for {
			if _, err := c.Write(batch); err != nil {
				return // the server closed the connection
			}
		}
	})
	// More time than waitConns gives: on a loaded 2-core machine under
	// -race, filling the loopback socket buffers (several MiB) can take
	// seconds before the first write stalls.
	deadline := time.Now().Add(30 * time.Second)
	for f.srv.h.connected.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("open connections = %d 30s into a flood that never reads, want 0 (WriteTimeout %v)", f.srv.h.connected.Load(), writeTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
