package peerhttp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// newHandler returns a Pool with no peers that serves group "scores" from
// an origin of its own, with bodies limited to maxBody bytes.
func newHandler(tb testing.TB, maxBody int64) *peerhttp.Pool {
	tb.Helper()
	reg := group.NewRegistry()
	if _, err := reg.NewGroupWithConfig(group.Config{Name: "scores", CacheBytes: 1 << 20, Getter: &origin{}, HotProbability: -1}); err != nil {
		tb.Fatalf("NewGroupWithConfig: %v", err)
	}
	p, err := peerhttp.New("http://127.0.0.1:1", peerhttp.Config{Registry: reg, MaxBodyBytes: maxBody})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

func marshal(tb testing.TB, m proto.Message) []byte {
	tb.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	return b
}

// TestHandlerStatus sends requests as raw as the wire allows (URL.Opaque
// is the request target, unchanged) and checks the status of each.
func TestHandlerStatus(t *testing.T) {
	const maxBody = 64
	srv := httptest.NewServer(newHandler(t, maxBody))
	t.Cleanup(srv.Close)
	client := srv.Client()

	getMany := marshal(t, &pb.GetManyRequest{Keys: [][]byte{[]byte("Tom"), []byte("missing:x")}})
	set := marshal(t, &pb.WriteRequest{Op: pb.WriteRequest_OP_SET, Value: []byte("1")})
	tests := []struct {
		name      string
		method    string
		target    string
		header    map[string]string
		body      []byte
		chunked   bool // send the body without a Content-Length
		want      int
		wantAllow string
	}{
		{name: "get", method: "GET", target: "/_rcache/scores/Tom", want: 200},
		{name: "peek", method: "GET", target: "/_rcache/scores/Tom?peek=1", want: 200},
		{name: "write", method: "POST", target: "/_rcache/scores/Tom", body: set, want: 200},
		{name: "get many", method: "POST", target: "/_rcache/scores", body: getMany, want: 200},
		{name: "get many chunked", method: "POST", target: "/_rcache/scores", body: getMany, chunked: true, want: 200},
		{name: "timeout header", method: "GET", target: "/_rcache/scores/Tom", header: map[string]string{"Rcache-Timeout-Ms": "5000"}, want: 200},

		{name: "outside base", method: "GET", target: "/other/scores/Tom", want: 404},
		{name: "base without slash", method: "GET", target: "/_rcache", want: 404},
		{name: "unknown group", method: "GET", target: "/_rcache/nope/Tom", want: 404},
		{name: "unknown group batch", method: "POST", target: "/_rcache/nope", body: getMany, want: 404},
		{name: "base only", method: "GET", target: "/_rcache/", want: 400},
		{name: "empty key", method: "GET", target: "/_rcache/scores/", want: 400},
		{name: "bad escape", method: "GET", target: "/_rcache/scores/%zz", want: 400},
		{name: "bad peek", method: "GET", target: "/_rcache/scores/Tom?peek=maybe", want: 400},
		{name: "bad query", method: "GET", target: "/_rcache/scores/Tom?peek=%zz", want: 400},
		{name: "bad timeout", method: "GET", target: "/_rcache/scores/Tom", header: map[string]string{"Rcache-Timeout-Ms": "soon"}, want: 400},
		{name: "zero timeout", method: "GET", target: "/_rcache/scores/Tom", header: map[string]string{"Rcache-Timeout-Ms": "0"}, want: 400},
		{name: "garbage body", method: "POST", target: "/_rcache/scores/Tom", body: []byte("\xff\xff\xff\xff"), want: 400},
		{name: "garbage batch", method: "POST", target: "/_rcache/scores", body: []byte("not protobuf"), want: 400},
		{name: "unknown op", method: "POST", target: "/_rcache/scores/Tom", body: marshal(t, &pb.WriteRequest{Op: 99}), want: 200}, // ERROR_BAD_REQUEST
		{name: "no op", method: "POST", target: "/_rcache/scores/Tom", body: nil, want: 200},                                       // ERROR_BAD_REQUEST
		{name: "key mismatch", method: "POST", target: "/_rcache/scores/Tom", body: marshal(t, &pb.WriteRequest{Key: "Sam", Op: pb.WriteRequest_OP_DROP}), want: 400},
		{name: "group mismatch", method: "POST", target: "/_rcache/scores", body: marshal(t, &pb.GetManyRequest{Group: "other"}), want: 400},
		{name: "oversized body", method: "POST", target: "/_rcache/scores/Tom", body: bytes.Repeat([]byte{0}, maxBody+1), want: 413},
		{name: "oversized chunked body", method: "POST", target: "/_rcache/scores/Tom", body: bytes.Repeat([]byte{0}, maxBody+1), chunked: true, want: 413},
		{name: "put on key", method: "PUT", target: "/_rcache/scores/Tom", want: 405, wantAllow: "GET, POST"},
		{name: "delete on key", method: "DELETE", target: "/_rcache/scores/Tom", want: 405, wantAllow: "GET, POST"},
		{name: "get on batch", method: "GET", target: "/_rcache/scores", want: 405, wantAllow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			u.Opaque = tt.target
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL, body)
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			req.URL = u
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.target, err)
			}
			defer res.Body.Close()
			msg, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.want {
				t.Errorf("%s %s = %d %q, want %d", tt.method, tt.target, res.StatusCode, msg, tt.want)
			}
			if got := res.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			wantType := "application/x-protobuf"
			if tt.want != 200 {
				wantType = "text/plain; charset=utf-8"
			}
			if got := res.Header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type = %q, want %q", got, wantType)
			}
		})
	}
}

