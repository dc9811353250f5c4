package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/tidwall/redcon"
)

// chunkConn is a net.Conn whose Read serves its chunks in order, at most
// one chunk per call, then io.EOF. It records what is written to it.
type chunkConn struct {
	net.Conn // nil: only Read, Write and RemoteAddr are called

	chunks [][]byte
	reads  int // calls of Read that returned bytes
	wrote  bytes.Buffer
}

func (c *chunkConn) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	c.reads++
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error) { return c.wrote.Write(p) }

func (c *chunkConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4242}
}

// splitWays are the three ways a parser test sends the same bytes (STYLE
// rule 39): all at once, one byte at a time, and split at random points,
// seeded.
func splitWays(seed uint64) map[string]func(string) []string {
	return map[string]func(string) []string{
		"all at once": func(s string) []string { return []string{s} },
		"one byte at a time": func(s string) []string {
			chunks := make([]string, len(s))
			for i := range len(s) { // bytes, not runes
				chunks[i] = s[i : i+1]
			}
			return chunks
		},
		"split at random points": func(s string) []string {
			rng := rand.New(rand.NewPCG(seed, uint64(len(s))))
			var chunks []string
			for len(s) > 0 {
				n := min(1+rng.IntN(64), len(s))
				chunks = append(chunks, s[:n])
				s = s[n:]
			}
			return chunks
		},
	}
}

func byteChunks(chunks []string) [][]byte {
	b := make([][]byte, len(chunks))
	for i, c := range chunks {
		b[i] = []byte(c)
	}
	return b
}

// defaultLimits are the limits a server with the default Config enforces,
// with the pre-auth ones on.
func defaultLimits() guardLimits {
	lim := newGuardLimits(Config{RequirePass: "x"}.withDefaults())
	lim.preAuth = false
	return lim
}

// readGuard reads everything a guardConn over chunks passes on, in reads
// of size bytes, and returns it, the reply the guard sent and the error
// that ended the reading.
func readGuard(chunks [][]byte, lim guardLimits, size int) (passed, reply string, err error) {
	c := &chunkConn{chunks: chunks}
	g := newGuardConn(c, lim)
	var out bytes.Buffer
	p := make([]byte, size)
	for range 1 << 20 {
		var n int
		n, err = g.Read(p)
		out.Write(p[:n])
		if err != nil {
			return out.String(), c.wrote.String(), err
		}
	}
	return out.String(), c.wrote.String(), errors.New("reads never end")
}

// checkEnd checks that err, which ended a guarded read, and reply, what
// the guard sent, agree with wantReply, the reply expected ("" for none).
func checkEnd(t *testing.T, err error, reply, wantReply string) {
	t.Helper()
	if reply != wantReply {
		t.Errorf("guard sent %q, want %q", reply, wantReply)
	}
	var pe *protocolError
	switch {
	case wantReply == "" && err != io.EOF:
		t.Errorf("reading ended with %v, want io.EOF", err)
	case wantReply != "" && !errors.As(err, &pe):
		t.Errorf("reading ended with %v, want a *protocolError", err)
	case wantReply != "" && "-"+string(pe.reply)+"\r\n" != wantReply:
		t.Errorf("protocolError says %q, want %q", pe.reply, wantReply)
	}
}

func protoErr(msg string) string { return "-ERR Protocol error: " + msg + "\r\n" }

