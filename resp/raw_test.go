package resp

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
)

// multibulk encodes args as a RESP command.
func multibulk(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// bulk encodes s as a bulk string.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// helloReply is HELLO's reply to connection id under proto, as sent.
func helloReply(proto int, id int64) string {
	head := "%7\r\n"
	if proto == 2 {
		head = "*14\r\n"
	}
	return head + bulk("server") + bulk("rcache") + bulk("version") + bulk("7.2.0") +
		bulk("proto") + ":" + strconv.Itoa(proto) + "\r\n" + bulk("id") + ":" + strconv.FormatInt(id, 10) + "\r\n" +
		bulk("mode") + bulk("standalone") + bulk("role") + bulk("master") + bulk("modules") + "*0\r\n"
}

// clientID asks the connection's ID.
func clientID(t *testing.T, c net.Conn, r *bufio.Reader) int64 {
	t.Helper()
	io.WriteString(c, "CLIENT ID\r\n")
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("CLIENT ID = %q, %v", line, err)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(line[1:]), 10, 64)
	if err != nil {
		t.Fatalf("CLIENT ID = %q", line)
	}
	return id
}

func TestRawReplies(t *testing.T) {
	f := newFixture(t, nil)
	long := strings.Repeat("x", 200)
	cluster := "# Cluster\r\ncluster_enabled:0\r\ncluster_members:1\r\ncluster_self:redis://" + f.addr +
		"\r\ncluster_member0:redis://" + f.addr + "\r\n"
	tests := []struct {
		name string
		send string
		want string // may use %[1]d for the connection's ID
	}{
		{"hello 3 is a map", "HELLO 3\r\n", helloReply(3, -1)},
		{"hello 2 is a flat array", "HELLO 2\r\n", helloReply(2, -1)},
		{"null in RESP2", "GET nope\r\n", "$-1\r\n"},
		{"null in RESP3", "HELLO 3\r\nGET nope\r\n", helloReply(3, -1) + "_\r\n"},
		{"null in MGET in RESP2", "MGET nope scores:Tom\r\n", "*2\r\n$-1\r\n$3\r\n630\r\n"},
		{"null in MGET in RESP3", "HELLO 3\r\nMGET nope scores:Tom\r\n", helloReply(3, -1) + "*2\r\n_\r\n$3\r\n630\r\n"},
		{"back to RESP2", "HELLO 3\r\nHELLO 2\r\nGET nope\r\n", helloReply(3, -1) + helloReply(2, -1) + "$-1\r\n"},
		{"info bulk in RESP2", "INFO cluster\r\n", bulk(cluster)},
		{"info verbatim in RESP3", "HELLO 3\r\nINFO CLUSTER\r\n",
			helloReply(3, -1) + "=" + strconv.Itoa(len(cluster)+4) + "\r\ntxt:" + cluster + "\r\n"},
		{"config get array in RESP2", "CONFIG GET maxmemory\r\n", "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"},
		{"config get map in RESP3", "HELLO 3\r\nCONFIG GET maxmemory\r\n", helloReply(3, -1) + "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"},
		{"command info sets in RESP3", "HELLO 3\r\nCOMMAND INFO ping\r\n", helloReply(3, -1) +
			"*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@fast\r\n+@connection\r\n" +
			"~2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n"},
		{"command info arrays in RESP2", "COMMAND INFO ping\r\n",
			"*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n" +
				"*2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n"},
		{"command docs in RESP2", "COMMAND DOCS echo\r\n", "*2\r\n$4\r\necho\r\n*10\r\n" +
			bulk("summary") + bulk("Returns the given string.") + bulk("since") + bulk("1.0.0") +
			bulk("group") + bulk("connection") + bulk("complexity") + bulk("O(1)") +
			bulk("arguments") + "*1\r\n*4\r\n" + bulk("name") + bulk("message") + bulk("type") + bulk("string")},
		{"command docs in RESP3", "HELLO 3\r\nCOMMAND DOCS ping\r\n", helloReply(3, -1) + "%1\r\n$4\r\nping\r\n%5\r\n" +
			bulk("summary") + bulk("Returns the server's liveliness response.") + bulk("since") + bulk("1.0.0") +
			bulk("group") + bulk("connection") + bulk("complexity") + bulk("O(1)") +
			bulk("arguments") + "*1\r\n%3\r\n" + bulk("name") + bulk("message") + bulk("type") + bulk("string") +
			bulk("flags") + "~1\r\n+optional\r\n"},
		{"unknown command", "FOO a b\r\n", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"},
		{"unknown command without args", "foo\r\n", "-ERR unknown command 'foo', with args beginning with: \r\n"},
		{"unknown command echoes 128 bytes of args", multibulk("foo", long, "b"),
			"-ERR unknown command 'foo', with args beginning with: '" + long[:128] + "' \r\n"},
		{"unknown command shares 128 bytes among args", multibulk("foo", long[:100], long[:100], "c"),
			"-ERR unknown command 'foo', with args beginning with: '" + long[:100] + "' '" + long[:25] + "' \r\n"},
		{"unknown command name is cut at 128 bytes", multibulk(long),
			"-ERR unknown command '" + long[:128] + "', with args beginning with: \r\n"},
		{"unknown command spaces line breaks and stops at NUL", multibulk("fo\r\no", "a\nb", "c\x00d"),
			"-ERR unknown command 'fo  o', with args beginning with: 'a b' 'c' \r\n"},
		{"unknown subcommand", multibulk("client", "no\r\npe"), "-ERR unknown subcommand 'no  pe'. Try CLIENT HELP.\r\n"},
		{"unknown config subcommand", "config nope\r\n", "-ERR unknown subcommand 'nope'. Try CONFIG HELP.\r\n"},
		{"wrong arity", "GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n"},
		{"wrong arity of a subcommand", "CLIENT SETNAME\r\n", "-ERR wrong number of arguments for 'client|setname' command\r\n"},
		{"wrong arity of a container", "CONFIG\r\n", "-ERR wrong number of arguments for 'config' command\r\n"},
		{"errors do not close", "FOO\r\nGET\r\nPING\r\n",
			"-ERR unknown command 'FOO', with args beginning with: \r\n-ERR wrong number of arguments for 'get' command\r\n+PONG\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, r := dial(t, f.addr)
			want := tt.want
			if strings.Contains(tt.send, "HELLO") {
				id := clientID(t, c, r)
				want = strings.ReplaceAll(want, ":-1\r\n$4\r\nmode", ":"+strconv.FormatInt(id, 10)+"\r\n$4\r\nmode")
			}
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, r, len(want)); got != want {
				t.Errorf("%q:\n got %q\nwant %q", tt.send, got, want)
			}
		})
	}
}