// TestHandlerAnswers decodes the 200 answers.
func TestHandlerAnswers(t *testing.T) {
	p := newHandler(t, 0)
	serve := func(method, target string, body []byte, out proto.Message) {
		t.Helper()
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(method, target, bytes.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("%s %s = %d %q", method, target, rec.Code, rec.Body)
		}
		if err := proto.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: Unmarshal: %v", method, target, err)
		}
	}
	tests := []struct {
		name   string
		method string
		target string
		body   []byte
		out    proto.Message
		want   proto.Message
	}{
		{"peek cold", "GET", "/_rcache/scores/Tom?peek=1", nil, new(pb.GetResponse), &pb.GetResponse{NotFound: true}},
		{"value", "GET", "/_rcache/scores/Tom", nil, new(pb.GetResponse), &pb.GetResponse{Value: []byte("630")}},
		{"peek warm", "GET", "/_rcache/scores/Tom?peek=true", nil, new(pb.GetResponse), &pb.GetResponse{Value: []byte("630")}},
		{"not found", "GET", "/_rcache/scores/missing:x", nil, new(pb.GetResponse), &pb.GetResponse{NotFound: true}},
		{"escaped key", "GET", "/_rcache/scores/a%2F%25%2E%2E", nil, new(pb.GetResponse), &pb.GetResponse{Value: []byte("v:a/%..")}},
		{"incr", "POST", "/_rcache/scores/Jack", marshal(t, &pb.WriteRequest{Op: pb.WriteRequest_OP_INCR, Delta: 11}),
			new(pb.WriteResponse), &pb.WriteResponse{IntValue: 600}},
		{"incr not integer", "POST", "/_rcache/scores/Sam%20x", marshal(t, &pb.WriteRequest{Op: pb.WriteRequest_OP_INCR, Delta: 1}),
			new(pb.WriteResponse), &pb.WriteResponse{Error: pb.WriteResponse_ERROR_NOT_INTEGER}},
		{"get many", "POST", "/_rcache/scores", marshal(t, &pb.GetManyRequest{Group: "scores", Keys: [][]byte{[]byte("Sam"), []byte("missing:y")}}),
			new(pb.GetManyResponse), &pb.GetManyResponse{Results: []*pb.GetResponse{{Value: []byte("567")}, {NotFound: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serve(tt.method, tt.target, tt.body, tt.out)
			if !proto.Equal(tt.out, tt.want) {
				t.Errorf("%s %s = %v, want %v", tt.method, tt.target, tt.out, tt.want)
			}
		})
	}
	// An origin error arrives as a flag, not as a failure.
	var res pb.GetResponse
	serve("GET", "/_rcache/scores/broken:x", nil, &res)
	if !strings.Contains(res.GetOriginError(), "database on fire") {
		t.Errorf("origin_error = %q, want it to contain %q", res.GetOriginError(), "database on fire")
	}
}

// TestHandlerInvalidUTF8OriginError checks that an origin error that is not
// valid UTF-8, which a proto3 string cannot carry, is repaired instead of
// failing the answer.
func TestHandlerInvalidUTF8OriginError(t *testing.T) {
	reg := group.NewRegistry()
	_, err := reg.NewGroupWithConfig(group.Config{Name: "bin", HotProbability: -1,
		Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
			return nil, &group.OriginError{Msg: "bad byte \xff"}
		})})
	if err != nil {
		t.Fatalf("NewGroupWithConfig: %v", err)
	}
	p, err := peerhttp.New("http://127.0.0.1:1", peerhttp.Config{Registry: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/_rcache/bin/k", nil))
	var res pb.GetResponse
	if rec.Code != 200 || proto.Unmarshal(rec.Body.Bytes(), &res) != nil || !strings.Contains(res.GetOriginError(), "bad byte \uFFFD") {
		t.Errorf("GET = %d %q, want 200 with a repaired origin_error", rec.Code, rec.Body)
	}

	// An INCR of an uncached key loads it, and reports the failure in
	// WriteResponse.message.
	incr := marshal(t, &pb.WriteRequest{Op: pb.WriteRequest_OP_INCR, Delta: 1})
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("POST", "/_rcache/bin/k", bytes.NewReader(incr)))
	var wres pb.WriteResponse
	if rec.Code != 200 || proto.Unmarshal(rec.Body.Bytes(), &wres) != nil || !strings.Contains(wres.GetMessage(), "bad byte \uFFFD") {
		t.Errorf("POST INCR = %d %q, want 200 with a repaired message", rec.Code, rec.Body)
	}
}