func TestGuardScan(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name  string
		in    string
		lim   func(*guardLimits) // nil for defaultLimits
		pass  string             // what redcon gets
		reply string             // what the guard sends; "" for none
	}{
		{"inline", "PING\r\nECHO a\n", nil, "PING\r\nECHO a\n", ""},
		{"multibulk", multibulk("SET", "k", "\r\n$1\r\n*1\r\n") + multibulk("GET", "k"), nil,
			multibulk("SET", "k", "\r\n$1\r\n*1\r\n") + multibulk("GET", "k"), ""},
		{"empty lines", "\r\n\n  \r\n", nil, "\r\n\n  \r\n", ""},
		{"an empty argument", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", nil, "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", ""},
		{"*0 and *-n are dropped", "*0\r\n*-10\r\nPING\r\n*-1\r\n*-9223372036854775808\r\n" + multibulk("PING"), nil,
			"PING\r\n" + multibulk("PING"), ""},
		{"incomplete command passes", "*2\r\n$3\r\nGET\r\n$4\r\nab", nil, "*2\r\n$3\r\nGET\r\n$4\r\nab", ""},
		{"a '*' at the end is held back", "PING\r\n*", nil, "PING\r\n", ""},
		{"quotes", `ECHO "a b" 'c"d' "e\"f" ""` + "\r\n", nil, `ECHO "a b" 'c"d' "e\"f" ""` + "\r\n", ""},
		{"a CR inside an inline line", "ECHO a\rb \"c\r\"\r\n", nil, "ECHO a\rb \"c\r\"\r\n", ""},

		{"crash: bulk length near 2^63", "*1\r\n$9223372036854775807\r\n", nil, "", protoErr("invalid bulk length")},
		{"spin: count near 2^63", "*9223372036854775807\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count 3e9", "*3000000000\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count over 2^20", "*1048577\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count of 2^20", "*1048576\r\n$1\r\na\r\n", nil, "*1048576\r\n$1\r\na\r\n", ""},
		{"bulk length 2e9", "*2\r\n$3\r\nSET\r\n$2000000000\r\n", nil, "", protoErr("invalid bulk length")},
		{"bulk length over MaxBulkBytes", "*1\r\n$67108865\r\n", nil, "", protoErr("invalid bulk length")},
		{"bulk length of MaxBulkBytes", "*1\r\n$67108864\r\n", nil, "*1\r\n$67108864\r\n", ""},
		{"count with a letter", "*1x\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count with a plus", "*+1\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count with a leading zero", "*01\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count -0", "*-0\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count below int64", "*-9223372036854775809\r\n", nil, "", protoErr("invalid multibulk length")},
		{"empty count", "*\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count ends in LF only", "*1\n$4\r\nPING\r\n", nil, "", protoErr("invalid multibulk length")},
		{"count's CR without LF", "*1\r$4\r\nPING\r\n", nil, "", protoErr("invalid multibulk length")},
		{"negative bulk length", "*1\r\n$-5\r\n", nil, "", protoErr("invalid bulk length")},
		{"null bulk", "*1\r\n$-1\r\n", nil, "", protoErr("invalid bulk length")},
		{"bulk length with a leading zero", "*1\r\n$04\r\nPING\r\n", nil, "", protoErr("invalid bulk length")},
		{"empty bulk length", "*1\r\n$\r\n", nil, "", protoErr("invalid bulk length")},
		{"bulk length ends in LF only", "*1\r\n$4\nPING\r\n", nil, "", protoErr("invalid bulk length")},
		{"not a '$'", "*1\r\n:4\r\n", nil, "", protoErr("expected '$', got ':'")},
		{"a CR for a '$'", "*1\r\n\r\n", nil, "", protoErr("expected '$', got ' '")},
		{"payload longer than declared", "*1\r\n$4\r\nPINGxx\r\n", nil, "", protoErr("invalid bulk length")},
		{"payload ends in LF only", "*1\r\n$4\r\nPING\n", nil, "", protoErr("invalid bulk length")},
		{"payload ends in CR only", "*1\r\n$4\r\nPING\r*1\r\n", nil, "", protoErr("invalid bulk length")},
		{"inline of 64 KiB", strings.Repeat("a", 64<<10) + "\n", nil, strings.Repeat("a", 64<<10) + "\n", ""},
		// Incomplete frames pass as they come, a read at a time.
		{"inline of 256 KiB", strings.Repeat("a", 256<<10), nil, strings.Repeat("a", 64<<10), protoErr("too big inline request")},
		{"unbalanced quote", "PING\r\nECHO \"a\r\n", nil, "PING\r\n", protoErr("unbalanced quotes in request")},
		{"quote inside a word", "ECHO a\"b\"\r\n", nil, "", protoErr("unbalanced quotes in request")},
		{"text after a closing quote", "ECHO \"a\"b\r\n", nil, "", protoErr("unbalanced quotes in request")},
		{"CR after a closing quote", "ECHO \"a\"\rb\n", nil, "", protoErr("unbalanced quotes in request")},
		{"open escape", "ECHO \"a\\\r\n", nil, "", protoErr("unbalanced quotes in request")},
		{"commands before a violation pass", "PING\r\n" + multibulk("ECHO", "a") + "*1x\r\n", nil,
			"PING\r\n" + multibulk("ECHO", "a"), protoErr("invalid multibulk length")},

		{"command over MaxCommandBytes", multibulk("MSET", "a", long, "b", long), func(l *guardLimits) {
			l.maxBulk, l.maxCommand = 300, 400
		}, "", protoErr("too big command")},
		{"command of MaxCommandBytes", multibulk("SET", "a", long), func(l *guardLimits) {
			l.maxBulk, l.maxCommand = 300, uint64(len(multibulk("SET", "a", long)))
		}, multibulk("SET", "a", long), ""},
		{"pre-auth count", "*11\r\n", func(l *guardLimits) { l.preAuth = true }, "", protoErr("unauthenticated multibulk length")},
		{"pre-auth count of 10", "*10\r\n", func(l *guardLimits) { l.preAuth = true }, "*10\r\n", ""},
		{"pre-auth bulk", "*1\r\n$16385\r\n", func(l *guardLimits) { l.preAuth = true }, "", protoErr("unauthenticated bulk length")},
		{"pre-auth bulk of 16 KiB", "*1\r\n$16384\r\n", func(l *guardLimits) { l.preAuth = true }, "*1\r\n$16384\r\n", ""},
		{"invalid before unauthenticated", "*11x\r\n", func(l *guardLimits) { l.preAuth = true }, "", protoErr("invalid multibulk length")},
		{"pre-auth limit after a command, no AUTH", "PING\r\n*11\r\n", func(l *guardLimits) { l.preAuth = true },
			"PING\r\n", protoErr("unauthenticated multibulk length")},
	}
	for _, tt := range tests {
		lim := defaultLimits()
		if tt.lim != nil {
			tt.lim(&lim)
		}
		for way, split := range splitWays(7) {
			// redcon reads through a bufio.Reader, in reads of 4 KiB or
			// more; a short buffer goes through guardConn.small.
			for _, size := range []int{4096, 1} {
				t.Run(fmt.Sprintf("%s/%s/%d", tt.name, way, size), func(t *testing.T) {
					pass, reply, err := readGuard(byteChunks(split(tt.in)), lim, size)
					if size < minFillBytes && strings.HasPrefix(pass, tt.pass) && strings.Contains(tt.in, pass[len(tt.pass):]) {
						// Through the short buffer, more of the refused
						// frame's beginning may pass first: harmless.
						pass = tt.pass
					}
					if pass != tt.pass {
						t.Errorf("%.60q passed %.80q, want %.80q", tt.in, pass, tt.pass)
					}
					checkEnd(t, err, reply, tt.reply)
				})
			}
		}
	}
}

