package resp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/tidwall/redcon"
)

// quoted returns cmds as the guard tests show them: each command's
// arguments, %q.
func quoted(cmds [][][]byte) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = fmt.Sprintf("%q", c)
	}
	return out
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // the arguments, %q; "" when the input is incomplete
		took int    // bytes taken; -1: the whole input
		bad  replyError
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", `["GET" "k"]`, -1, ""},
		{"multibulk then more", "*1\r\n$4\r\nPING\r\n*1\r\n", `["PING"]`, 14, ""},
		{"empty argument", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", `["ECHO" ""]`, -1, ""},
		{"binary argument", "*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\x00*\r\n", `["ECHO" "\r\n\x00*"]`, -1, ""},
		{"incomplete count", "*2\r", "", 0, ""},
		{"incomplete length", "*2\r\n$3\r\nGET\r\n$1", "", 0, ""},
		{"incomplete payload", "*2\r\n$3\r\nGET\r\n$5\r\nk\r\n", "", 0, ""},
		{"incomplete CRLF", "*1\r\n$4\r\nPING\r", "", 0, ""},
		{"huge count, incomplete", "*999999999\r\n$1\r\na\r\n", "", 0, ""},
		{"huge length, incomplete", "*1\r\n$999999999999999999\r\nab", "", 0, ""},
		{"length of 19 digits", "*1\r\n$1000000000000000000\r\n", "", 0, errProtoBulk},
		{"count too big", "*99999999999999999999\r\n", "", 0, errProtoMultibulk},
		{"length too big", "*1\r\n$99999999999999999999\r\n", "", 0, errProtoBulk},
		{"zero count", "*0\r\n", "", 0, errProtoMultibulk},
		{"negative count", "*-1\r\n", "", 0, errProtoMultibulk},
		{"signed length", "*1\r\n$+4\r\nPING\r\n", "", 0, errProtoBulk},
		{"leading zero", "*1\r\n$04\r\nPING\r\n", "", 0, errProtoBulk},
		{"no dollar", "*1\r\n:4\r\n", "", 0, errProtoDollar(':')},
		{"payload too long", "*1\r\n$4\r\nPINGx\r\n", "", 0, errProtoBulk},
		{"count without CR", "*1\n$4\r\nPING\r\n", "", 0, errProtoMultibulk},
		{"inline", "GET k\r\n", `["GET" "k"]`, -1, ""},
		{"inline LF", "GET k\n", `["GET" "k"]`, -1, ""},
		{"inline spaces", "  GET   k  \r\n", `["GET" "k"]`, -1, ""},
		{"inline CR inside", "ECHO a\rb\r\n", `["ECHO" "a\rb"]`, -1, ""},
		{"inline quotes", `ECHO "a b" 'c"d' "e\"f" "" "\n\r\t\x\\"` + "\r\n",
			`["ECHO" "a b" "c\"d" "e\"f" "" "\n\r\tx\\"]`, -1, ""},
		{"inline empty line", "\r\n", `[]`, -1, ""},
		{"inline only spaces", "   \n", `[]`, -1, ""},
		{"inline incomplete", "GET k", "", 0, ""},
		{"inline quote in a word", "ECHO a\"b\"\r\n", "", 0, errProtoQuotes},
		{"inline text after a quote", "ECHO \"a\"b\r\n", "", 0, errProtoQuotes},
		{"inline open quote", "ECHO \"a\r\n", "", 0, errProtoQuotes},
		{"inline backslash at the end", "ECHO \"a\\\r\n", "", 0, errProtoQuotes},
		{"dollar starts an inline line", "$3\r\n", `["$3"]`, -1, ""},
		{"empty", "", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.in)
			args, took, err := parseCommand(in, nil)
			want := tt.took
			if want < 0 {
				want = len(tt.in)
			}
			var pe *parseError
			switch {
			case tt.bad != "":
				if !errors.As(err, &pe) || pe.reply != tt.bad {
					t.Errorf("parseCommand(%q) = %v, want the error %q", tt.in, err, tt.bad)
				}
			case err != nil:
				t.Errorf("parseCommand(%q) = %v, want no error", tt.in, err)
			}
			if took != want {
				t.Errorf("parseCommand(%q) took %d bytes, want %d", tt.in, took, want)
			}
			got := ""
			if took > 0 {
				got = fmt.Sprintf("%q", args)
			}
			if got != tt.want {
				t.Errorf("parseCommand(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// parseCommand parses the command at the start of b with a new
// cmdParser.
func parseCommand(b []byte, args [][]byte) ([][]byte, int, error) {
	var p cmdParser
	return p.parse(b, args)
}

// TestCmdParserResumes gives one cmdParser each command a byte more at a
// time, in a new copy each time, as a reader that moves and grows its
// buffer does: it must parse what a new cmdParser parses from the whole.
func TestCmdParserResumes(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		multibulk("SET", "key", strings.Repeat("v", 100)),
		multibulk("ECHO", "", "a", "\r\n"),
		`ECHO "a\tb" c` + "\r\n",
		"*3\r\n$3\r\nGET\r\n:1\r\n",
		"ECHO \"a\r\n",
	} {
		wantArgs, wantN, wantErr := parseCommand([]byte(in), nil)
		var p cmdParser
		var args [][]byte
		var n int
		var err error
		for k := 0; k <= len(in); k++ {
			b := []byte(in[:k])
			if args, n, err = p.parse(b, nil); n > 0 || err != nil {
				break
			}
		}
		if fmt.Sprintf("%q %d %v", args, n, err) != fmt.Sprintf("%q %d %v", wantArgs, wantN, wantErr) {
			t.Errorf("byte by byte, %q parsed as %q, %d, %v; want %q, %d, %v", in, args, n, err, wantArgs, wantN, wantErr)
		}
		if p.next != 0 || p.left != 0 || len(p.marks) != 0 || p.scanned != 0 {
			t.Errorf("after %q, the parser was left at %+v, want it new", in, p)
		}
	}
}

// TestParseCommandKeepsArgs checks that parseCommand appends to the
// arguments given, and leaves them as they were when the command is
// incomplete or refused.
func TestParseCommandKeepsArgs(t *testing.T) {
	t.Parallel()
	first := [][]byte{[]byte("x")}
	for _, in := range []string{"*2\r\n$3\r\nGET\r\n$1\r\n", "*2\r\n$3\r\nGET\r\n:1\r\n", "ECHO \"a\r\n"} {
		args, _, _ := parseCommand([]byte(in), first)
		if got := fmt.Sprintf("%q", args); got != `["x"]` {
			t.Errorf("parseCommand(%q, [x]) = %s, want [x]", in, got)
		}
	}
	args, _, _ := parseCommand([]byte("*1\r\n$4\r\nPING\r\n"), first)
	if got := fmt.Sprintf("%q", args); got != `["x" "PING"]` {
		t.Errorf("parseCommand(PING, [x]) = %s, want [x PING]", got)
	}
}

// readAll reads every command from r, with a reader whose buffer may grow
// to limit bytes, and returns them and the error that ended the reading.
// It checks that no call returns no command.
func readAll(t testing.TB, r io.Reader, limit int) ([]string, error) {
	t.Helper()
	rd := newReader(r, limit)
	var all []string
	for {
		cmds, err := rd.next()
		if err != nil {
			return all, err
		}
		if len(cmds) == 0 {
			t.Fatalf("next returned no command and no error")
		}
		all = append(all, quoted(cmds)...)
	}
}

// TestReaderSplits sends the same pipelined bytes three ways (STYLE rule
// 39): the reader must see the same commands each time.
func TestReaderSplits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("L", 40<<10) // grows the buffer twice
	in := multibulk("SET", "k", "v") + "PING\r\n" + multibulk("GET", "k") + "\r\n" +
		`ECHO "a\tb" 'c'` + "\n" + multibulk("ECHO", long) + multibulk("ECHO", "") + "QUIT\r\n"
	want := []string{`["SET" "k" "v"]`, `["PING"]`, `["GET" "k"]`, `["ECHO" "a\tb" "c"]`,
		fmt.Sprintf("%q", [][]byte{[]byte("ECHO"), []byte(long)}), `["ECHO" ""]`, `["QUIT"]`}
	for name, split := range splitWays(7) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := readAll(t, &chunkConn{chunks: byteChunks(split(in))}, 1<<20)
			if err != io.EOF {
				t.Errorf("reading ended with %v, want EOF", err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("commands = %.200q, want %.200q", got, want)
			}
		})
	}
}