func TestRawAuth(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RequirePass = "s3cret" })
	helloNoAuth := "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
	tests := []struct {
		name, send, want string
	}{
		{"noauth", "GET scores:Tom\r\nPING\r\n", "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"},
		{"unknown command before arity and auth", "FOO\r\nGET\r\n",
			"-ERR unknown command 'FOO', with args beginning with: \r\n-ERR wrong number of arguments for 'get' command\r\n"},
		{"wrongpass", "AUTH nope\r\nGET scores:Tom\r\n",
			"-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n"},
		{"wrong user", "AUTH bob s3cret\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"auth", "AUTH s3cret\r\nGET scores:Tom\r\n", "+OK\r\n$3\r\n630\r\n"},
		{"auth with user", "AUTH default s3cret\r\nGET scores:Tom\r\n", "+OK\r\n$3\r\n630\r\n"},
		{"hello before auth", "HELLO 3\r\n", helloNoAuth},
		{"hello auth wrong", "HELLO 3 AUTH default nope\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"quit before auth", "QUIT\r\n", "+OK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, r := dial(t, f.addr)
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, r, len(tt.want)); got != tt.want {
				t.Errorf("%q:\n got %q\nwant %q", tt.send, got, tt.want)
			}
		})
	}

	t.Run("hello auth", func(t *testing.T) {
		t.Parallel()
		c, r := dial(t, f.addr)
		// The ID cannot be asked before authenticating: ask it after, and
		// read up to its reply.
		send := "HELLO 2 AUTH default s3cret SETNAME me\r\nCLIENT GETNAME\r\nCLIENT ID\r\n"
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		var id int64
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", got.String(), err)
			}
			got.WriteString(line)
			if strings.HasSuffix(got.String(), "$2\r\nme\r\n"+line) && line[0] == ':' {
				id, _ = strconv.ParseInt(strings.TrimSpace(line[1:]), 10, 64)
				break
			}
		}
		want := helloReply(2, id) + "$2\r\nme\r\n:" + strconv.FormatInt(id, 10) + "\r\n"
		if got.String() != want {
			t.Errorf("%q:\n got %q\nwant %q", send, got.String(), want)
		}
	})
}