// guardRun is what redcon's reader makes of a client's bytes through a
// guardConn.
type guardRun struct {
	cmds  []string // each command's arguments, %q
	reply string   // what the guard sent
	err   error    // what ended the reading
}

// runGuard feeds chunks to redcon's reader through a guardConn, as the
// server does, and on every AUTH command lifts the pre-auth limits, as the
// AUTH handler does. With oneByte, redcon's reader gets one byte per read.
func runGuard(t testing.TB, chunks [][]byte, lim guardLimits, oneByte bool) guardRun {
	t.Helper()
	c := &chunkConn{chunks: chunks}
	g := newGuardConn(c, lim)
	var r io.Reader = g
	if oneByte {
		r = iotest.OneByteReader(g)
	}
	rd := redcon.NewReader(r)
	var run guardRun
	total := 0
	for _, ch := range chunks {
		total += len(ch)
	}
	// Every call returns a command (two bytes at least) or ends.
	for range total + 2 {
		cmds, err := rd.ReadCommands()
		if err != nil {
			run.err = err
			run.reply = c.wrote.String()
			return run
		}
		for _, cmd := range cmds {
			run.cmds = append(run.cmds, fmt.Sprintf("%q", cmd.Args))
			if strings.EqualFold(string(cmd.Args[0]), "auth") {
				g.setAuthenticated()
			}
		}
	}
	t.Fatalf("redcon read more commands than %d bytes can hold", total)
	return run
}