// TestReaderBuffer checks that the buffer grows for a long command, goes
// back to readBufBytes once it has run, and refuses a command longer than
// the limit.
func TestReaderBuffer(t *testing.T) {
	t.Parallel()
	long := multibulk("ECHO", strings.Repeat("L", 100<<10))
	in := long + multibulk("PING")
	rd := newReader(&chunkConn{chunks: byteChunks([]string{in})}, 1<<20)
	cmds, err := rd.next()
	if err != nil || len(cmds) == 0 || len(cmds[0][1]) != 100<<10 {
		t.Fatalf("next = %d commands, %v; want the ECHO first", len(cmds), err)
	}
	if len(rd.buf) != 128<<10 {
		t.Errorf("buffer for a command of %d bytes = %d bytes, want 128 KiB", len(long), len(rd.buf))
	}
	for err == nil {
		_, err = rd.next()
	}
	if err != io.EOF {
		t.Errorf("next at the end = %v, want EOF", err)
	}
	if len(rd.buf) != readBufBytes {
		t.Errorf("buffer once the long command ran = %d bytes, want %d", len(rd.buf), readBufBytes)
	}

	rd = newReader(&chunkConn{chunks: byteChunks([]string{long})}, 64<<10)
	var pe *parseError
	if _, err := rd.next(); !errors.As(err, &pe) || pe.reply != errProtoCommand {
		t.Errorf("next with a command over the limit = %v, want %q", err, errProtoCommand)
	}
}