func TestRawClose(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name, send, want string
	}{
		{"quit", "PING\r\nQUIT\r\nPING\r\n", "+PONG\r\n+OK\r\n"},
		{"post", "POST / HTTP/1.1\r\nHost: localhost:6379\r\n\r\nPING\r\n", ""},
		{"host", "Host: localhost\r\nPING\r\n", ""},
		{"post after a command sends nothing more", "PING\r\npost /x\r\nPING\r\n", ""},
		{"host in any case", "hOsT: x\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, r := dial(t, f.addr)
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, r, len(tt.want)); got != tt.want {
				t.Errorf("%q = %q, want %q", tt.send, got, tt.want)
			}
			expectEOF(t, r)
		})
	}
}

// pipeline is a session sent in one go, checkable by hand; its replies
// depend only on the connection's ID.
func pipeline(id int64) (send, want string) {
	cmds := []struct{ send, want string }{
		{multibulk("SET", "k", "v"), "+OK\r\n"},
		{"GET k\r\n", "$1\r\nv\r\n"},
		{multibulk("GET", "scores:Tom"), "$3\r\n630\r\n"},
		{"PING\r\n", "+PONG\r\n"},
		{"NOPE x\r\n", "-ERR unknown command 'NOPE', with args beginning with: 'x' \r\n"},
		{multibulk("SET", "bin", "\x00\r\n$3\r\n"), "+OK\r\n"},
		{multibulk("GET", "bin"), "$7\r\n\x00\r\n$3\r\n\r\n"},
		{"GET nope\r\n", "$-1\r\n"},
		{"HELLO 3\r\n", helloReply(3, id)},
		{"GET nope\r\n", "_\r\n"},
		{multibulk("MGET", "scores:Jack", "nope", "bin"), "*3\r\n$3\r\n589\r\n_\r\n$7\r\n\x00\r\n$3\r\n\r\n"},
		{"INCR n\r\n", ":1\r\n"},
		{multibulk("INCRBY", "n", "41"), ":42\r\n"},
		{"GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n"},
		{multibulk("ECHO", strings.Repeat("e", 5000)), bulk(strings.Repeat("e", 5000))},
		{"DEL k bin n\r\n", ":3\r\n"},
		{"QUIT\r\n", "+OK\r\n"},
		{"PING\r\n", ""}, // after QUIT: not run
	}
	var s, w strings.Builder
	for _, c := range cmds {
		s.WriteString(c.send)
		w.WriteString(c.want)
	}
	return s.String(), w.String()
}

func TestPipelining(t *testing.T) {
	f := newFixture(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	// Each way of sending writes chunks of the session; the replies must
	// be the same.
	ways := map[string]func(string) []string{
		"all at once": func(s string) []string { return []string{s} },
		"one byte at a time": func(s string) []string {
			chunks := make([]string, len(s))
			for i := range s {
				chunks[i] = s[i : i+1]
			}
			return chunks
		},
		"split at random points": func(s string) []string {
			var chunks []string
			for len(s) > 0 {
				n := min(1+rng.IntN(64), len(s))
				chunks = append(chunks, s[:n])
				s = s[n:]
			}
			return chunks
		},
	}
	for name, split := range ways {
		t.Run(name, func(t *testing.T) {
			c, r := dial(t, f.addr)
			send, want := pipeline(clientID(t, c, r))
			// The replies are read while the chunks are written: a full
			// socket buffer must not deadlock the test.
			written := make(chan error, 1)
			go func() {
				for _, chunk := range split(send) {
					if _, err := io.WriteString(c, chunk); err != nil {
						written <- err
						return
					}
				}
				written <- nil
			}()
			got := readN(t, r, len(want))
			if got != want {
				t.Errorf("replies differ:\n got %q\nwant %q", got, want)
			}
			expectEOF(t, r)
			if err := <-written; err != nil {
				t.Logf("write after QUIT: %v", err) // the server may close first
			}
		})
	}
}