func TestGuardPreAuthPipelined(t *testing.T) {
	big := strings.Repeat("v", 20000)
	lim := defaultLimits()
	lim.preAuth = true
	tests := []struct {
		name  string
		in    string
		cmds  []string
		reply string
	}{
		{"auth then a long argument", "AUTH pw\r\n" + multibulk("SET", "k", big),
			[]string{`["AUTH" "pw"]`, fmt.Sprintf("%q", []string{"SET", "k", big})}, ""},
		{"auth then 11 arguments", multibulk("AUTH", "pw") + "PING\r\n*0\r\n" + multibulk("MGET", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"),
			[]string{`["AUTH" "pw"]`, `["PING"]`, `["MGET" "1" "2" "3" "4" "5" "6" "7" "8" "9" "10"]`}, ""},
		{"no auth", "PING\r\n" + multibulk("SET", "k", big), []string{`["PING"]`}, protoErr("unauthenticated bulk length")},
	}
	for _, tt := range tests {
		for way, split := range splitWays(9) {
			for _, oneByte := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/%v", tt.name, way, oneByte), func(t *testing.T) {
					run := runGuard(t, byteChunks(split(tt.in)), lim, oneByte)
					if got, want := strings.Join(run.cmds, " "), strings.Join(tt.cmds, " "); got != want {
						t.Errorf("commands %.200s, want %.200s", got, want)
					}
					checkEnd(t, run.err, run.reply, tt.reply)
				})
			}
		}
	}
}

// TestGuardCoalesces checks that bytes trickled one at a time reach
// redcon in reads of a buffer's worth, or of a whole frame: redcon parses
// the pending command anew, and recurses, after every read.
func TestGuardCoalesces(t *testing.T) {
	in := multibulk("SET", "k", strings.Repeat("v", 10000)) + "PING\r\n"
	c := &chunkConn{chunks: byteChunks(splitWays(0)["one byte at a time"](in))}
	g := newGuardConn(c, defaultLimits())
	p := make([]byte, 4096)
	var out bytes.Buffer
	reads := 0
	for {
		n, err := g.Read(p)
		if err != nil {
			break
		}
		out.Write(p[:n])
		reads++
	}
	if out.String() != in {
		t.Errorf("passed %d bytes, want the %d sent", out.Len(), len(in))
	}
	// 10 KiB of the SET in three reads of 4 KiB, then the PING.
	if reads > 4 || c.reads != len(in) {
		t.Errorf("%d bytes read one at a time reached redcon in %d reads, want 4", c.reads, reads)
	}
}

