package resp

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"github.com/tidwall/redcon"
)

// ownerPeer is another node that owns some keys of a group. It answers
// from its own memory: "v:"+key for a key it was not told to set, nil for
// a key holding "missing", and an origin failure for one holding "bad". It counts its round trips; each takes delay.
type ownerPeer struct {
	delay time.Duration

	mu       sync.Mutex        // guards the fields below
	values   map[string]string // set by SET, removed by DEL
	gets     int               // Get round trips
	getManys [][]string        // the keys of each GetMany round trip
}

func (p *ownerPeer) answer(key string) *pb.GetResponse {
	switch {
	case strings.Contains(key, "missing"):
		return &pb.GetResponse{NotFound: true}
	case strings.Contains(key, "bad"):
		return &pb.GetResponse{OriginError: "dial tcp 10.1.2.3:5432: connection refused"}
	}
	if v, ok := p.values[key]; ok {
		return &pb.GetResponse{Value: []byte(v)}
	}
	return &pb.GetResponse{Value: []byte("v:" + key)}
}

func (p *ownerPeer) Get(_ context.Context, in *pb.GetRequest) (*pb.GetResponse, error) {
	time.Sleep(p.delay)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gets++
	return p.answer(in.GetKey()), nil
}

func (p *ownerPeer) GetMany(_ context.Context, in *pb.GetManyRequest) (*pb.GetManyResponse, error) {
	time.Sleep(p.delay)
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, len(in.GetKeys()))
	out := &pb.GetManyResponse{}
	for i, k := range in.GetKeys() {
		keys[i] = string(k)
		out.Results = append(out.Results, p.answer(keys[i]))
	}
	p.getManys = append(p.getManys, keys)
	return out, nil
}

func (p *ownerPeer) Write(_ context.Context, in *pb.WriteRequest) (*pb.WriteResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.values == nil {
		p.values = make(map[string]string)
	}
	switch in.GetOp() {
	case pb.WriteRequest_OP_SET:
		p.values[in.GetKey()] = string(in.GetValue())
		return &pb.WriteResponse{Applied: true}, nil
	case pb.WriteRequest_OP_DELETE:
		_, ok := p.values[in.GetKey()]
		delete(p.values, in.GetKey())
		if ok {
			return &pb.WriteResponse{Count: 1}, nil
		}
	}
	return &pb.WriteResponse{}, nil
}

// trips returns the Get round trips and the keys of each GetMany round
// trip since the last call.
func (p *ownerPeer) trips() (gets int, getManys [][]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gets, getManys = p.gets, p.getManys
	p.gets, p.getManys = 0, nil
	return gets, getManys
}

// ownersPicker places a key by its first byte: "a..." at a, "b..." at b,
// anything else at this node.
type ownersPicker struct{ a, b *ownerPeer }

func (o ownersPicker) PickPeer(key string) (group.PeerGetter, bool) {
	switch {
	case strings.HasPrefix(key, "a"):
		return o.a, true
	case strings.HasPrefix(key, "b"):
		return o.b, true
	}
	return nil, false
}

func (o ownersPicker) Peers() []group.PeerGetter { return []group.PeerGetter{o.a, o.b} }

// addRemoteGroup adds to f's registry the group "remote", whose keys
// starting with "a" and "b" live at two other nodes and the rest here,
// where the origin answers "o:"+key. It keeps no hot copies, so that
// every GET of a remote key asks its owner.
func addRemoteGroup(t testing.TB, f *fixture, delay time.Duration) (a, b *ownerPeer) {
	t.Helper()
	g, err := f.reg.NewGroupWithConfig(group.Config{
		Name:           "remote",
		HotProbability: -1,
		Getter: group.GetterFunc(func(_ context.Context, key string) ([]byte, error) {
			return []byte("o:" + key), nil
		}),
	})
	if err != nil {
		t.Fatalf("NewGroupWithConfig(remote): %v", err)
	}
	a, b = &ownerPeer{delay: delay}, &ownerPeer{delay: delay}
	g.RegisterPeers(ownersPicker{a, b})
	return a, b
}

// getCalls returns the calls of GET counted so far.
func getCalls(srv *Server) int64 {
	for _, c := range srv.Stats().Commands {
		if c.Name == "get" {
			return c.Calls
		}
	}
	return 0
}