// TestHandlerDeadline checks that the handler stops waiting when the time a
// peer allows, bounded at one minute, runs out, and answers 504 rather than
// an origin error. Time is synthetic: the origin blocks until released.
func TestHandlerDeadline(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   time.Duration
	}{
		{"from header", "50", 50 * time.Millisecond},
		{"bounded", "99999999999999", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				reg := group.NewRegistry()
				_, err := reg.NewGroupWithConfig(group.Config{Name: "scores", HotProbability: -1, LoadTimeout: time.Hour,
					Getter: group.GetterFunc(func(context.Context, string) ([]byte, error) {
						<-release
						return []byte("late"), nil
					})})
				if err != nil {
					t.Fatalf("NewGroupWithConfig: %v", err)
				}
				p, err := peerhttp.New("http://127.0.0.1:1", peerhttp.Config{Registry: reg})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				req := httptest.NewRequest("GET", "/_rcache/scores/k", nil)
				req.Header.Set("Rcache-Timeout-Ms", tt.header)
				rec := httptest.NewRecorder()
				start := time.Now()
				p.ServeHTTP(rec, req)
				if got := time.Since(start); got != tt.want {
					t.Errorf("handler answered after %v, want %v", got, tt.want)
				}
				if rec.Code != http.StatusGatewayTimeout {
					t.Errorf("status = %d %q, want 504", rec.Code, rec.Body)
				}
				close(release) // lets the load, which outlives the request, end
			})
		})
	}
}