// TestGuardServer sends each input to a real server three ways, and
// checks its replies, whether it keeps the connection, and that it
// answers the next client.
func TestGuardServer(t *testing.T) {
	f := newFixture(t, nil)
	small := newFixture(t, func(c *Config) { c.MaxBulkBytes, c.MaxCommandBytes = 1000, 1500 })
	long := strings.Repeat("x", 900)
	mix, mixReply := guardMix()
	tests := []struct {
		name   string
		addr   string
		send   string
		want   string
		closed bool // the server closes the connection after want
	}{
		{"crash: bulk length near 2^63", f.addr, "*1\r\n$9223372036854775807\r\n", protoErr("invalid bulk length"), true},
		{"spin: count near 2^63", f.addr, "*9223372036854775807\r\n", protoErr("invalid multibulk length"), true},
		{"count 3e9", f.addr, "*3000000000\r\n", protoErr("invalid multibulk length"), true},
		{"inline of 256 KiB", f.addr, strings.Repeat("a", 256<<10) + "\r\n", protoErr("too big inline request"), true},
		{"bulk length 2e9", f.addr, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000000\r\n" + long, protoErr("invalid bulk length"), true},
		{"$2000000000 inline is a command", f.addr, "$2000000000\r\n",
			"-ERR unknown command '$2000000000', with args beginning with: \r\n", false},
		{"count with a letter", f.addr, "*1x\r\n", protoErr("invalid multibulk length"), true},
		{"negative bulk length", f.addr, "*2\r\n$4\r\nECHO\r\n$-5\r\n", protoErr("invalid bulk length"), true},
		{"not a '$'", f.addr, "*2\r\n$4\r\nECHO\r\n+a\r\n", protoErr("expected '$', got '+'"), true},
		{"no CRLF after the payload", f.addr, "*2\r\n$4\r\nECHO\r\n$1\r\nab\r\n", protoErr("invalid bulk length"), true},
		{"*0 is nothing", f.addr, "*0\r\nPING\r\n", "+PONG\r\n", false},
		{"*-10 is nothing", f.addr, "*-10\r\nPING\r\n", "+PONG\r\n", false},
		{"an empty line is nothing", f.addr, "\r\nPING\r\n", "+PONG\r\n", false},
		{"unbalanced quotes", f.addr, "PING\r\nECHO \"a\r\n", "+PONG\r\n" + protoErr("unbalanced quotes in request"), true},
		{"replies before the error", f.addr, multibulk("ECHO", "a") + "PING\r\n*1x\r\n",
			"$1\r\na\r\n+PONG\r\n" + protoErr("invalid multibulk length"), true},
		{"a legal pipelined mix", f.addr, mix, mixReply, false},
		{"argument over MaxBulkBytes", small.addr, multibulk("ECHO", strings.Repeat("y", 1001)), protoErr("invalid bulk length"), true},
		{"argument of MaxBulkBytes", small.addr, multibulk("ECHO", strings.Repeat("y", 1000)), bulk(strings.Repeat("y", 1000)), false},
		{"command over MaxCommandBytes", small.addr, multibulk("MSET", "a", long, "b", long), protoErr("too big command"), true},
	}
	for _, tt := range tests {
		for way, split := range splitWays(3) {
			t.Run(tt.name+"/"+way, func(t *testing.T) {
				t.Parallel()
				send, want := tt.send, tt.want
				if !tt.closed {
					send += "QUIT\r\n"
					want += "+OK\r\n"
				}
				if got := exchange(t, tt.addr, split(send)); got != want {
					t.Errorf("%.60q:\n got %.200q\nwant %.200q", tt.send, got, want)
				}
			})
		}
	}
	t.Cleanup(func() {
		// Runs once the parallel subtests are done: the server is alive.
		for _, addr := range []string{f.addr, small.addr} {
			c, r := dial(t, addr)
			io.WriteString(c, "PING\r\n")
			if got := readN(t, r, 7); got != "+PONG\r\n" {
				t.Errorf("PING after the table = %q", got)
			}
		}
	})
}

// guardMix is a pipelined session of legal commands, with the frames
// Redis ignores, and its replies.
func guardMix() (send, want string) {
	cmds := []struct{ send, want string }{
		{"PING\r\n", "+PONG\r\n"},
		{"\r\n", ""},
		{"*0\r\n", ""},
		{multibulk("ECHO", ""), "$0\r\n\r\n"},
		{"*-1\r\n", ""},
		{multibulk("ECHO", "*1\r\n$3\r\n"), bulk("*1\r\n$3\r\n")},
		{`ECHO "a b"` + "\r\n", bulk("a b")},
		{`ECHO 'c"d'` + "\n", bulk(`c"d`)},
		{"   \r\n", ""},
		{multibulk("ECHO", strings.Repeat("e", 5000)), bulk(strings.Repeat("e", 5000))},
		{multibulk("PING", "x"), bulk("x")},
		{"*-9223372036854775808\r\n", ""},
		{"ECHO z\r\n", bulk("z")},
	}
	var s, w strings.Builder
	for _, c := range cmds {
		s.WriteString(c.send)
		w.WriteString(c.want)
	}
	return s.String(), w.String()
}

// exchange writes chunks to a new connection to addr, one write each,
// while it reads the replies until the server closes the connection.
func exchange(t *testing.T, addr string, chunks []string) string {
	t.Helper()
	c, _ := dial(t, addr)
	written := make(chan struct{})
	go func() {
		defer close(written)
		for _, chunk := range chunks {
			if _, err := io.WriteString(c, chunk); err != nil {
				return // the server closed the connection
			}
		}
	}()
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reading replies: %v (got %.200q)", err, got)
	}
	c.Close()
	<-written
	return string(got)
}