// TestReaderPipelineBuffer checks that reads of pipeBurstBytes or more
// switch the reader to a buffer of pipeBufBytes between commands, and that
// a short read switches it back.
func TestReaderPipelineBuffer(t *testing.T) {
	t.Parallel()
	burst := strings.Repeat(multibulk("SET", "k", strings.Repeat("v", 4000)), 3) // ~12 KB, whole commands
	ping := multibulk("PING")
	rd := newReader(&chunkConn{chunks: byteChunks([]string{burst, burst, burst, ping, ping})}, 1<<20)
	for i, want := range []struct {
		cmds int
		buf  int
	}{
		{3, readBufBytes}, // the first burst, in the first buffer
		{3, pipeBufBytes}, // the second, after a read of a burst
		{3, pipeBufBytes},
		{1, pipeBufBytes}, // a short read, after a burst
		{1, readBufBytes}, // after a short read
	} {
		cmds, err := rd.next()
		if err != nil || len(cmds) != want.cmds {
			t.Fatalf("next #%d = %d commands, %v; want %d", i+1, len(cmds), err, want.cmds)
		}
		if len(rd.buf) != want.buf {
			t.Errorf("buffer after next #%d = %d bytes, want %d", i+1, len(rd.buf), want.buf)
		}
	}
	if _, err := rd.next(); err != io.EOF {
		t.Errorf("next at the end = %v, want EOF", err)
	}
}

// cycleConn returns its chunks in turn, for ever, each in one Read.
type cycleConn struct {
	chunks [][]byte
	i      int
}

func (c *cycleConn) Read(p []byte) (int, error) {
	n := copy(p, c.chunks[c.i%len(c.chunks)])
	c.i++
	return n, nil
}

// TestReaderPipelineBufferReused checks that a client whose pipelines end
// in a short read (the tail of each pipeline) does not cost its reader a
// new pipeline buffer for every pipeline: the buffer goes back to the
// server's pool after the short read and comes out of it for the next
// burst.
func TestReaderPipelineBufferReused(t *testing.T) {
	burst := []byte(strings.Repeat(multibulk("SET", "k", strings.Repeat("v", 4000)), 3))
	rd := newReader(&cycleConn{chunks: [][]byte{burst, []byte(multibulk("PING"))}}, 1<<20)
	rd.pipes = new(sync.Pool)
	for range 4 { // past the first switch, and the slices' growth
		if _, err := rd.next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		rd.next()
		rd.next()
	})
	if allocs != 0 {
		t.Errorf("a burst and a short read allocate %v times, want 0", allocs)
	}
}

// TestReaderErrorAfterCommands checks that the commands read with an
// error, or before a command that cannot be parsed, come before it.
func TestReaderErrorAfterCommands(t *testing.T) {
	t.Parallel()
	r := iotest.DataErrReader(strings.NewReader("PING\r\nGET k\r\n"))
	got, err := readAll(t, r, 1<<20)
	if err != io.EOF || strings.Join(got, " ") != `["PING"] ["GET" "k"]` {
		t.Errorf("readAll = %q, %v; want PING and GET, then EOF", got, err)
	}
	got, err = readAll(t, strings.NewReader("PING\r\n*0\r\nPING\r\n"), 1<<20)
	var pe *parseError
	if !errors.As(err, &pe) || strings.Join(got, " ") != `["PING"]` {
		t.Errorf("readAll = %q, %v; want PING, then a parse error", got, err)
	}
}

// readerRun is what the reader makes of a client's bytes through a
// guardConn: the same fields as redcon's guardRun.
func runReader(t testing.TB, chunks [][]byte, lim guardLimits) guardRun {
	t.Helper()
	c := &chunkConn{chunks: chunks}
	g := newGuardConn(c, lim)
	rd := newReader(g, readerMax(lim))
	var run guardRun
	for {
		cmds, err := rd.next()
		if err != nil {
			run.err = err
			run.reply = c.wrote.String()
			return run
		}
		for _, cmd := range cmds {
			run.cmds = append(run.cmds, fmt.Sprintf("%q", cmd))
			if strings.EqualFold(string(cmd[0]), "auth") {
				g.setAuthenticated()
			}
		}
	}
}