// BenchmarkGetPipelined measures pipelines of 16 GETs of keys that live
// at other nodes, each round trip to which takes 500µs, over a socket.
func BenchmarkGetPipelined(b *testing.B) {
	const depth = 16
	f := newFixture(b, nil)
	addRemoteGroup(b, f, 500*time.Microsecond)
	c, r := dial(b, f.addr)
	c.SetDeadline(time.Time{})
	var send, want strings.Builder
	for i := range depth {
		key := []string{"a", "b"}[i%2] + strconv.Itoa(i)
		send.WriteString(multibulk("GET", "remote:"+key))
		want.WriteString(bulk("v:" + key))
	}
	buf := make([]byte, want.Len())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.WriteString(c, send.String()); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
	if string(buf) != want.String() {
		b.Fatalf("replies = %q, want %q", buf, want.String())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/get")
}

// servePipelined runs cmds through srv's servePipeline, as the connection
// loop does for a pipeline it read at once, for a new RESP2 client, and
// returns the bytes written.
func servePipelined(srv *Server, cmds ...[]string) string {
	var buf bytes.Buffer
	cl := srv.h.newClient(nil, redcon.NewWriter(&buf))
	var pipeline [][][]byte
	for _, args := range cmds {
		var cmd [][]byte
		for _, a := range args {
			cmd = append(cmd, []byte(a))
		}
		pipeline = append(pipeline, cmd)
	}
	srv.servePipeline(cl, pipeline)
	cl.w.flush()
	return buf.String()
}

func TestPipelinedGetsAskEachOwnerOnce(t *testing.T) {
	f := newRegistry(t)
	a, b := addRemoteGroup(t, f, 0)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	var want strings.Builder
	for i := range 16 {
		key := []string{"a", "b"}[i%2] + strconv.Itoa(i)
		cmds = append(cmds, []string{"GET", "remote:" + key})
		want.WriteString(bulk("v:" + key))
	}
	if got := servePipelined(srv, cmds...); got != want.String() {
		t.Errorf("replies = %q, want %q", got, want.String())
	}
	for _, p := range []struct {
		name string
		peer *ownerPeer
		keys []string
	}{
		{"a", a, []string{"a0", "a2", "a4", "a6", "a8", "a10", "a12", "a14"}},
		{"b", b, []string{"b1", "b3", "b5", "b7", "b9", "b11", "b13", "b15"}},
	} {
		gets, many := p.peer.trips()
		if gets != 0 || len(many) != 1 || !slices.Equal(many[0], p.keys) {
			t.Errorf("owner %s: %d Gets and GetManys %q, want one GetMany of %q", p.name, gets, many, p.keys)
		}
	}
	if got := getCalls(srv); got != 16 {
		t.Errorf("GET calls = %d, want 16", got)
	}
	var info bytes.Buffer
	cl := srv.h.newClient(nil, redcon.NewWriter(&info))
	srv.h.exec(cl, [][]byte{[]byte("INFO"), []byte("commandstats")})
	cl.w.flush()
	if !strings.Contains(info.String(), "cmdstat_get:calls=16,") {
		t.Errorf("INFO commandstats = %q, want cmdstat_get:calls=16", info.String())
	}
}

func TestPipelinedGetsRuns(t *testing.T) {
	f := newRegistry(t)
	a, _ := addRemoteGroup(t, f, 0)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) []string { return []string{"GET", key} }
	var long [][]string
	for i := range maxGetRun + 3 {
		long = append(long, get("remote:a"+strconv.Itoa(i)))
	}
	tests := []struct {
		name     string
		cmds     [][]string
		wantMany []int // the keys of each GetMany at owner a, in order
		wantGets int   // the Gets at owner a
	}{
		{"two runs split by a SET", [][]string{get("remote:a1"), get("remote:a2"), {"SET", "remote:a3", "x"},
			get("remote:a3"), get("remote:a4"), get("remote:a5")}, []int{2, 3}, 0},
		{"a lone GET between other commands", [][]string{{"PING"}, get("remote:a1"), {"PING"}, get("remote:a2")}, nil, 2},
		{"one key of the owner in a run", [][]string{get("remote:a1"), get("remote:b1"), get("remote:l1")}, []int{1}, 0},
		{"one key of the group in a run", [][]string{get("remote:a1"), get("scores:Tom"), get("scores:Sam")}, nil, 1},
		{"a run longer than the cap", long, []int{maxGetRun, 3}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servePipelined(srv, tt.cmds...)
			gets, many := a.trips()
			var sizes []int
			for _, m := range many {
				sizes = append(sizes, len(m))
			}
			if gets != tt.wantGets || !slices.Equal(sizes, tt.wantMany) {
				t.Errorf("owner a: %d Gets, GetManys of %v keys; want %d, %v", gets, sizes, tt.wantGets, tt.wantMany)
			}
		})
	}
}