func TestGuardServerPreAuth(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RequirePass = "s3cret" })
	big := strings.Repeat("v", 20000)
	arg16k := strings.Repeat("w", 16384)
	mget := multibulk("MGET", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
	tests := []struct {
		name   string
		send   string
		want   string
		closed bool
	}{
		{"11 arguments", mget, protoErr("unauthenticated multibulk length"), true},
		{"10 arguments", multibulk("MGET", "1", "2", "3", "4", "5", "6", "7", "8", "9"), "-" + string(errNoAuth) + "\r\n", false},
		{"argument over 16 KiB", multibulk("ECHO", arg16k+"w"), protoErr("unauthenticated bulk length"), true},
		{"argument of 16 KiB", multibulk("ECHO", arg16k), "-" + string(errNoAuth) + "\r\n", false},
		{"auth then a long argument", "AUTH s3cret\r\n" + multibulk("ECHO", big), "+OK\r\n" + bulk(big), false},
		{"auth then 11 arguments", multibulk("AUTH", "s3cret") + mget, "+OK\r\n*10\r\n" + strings.Repeat("$-1\r\n", 10), false},
		{"wrong password then a long argument", "AUTH nope\r\n" + multibulk("ECHO", big),
			"-" + string(errWrongPass) + "\r\n" + protoErr("unauthenticated bulk length"), true},
		{"hello auth then a long argument", "HELLO 2 AUTH default s3cret\r\n" + multibulk("ECHO", big), "", false},
	}
	for _, tt := range tests {
		for way, split := range splitWays(5) {
			t.Run(tt.name+"/"+way, func(t *testing.T) {
				t.Parallel()
				send, want := tt.send, tt.want
				if !tt.closed {
					send += "QUIT\r\n"
					want += "+OK\r\n"
				}
				got := exchange(t, f.addr, split(send))
				if strings.HasPrefix(tt.name, "hello") {
					// The reply holds the connection's ID: check around it.
					want = bulk(big) + "+OK\r\n"
					if !strings.HasPrefix(got, "*14\r\n") || !strings.HasSuffix(got, want) {
						t.Errorf("%.60q:\n got %.200q\nwant HELLO's reply then %.100q", tt.send, got, want)
					}
					return
				}
				if got != want {
					t.Errorf("%.60q:\n got %.200q\nwant %.200q", tt.send, got, want)
				}
			})
		}
	}
}