// FuzzReaderMatchesRedcon feeds the same bytes, through the guard, to the
// reader and to redcon's reader: both must read the same commands, and end
// the same way, the guard's reply included. The reader also reads the raw
// bytes, without the guard, in three splits: it must not panic, nor read
// differently from one split to another. The limits are FuzzGuard's.
func FuzzReaderMatchesRedcon(f *testing.F) {
	for i, s := range guardSeeds {
		f.Add([]byte(s), uint8(i))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		lim := guardLimits{
			maxBulk: 40, maxCommand: 120, maxArgs: 6, maxInline: 100,
			preAuth: mode&1 == 1, preAuthArgs: 3, preAuthBulk: 8, preAuthRead: 16,
		}
		ways := splitWays(uint64(mode))
		s := string(in)
		chunks := ways["split at random points"](s)
		want := runGuard(t, byteChunks(chunks), lim, false)
		got := runReader(t, byteChunks(chunks), lim)
		var pe *protocolError
		if !(got.err == io.EOF && want.err == io.EOF) && !(errors.As(got.err, &pe) && errors.As(want.err, &pe)) {
			t.Errorf("the reader ended with %v, redcon's with %v", got.err, want.err)
		}
		if strings.Join(got.cmds, "\n") != strings.Join(want.cmds, "\n") || got.reply != want.reply {
			t.Errorf("the reader read %q and the guard replied %q; redcon's read %q, replied %q",
				got.cmds, got.reply, want.cmds, want.reply)
		}

		var raw [][]string
		var rawErrs []string
		for _, name := range []string{"all at once", "one byte at a time", "split at random points"} {
			// A limit of 64 KiB: a raw command must fit, or be refused.
			cmds, err := readAll(t, &chunkConn{chunks: byteChunks(ways[name](s))}, 64<<10)
			raw = append(raw, cmds)
			rawErrs = append(rawErrs, fmt.Sprint(err))
		}
		for i := 1; i < len(raw); i++ {
			if strings.Join(raw[i], "\n") != strings.Join(raw[0], "\n") || rawErrs[i] != rawErrs[0] {
				t.Errorf("raw split %d read %q, %s; split 0 read %q, %s", i, raw[i], rawErrs[i], raw[0], rawErrs[0])
			}
		}
	})
}

// TestGuardBoundsReaderBuffer streams commands through the guard to the
// reader with no pause at a command's end, as TestGuardBoundsRedconBuffer
// does to redcon's: the reader's buffer grows for the 20 KB ECHO, to 32 KiB,
// and no further. The size of the reads it asks for shows its buffer's.
func TestGuardBoundsReaderBuffer(t *testing.T) {
	t.Parallel()
	stream := []byte(strings.Repeat(multibulk("PING"), 99) + "PING\r\n" + multibulk("ECHO", strings.Repeat("e", 20000)))
	const total = 8 << 20
	m := &maxRead{r: newGuardConn(&loopConn{data: stream, fill: true}, defaultLimits())}
	rd := newReader(m, readerMax(defaultLimits()))
	cmds := 0
	for cmds < total/len(stream)*101 {
		c, err := rd.next()
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		cmds += len(c)
	}
	if m.max > 32<<10 {
		t.Errorf("the reader's reads grew to %d bytes, want 32 KiB at most", m.max)
	}
	if len(rd.buf) > 32<<10 {
		t.Errorf("the reader's buffer grew to %d bytes, want 32 KiB at most", len(rd.buf))
	}
}

// emptyReader returns nothing, and no error, for ever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// TestReaderNoProgress checks that the reader gives up on a connection
// whose reads return nothing, and no error, as bufio does, instead of
// spinning.
func TestReaderNoProgress(t *testing.T) {
	t.Parallel()
	if _, err := newReader(emptyReader{}, 1<<20).next(); err != io.ErrNoProgress {
		t.Errorf("next = %v, want %v", err, io.ErrNoProgress)
	}
}

// TestServeConnParseError serves a connection without the guard, so that
// the reader sees what the guard would have dropped: the commands before
// it run, the client gets the protocol error, and the connection closes.
func TestServeConnParseError(t *testing.T) {
	f := newRegistry(t)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
	if err != nil {
		t.Fatal(err)
	}
	server, client := net.Pipe()
	defer client.Close()
	cl := srv.h.newClient(&trackedConn{Conn: server}, nil)
	cl.w.w = redcon.NewWriter(cl.conn)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.serveConn(cl)
	}()
	go client.Write([]byte("PING\r\n*0\r\nPING\r\n")) // net.Pipe: unbuffered; the server stops reading at the error
	got, err := io.ReadAll(client)
	if want := "+PONG\r\n-" + string(errProtoMultibulk) + "\r\n"; string(got) != want || err != nil {
		t.Errorf("replies = %q, %v; want %q, EOF", got, err, want)
	}
	<-done
}