func TestPipelinedGetReplies(t *testing.T) {
	const noAuth = "-NOAUTH Authentication required.\r\n"
	const failed = "-ERR origin: load failed\r\n"
	tests := []struct {
		name  string
		pass  string // RequirePass
		proto int    // HELLO 3 first when 3
		cmds  [][]string
		want  string
		// The GET stats after: calls, failed calls, rejected calls.
		calls, failed, rejected int64
	}{
		{name: "across groups", cmds: [][]string{{"GET", "scores:Tom"}, {"GET", "remote:a1"}, {"GET", "remote:b1"},
			{"GET", "remote:l1"}, {"GET", "plain"}, {"GET", "scores:Nobody"}, {"GET", "scores:Jack"}},
			want: bulk("630") + bulk("v:a1") + bulk("v:b1") + bulk("o:l1") + "$-1\r\n" + "$-1\r\n" + bulk("589"), calls: 7},
		{name: "missing keys and origin errors", cmds: [][]string{{"GET", "errs:x"}, {"GET", "remote:a-missing"},
			{"GET", "remote:abad"}, {"GET", "remote:b-missing"}, {"GET", "remote:bbad"}, {"GET", "scores:"}, {"GET", ""}, {"GET", "errs:y"}},
			want: failed + "$-1\r\n" + failed + "$-1\r\n" + failed + "$-1\r\n" + "$-1\r\n" + failed, calls: 8, failed: 4},
		{name: "in RESP3", proto: 3, cmds: [][]string{{"GET", "scores:Tom"}, {"GET", "remote:a-missing"}, {"GET", "nope"},
			{"GET", "remote:abad"}, {"GET", "remote:a2"}},
			want: bulk("630") + "_\r\n" + "_\r\n" + failed + bulk("v:a2"), calls: 5, failed: 1},
		{name: "set and del between gets", cmds: [][]string{{"GET", "k"}, {"GET", "k"}, {"SET", "k", "1"}, {"GET", "k"},
			{"GET", "remote:a7"}, {"SET", "remote:a7", "new"}, {"GET", "remote:a7"}, {"GET", "k"}, {"DEL", "k"}, {"GET", "k"}, {"GET", "k"}},
			want: "$-1\r\n$-1\r\n+OK\r\n" + bulk("1") + bulk("v:a7") + "+OK\r\n" + bulk("new") + bulk("1") + ":1\r\n$-1\r\n$-1\r\n", calls: 8},
		{name: "wrong arity inside a run", cmds: [][]string{{"GET", "scores:Tom"}, {"GET"}, {"GET", "scores:Tom"}, {"GET", "scores:Sam"}},
			want: bulk("630") + "-ERR wrong number of arguments for 'get' command\r\n" + bulk("630") + bulk("567"), calls: 3, rejected: 1},
		{name: "unauthenticated", pass: "pw", cmds: [][]string{{"GET", "scores:Tom"}, {"GET", "remote:a1"}, {"AUTH", "pw"},
			{"GET", "scores:Tom"}, {"GET", "remote:a1"}},
			want: noAuth + noAuth + "+OK\r\n" + bulk("630") + bulk("v:a1"), calls: 2, rejected: 2},
		{name: "quit ends the pipeline", cmds: [][]string{{"GET", "scores:Tom"}, {"GET", "scores:Sam"}, {"QUIT"}, {"GET", "scores:Jack"}},
			want: bulk("630") + bulk("567") + "+OK\r\n", calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.RequirePass = tt.pass })
			addRemoteGroup(t, f, 0)
			c, r := dial(t, f.addr)
			if tt.proto == 3 {
				id := clientID(t, c, r)
				io.WriteString(c, "HELLO 3\r\n")
				if want, got := helloReply(3, id), readN(t, r, len(helloReply(3, id))); got != want {
					t.Fatalf("HELLO 3 = %q, want %q", got, want)
				}
			}
			var send strings.Builder
			for _, cmd := range tt.cmds {
				send.WriteString(multibulk(cmd...))
			}
			if _, err := io.WriteString(c, send.String()); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, r, len(tt.want)); got != tt.want {
				t.Errorf("replies =\n %q, want\n %q", got, tt.want)
			}
			var st CommandStats
			for _, c := range f.srv.Stats().Commands {
				if c.Name == "get" {
					st = c
				}
			}
			if st.Calls != tt.calls || st.FailedCalls != tt.failed || st.RejectedCalls != tt.rejected {
				t.Errorf("GET stats: calls %d, failed %d, rejected %d; want %d, %d, %d",
					st.Calls, st.FailedCalls, st.RejectedCalls, tt.calls, tt.failed, tt.rejected)
			}
			if got, want := f.srv.Stats().ErrorReplies, tt.failed+tt.rejected; got != want {
				t.Errorf("ErrorReplies = %d, want %d", got, want)
			}
		})
	}
}