func TestGuardConfig(t *testing.T) {
	f := newRegistry(t)
	base := Config{Registry: f.reg, Default: f.def}
	tests := []struct {
		name             string
		bulk, command    int64
		wantErr          string // a substring; "" for none
		wantBulk, wantCm int64
	}{
		{"defaults", 0, 0, "", 64 << 20, 128 << 20},
		{"command follows bulk", 1 << 10, 0, "", 1 << 10, 2 << 10},
		{"both set", 1 << 10, 1 << 10, "", 1 << 10, 1 << 10},
		{"negative bulk", -1, 0, "negative MaxBulkBytes", 0, 0},
		{"negative command", 0, -1, "negative MaxCommandBytes", 0, 0},
		{"command below bulk", 0, 1 << 20, "less than MaxBulkBytes", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.MaxBulkBytes, cfg.MaxCommandBytes = tt.bulk, tt.command
			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				d := cfg.withDefaults()
				if d.MaxBulkBytes != tt.wantBulk || d.MaxCommandBytes != tt.wantCm {
					t.Errorf("defaults = %d, %d; want %d, %d", d.MaxBulkBytes, d.MaxCommandBytes, tt.wantBulk, tt.wantCm)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// guardSeeds are the inputs of the tests above, for FuzzGuard.
var guardSeeds = []string{
	"*1\r\n$9223372036854775807\r\n",
	"*9223372036854775807\r\n",
	"*3000000000\r\n",
	"*2\r\n$3\r\nSET\r\n$2000000000\r\n",
	"*1x\r\n", "*+1\r\n", "*01\r\n", "*-0\r\n", "*\r\n", "*1\n", "*1\r$",
	"*1\r\n$-5\r\n", "*1\r\n$04\r\n", "*1\r\n$4\nPING\r\n", "*1\r\n:4\r\n", "*1\r\n\r\n",
	"*1\r\n$4\r\nPINGxx\r\n", "*1\r\n$4\r\nPING\r*1\r\n",
	"*0\r\n", "*-10\r\n", "*-9223372036854775808\r\n", "*-9223372036854775809\r\n", "\r\n", "\n", "   \r\n",
	"PING\r\nECHO \"a\r\n", "ECHO a\"b\"\r\n", "ECHO \"a\"b\r\n", "ECHO \"a\"\rb\n", "ECHO \"a\\\r\n",
	`ECHO "a b" 'c"d' "e\"f" ""` + "\r\n", "ECHO a\rb \"c\r\"\r\n",
	"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "PING\r\n*",
	"AUTH pw\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$9\r\n123456789\r\n",
	"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
	"PING\r\n*5\r\n",
}

// FuzzGuard feeds arbitrary bytes through a guardConn to redcon's reader,
// in four ways. None may panic or loop; redcon never refuses what the guard
// passes (the guard alone sends protocol errors); the four agree on the
// commands and the reply. The limits are small so that short inputs reach
// them; the pre-auth ones apply when mode is odd, until an AUTH command.
func FuzzGuard(f *testing.F) {
	for i, s := range guardSeeds {
		f.Add([]byte(s), uint8(i))
	}
	f.Add([]byte(strings.Repeat("a", 300)), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		lim := guardLimits{
			maxBulk: 40, maxCommand: 120, maxArgs: 6, maxInline: 100,
			preAuth: mode&1 == 1, preAuthArgs: 3, preAuthBulk: 8, preAuthRead: 16,
		}
		ways := splitWays(uint64(mode))
		s := string(in)
		runs := []guardRun{
			runGuard(t, byteChunks(ways["all at once"](s)), lim, false),
			runGuard(t, byteChunks(ways["one byte at a time"](s)), lim, false),
			runGuard(t, byteChunks(ways["split at random points"](s)), lim, false),
			runGuard(t, byteChunks(ways["all at once"](s)), lim, true),
		}
		for i, run := range runs {
			var pe *protocolError
			switch {
			case run.err == io.EOF:
				if run.reply != "" {
					t.Errorf("run %d: EOF, but the guard sent %q", i, run.reply)
				}
			case errors.As(run.err, &pe):
				if run.reply != "-"+string(pe.reply)+"\r\n" || !strings.HasPrefix(run.reply, "-ERR Protocol error: ") {
					t.Errorf("run %d: %v, but the guard sent %q", i, run.err, run.reply)
				}
			default:
				t.Fatalf("run %d: redcon's reader failed past the guard: %v", i, run.err)
			}
			if i == 0 {
				continue
			}
			if strings.Join(run.cmds, "\n") != strings.Join(runs[0].cmds, "\n") || run.reply != runs[0].reply {
				t.Errorf("run %d differs from run 0:\n%q %q\n%q %q", i, run.cmds, run.reply, runs[0].cmds, runs[0].reply)
			}
		}
	})
}

// loopConn is a net.Conn whose Read serves data over and over. With
// fill, a Read fills p, across data's end, as a client streaming commands
// without a pause would; without, a Read stops at data's end, as a client
// that sends data and waits for the replies would.
type loopConn struct {
	net.Conn
	data []byte
	fill bool
	off  int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
		if !c.fill && c.off == 0 {
			break
		}
	}
	return n, nil
}

// maxRead records the longest buffer a Read was given.
type maxRead struct {
	r   io.Reader
	max int
}

func (m *maxRead) Read(p []byte) (int, error) {
	m.max = max(m.max, len(p))
	return m.r.Read(p)
}

// TestGuardBoundsRedconBuffer streams commands to redcon's reader with no
// pause at a command's end. redcon's buffer doubles whenever it is full
// and holds the start of a command; the guard ends every read that
// completes a command at a command's end, so that redcon's buffer empties
// and stays at 4 KiB. The size of the reads redcon asks for shows the size
// of its buffer.
func TestGuardBoundsRedconBuffer(t *testing.T) {
	stream := []byte(strings.Repeat(multibulk("PING"), 99) + "PING\r\n" + multibulk("ECHO", strings.Repeat("e", 20000)))
	const total = 8 << 20
	for _, guarded := range []bool{false, true} {
		var r io.Reader = &loopConn{data: stream, fill: true}
		if guarded {
			r = newGuardConn(r.(net.Conn), defaultLimits())
		}
		m := &maxRead{r: r}
		rd := redcon.NewReader(m)
		cmds := 0
		for cmds < total/len(stream)*101 {
			c, err := rd.ReadCommands()
			if err != nil {
				t.Fatalf("ReadCommands: %v", err)
			}
			cmds += len(c)
		}
		// The ECHO, 20 KB, takes a buffer of 32 KiB; without the guard
		// the buffer grows with the bytes streamed.
		switch {
		case guarded && m.max > 32<<10:
			t.Errorf("with the guard, redcon's reads grew to %d bytes, want 32 KiB at most", m.max)
		case !guarded && m.max < 1<<20:
			t.Errorf("without the guard, redcon's reads grew to %d bytes only: the test does not show the growth", m.max)
		}
	}
}

// BenchmarkGuardRead measures the guard's cost on pipelines of 100 GETs:
// Read alone, in reads of 4 KiB (it must not allocate), and redcon's
// reader parsing them, with and without the guard; and redcon's reader
// over a stream with no pause between pipelines, which only the guard
// keeps redcon's buffer small for.
func BenchmarkGuardRead(b *testing.B) {
	get := multibulk("GET", "key:000000001234")
	pipeline := []byte(strings.Repeat(get, 100))
	b.Run("read/raw", func(b *testing.B) { benchGuardRead(b, &loopConn{data: pipeline}, len(get)) })
	b.Run("read/guard", func(b *testing.B) {
		benchGuardRead(b, newGuardConn(&loopConn{data: pipeline}, defaultLimits()), len(get))
	})
	b.Run("redcon/raw", func(b *testing.B) { benchGuardRedcon(b, &loopConn{data: pipeline}) })
	b.Run("redcon/guard", func(b *testing.B) {
		benchGuardRedcon(b, newGuardConn(&loopConn{data: pipeline}, defaultLimits()))
	})
	b.Run("redcon/guard-stream", func(b *testing.B) {
		benchGuardRedcon(b, newGuardConn(&loopConn{data: pipeline, fill: true}, defaultLimits()))
	})
}

func benchGuardRead(b *testing.B, r io.Reader, cmdLen int) {
	p := make([]byte, 4096)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		k, err := r.Read(p)
		if err != nil {
			b.Fatal(err)
		}
		n += k
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(n)/float64(cmdLen)), "ns/cmd")
}

func benchGuardRedcon(b *testing.B, r io.Reader) {
	rd := redcon.NewReader(r)
	cmds := 0
	b.ReportAllocs()
	for b.Loop() {
		c, err := rd.ReadCommands()
		if err != nil {
			b.Fatal(err)
		}
		cmds += len(c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(cmds), "ns/cmd")
}