// FuzzHandler sends arbitrary requests to the handler, which must not panic
// and must answer with one of the statuses the protocol defines. It sends
// each one, with auth as its Authorization header, to a second handler
// with a secret as well, which must refuse it with 401, without calling
// the origin or touching the group, unless auth carries the secret.
func FuzzHandler(f *testing.F) {
	f.Add("GET", "/_rcache/scores/Tom", "", []byte(nil), "")
	f.Add("GET", "/_rcache/scores/Tom?peek=1", "100", []byte(nil), "")
	f.Add("GET", "/_rcache/scores/a%2Fb/c", "", []byte(nil), "")
	f.Add("POST", "/_rcache/scores/Tom", "", []byte{0x18, 0x03, 0x30, 0x05}, "") // INCR by 5
	f.Add("POST", "/_rcache/scores/Tom", "", []byte{0x18, 0x05}, "")             // FLUSH
	f.Add("POST", "/_rcache/scores", "1", []byte{0x12, 0x03, 'T', 'o', 'm'}, "")
	f.Add("POST", "/_rcache/scores", "", []byte{0x12, 0x02, 0xff, 0xfe}, "")
	f.Add("PUT", "/_rcache/scores", "", []byte("x"), "")
	f.Add("GET", "/_rcache/%2E%2E/%2E", "-1", []byte(nil), "")
	f.Add("GET", "/elsewhere", "", []byte(nil), "")
	f.Add("GET", "*", "", []byte(nil), "")
	f.Add("GET", "/_rcache/scores/Tom", "", []byte(nil), "Bearer "+testSecret)
	f.Add("POST", "/_rcache/scores/Tom", "", []byte{0x18, 0x05}, "Bearer "+testSecret)
	f.Add("POST", "/_rcache/scores/Tom", "", []byte{0x18, 0x05}, "Bearer "+testSecret+"x")
	f.Add("POST", "/_rcache/scores", "", []byte{0x12, 0x03, 'T', 'o', 'm'}, "Basic "+testSecret)
	f.Add("GET", "/_rcache/scores/Tom", "", []byte(nil), "bearer "+testSecret[1:])
	p := newHandler(f, 1<<10)
	sp, sg, so := newSecretHandler(f)
	f.Fuzz(func(t *testing.T, method, target, timeout string, body []byte, auth string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // the server refuses it before any handler runs
		}
		newRequest := func() *http.Request {
			req := &http.Request{
				Method:        method,
				URL:           u,
				RequestURI:    target,
				Header:        http.Header{"Rcache-Timeout-Ms": {timeout}},
				Body:          io.NopCloser(bytes.NewReader(body)),
				ContentLength: int64(len(body)),
			}
			if auth != "" {
				req.Header["Authorization"] = []string{auth}
			}
			return req
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, newRequest())
		switch rec.Code {
		case 200, 400, 404, 405, 413, 504:
		default:
			t.Errorf("%s %s = %d %q", method, target, rec.Code, rec.Body)
		}

		calls, requests, writes := so.total.Load(), sg.Stats.ServerRequests.Load(), sg.Stats.Writes.Load()
		rec = httptest.NewRecorder()
		sp.ServeHTTP(rec, newRequest())
		hasSecret := strings.HasSuffix(auth, " "+testSecret)
		switch {
		case rec.Code == 401:
			if auth == "Bearer "+testSecret {
				t.Errorf("%s %s with the secret = 401", method, target)
			}
			if got := so.total.Load() - calls; got != 0 {
				t.Errorf("%s %s with Authorization %q: 401 after %d origin calls, want 0", method, target, auth, got)
			}
			if sg.Stats.ServerRequests.Load() != requests || sg.Stats.Writes.Load() != writes {
				t.Errorf("%s %s with Authorization %q: 401 after the group served it", method, target, auth)
			}
		case !hasSecret:
			t.Errorf("%s %s with Authorization %q = %d %q, want 401", method, target, auth, rec.Code, rec.Body)
		}
	})
}