// TestPipelinedGetsOutputLimit: a reply of a run that passes
// MaxOutputBytes closes the connection after the replies before it, as it
// would for GETs served one by one.
func TestPipelinedGetsOutputLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.MaxBulkBytes = 1024
		c.MaxOutputBytes = 1100
	})
	addRemoteGroup(t, f, 0)
	big := strings.Repeat("x", 1000)
	c, r := dial(t, f.addr)
	io.WriteString(c, multibulk("SET", "remote:a-big", big))
	if got := readN(t, r, 5); got != "+OK\r\n" {
		t.Fatalf("SET = %q, want +OK", got)
	}
	io.WriteString(c, multibulk("GET", "scores:Tom")+multibulk("GET", "remote:a-big")+
		multibulk("GET", "remote:a-big")+multibulk("GET", "scores:Sam"))
	if want, got := bulk("630")+bulk(big), readN(t, r, len(bulk("630")+bulk(big))); got != want {
		t.Errorf("replies = %.40q…, want %.40q…", got, want)
	}
	expectEOF(t, r)
	if got := f.srv.h.outputLimitCloses.Load(); got != 1 {
		t.Errorf("outputLimitCloses = %d, want 1", got)
	}
	if got := getCalls(f.srv); got != 3 {
		t.Errorf("GET calls = %d, want 3: the GET after the one over the limit does not run", got)
	}
}

// BenchmarkGetRunHit measures a pipelined run of 16 GETs answered from
// memory, through servePipeline without a socket: the run must allocate
// nothing, as a lone GET hit does not.
func BenchmarkGetRunHit(b *testing.B) {
	const depth = 16
	f := newRegistry(b)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
	if err != nil {
		b.Fatal(err)
	}
	cl := srv.h.newClient(nil, redcon.NewWriter(io.Discard))
	cmds := make([][][]byte, depth)
	for i := range cmds {
		key := []string{"scores:Tom", "scores:Jack", "scores:Sam", "plain"}[i%4]
		cmds[i] = [][]byte{[]byte("GET"), []byte(key)}
	}
	runCommand(srv.h, "SET", "plain", "x")
	run := func() { srv.servePipeline(cl, cmds) }
	run() // load the scores
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	if got := getCalls(srv); got != int64(depth*(b.N+1)) {
		b.Fatalf("GET calls = %d, want %d", got, depth*(b.N+1))
	}
}

// TestMGetAsARun checks MGET, which is served as a run of GETs: across
// groups, owners, misses and origin errors (null, as Redis's MGET), between
// pipelined GET runs, and that an MGET longer than a run leaves the
// connection holding nothing of it.
func TestMGetAsARun(t *testing.T) {
	f := newRegistry(t)
	addRemoteGroup(t, f, 0)
	srv, err := New(Config{Registry: f.reg, Default: f.def})
	if err != nil {
		t.Fatal(err)
	}
	got := servePipelined(srv,
		[]string{"GET", "scores:Tom"}, []string{"GET", "scores:Sam"},
		[]string{"MGET", "scores:Tom", "remote:a1", "remote:b1", "errs:x", "remote:a-missing", "scores:", "nope", "scores:Jack"},
		[]string{"GET", "remote:a1"}, []string{"GET", "scores:Jack"})
	want := bulk("630") + bulk("567") +
		"*8\r\n" + bulk("630") + bulk("v:a1") + bulk("v:b1") + "$-1\r\n" + "$-1\r\n" + "$-1\r\n" + "$-1\r\n" + bulk("589") +
		bulk("v:a1") + bulk("589")
	if got != want {
		t.Errorf("replies = %q, want %q", got, want)
	}

	var buf bytes.Buffer
	cl := srv.h.newClient(nil, redcon.NewWriter(&buf))
	args := [][]byte{[]byte("MGET")}
	for i := range maxGetRun + 88 {
		args = append(args, []byte("remote:a"+strconv.Itoa(i)))
	}
	srv.h.exec(cl, args)
	cl.w.flush()
	if n := strings.Count(buf.String(), "$"); n != maxGetRun+88 {
		t.Errorf("MGET of %d keys: %d values in the reply", maxGetRun+88, n)
	}
	if cl.run.keys != nil || cl.run.res != nil || cl.run.batches != nil {
		t.Errorf("after an MGET of %d keys the connection keeps %d keys, %d results, %d batches; want none",
			maxGetRun+88, cap(cl.run.keys), cap(cl.run.res), cap(cl.run.batches))
	}
}
