package status

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hostile is a group name that would run a script if it were not escaped.
const hostile = `<script>alert("x")</script>`

// fakeStatus returns a status with a peer in each state, a ring on which
// this node owns half the keys, and three groups, one named hostile.
func fakeStatus() Status {
	return Status{
		Node: Node{
			Name:     "node-a",
			RESPAddr: "127.0.0.1:6379",
			PeerURL:  "http://10.0.0.1:8080",
			Version:  "v0.9.0",
			Uptime:   3*time.Hour + 25*time.Minute + 7*time.Second + 400*time.Millisecond,
		},
		Peers: []Peer{
			{URL: "http://10.0.0.2:8080", State: Healthy, Requests: 1200, Errors: 3},
			{URL: "http://10.0.0.3:8080", State: Open, Requests: 50, Errors: 41},
			{URL: "http://10.0.0.4:8080", State: HalfOpen, Requests: 7, Errors: 6},
		},
		Ring: []Share{
			{Node: "http://10.0.0.1:8080", Fraction: 0.5},
			{Node: "http://10.0.0.2:8080", Fraction: 0.25},
			{Node: "http://10.0.0.3:8080", Fraction: 0.125},
			{Node: "http://10.0.0.4:8080", Fraction: 0.125},
		},
		Groups: []Group{
			{Name: "users", Gets: 400, Hits: 300, MainBytes: 4096, MainItems: 40, HotBytes: 1536, HotItems: 3, Budget: 1 << 20},
			{Name: "pages", Gets: 0, MainBytes: 0},
			{Name: hostile, Gets: 10, Hits: 1},
		},
	}
}

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res, string(body)
}

func TestPage(t *testing.T) {
	res, body := get(t, Handler(SourceFunc(fakeStatus)), "GET", "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d, want 200; body:\n%s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/html; charset=utf-8", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	for _, want := range []string{
		`<title>rcache node-a</title>`,
		`<dt>RESP address</dt><dd>127.0.0.1:6379</dd>`,
		`<dt>Peer URL</dt><dd>http://10.0.0.1:8080</dd>`,
		`<dt>Version</dt><dd>v0.9.0</dd>`,
		`<dt>Uptime</dt><dd>3h25m7s</dd>`,
		`<tr><td>http://10.0.0.2:8080</td><td class="healthy">healthy</td><td class="num">1200</td><td class="num">3</td></tr>`,
		`<tr><td>http://10.0.0.3:8080</td><td class="open">open</td><td class="num">50</td><td class="num">41</td></tr>`,
		`<tr><td>http://10.0.0.4:8080</td><td class="half-open">half-open</td><td class="num">7</td><td class="num">6</td></tr>`,
		`<tr><td>http://10.0.0.1:8080 (this node)</td><td class="num">50.0%</td><td><meter min="0" max="1" value="0.5"></meter></td></tr>`,
		`<tr><td>http://10.0.0.3:8080</td><td class="num">12.5%</td>`,
		`<tr><td>users</td><td class="num">75.0%</td><td class="num">400</td><td class="num">4.0 KiB</td><td class="num">40</td><td class="num">1.5 KiB</td><td class="num">3</td><td class="num">1.0 MiB</td></tr>`,
		`<tr><td>pages</td><td class="num">0.0%</td><td class="num">0</td><td class="num">0 B</td><td class="num">0</td><td class="num">0 B</td><td class="num">0</td><td class="num">no limit</td></tr>`,
		`<tr><td>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</td><td class="num">10.0%</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Errorf("page contains an unescaped <script")
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

func TestPageEmpty(t *testing.T) {
	_, body := get(t, Handler(SourceFunc(func() Status { return Status{Node: Node{Name: "solo"}} })), "GET", "/")
	for _, want := range []string{
		`<title>rcache solo</title>`,
		`<p class="none" id="peers">No peers: this node owns every key.</p>`,
		`<p class="none" id="ring">No ring.</p>`,
		`<p class="none" id="groups">No groups.</p>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// TestStateClass checks that a state the page does not know gets no class,
// while its text is still shown.
func TestStateClass(t *testing.T) {
	src := SourceFunc(func() Status {
		return Status{Peers: []Peer{{URL: "http://x", State: `" onclick="x`}}}
	})
	_, body := get(t, Handler(src), "GET", "/")
	want := `<tr><td>http://x</td><td class="">&#34; onclick=&#34;x</td>`
	if !strings.Contains(body, want) {
		t.Errorf("page lacks %s\npage:\n%s", want, body)
	}
}

func TestJSON(t *testing.T) {
	res, body := get(t, Handler(SourceFunc(fakeStatus)), "GET", "/status.json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /status.json = %d, want 200; body:\n%s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got Status
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode /status.json: %v\nbody:\n%s", err, body)
	}
	if want := fakeStatus(); !reflect.DeepEqual(got, want) {
		t.Errorf("/status.json decodes to %+v, want %+v", got, want)
	}
	if !strings.Contains(body, `"uptime_ns": 12307400000000`) {
		t.Errorf("/status.json lacks uptime_ns:\n%s", body)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	h := Handler(SourceFunc(fakeStatus))
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusOK},
		{"HEAD", "/", http.StatusOK},
		{"GET", "/status.json", http.StatusOK},
		{"GET", "/index.html", http.StatusNotFound},
		{"GET", "/status.json/x", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			if res, _ := get(t, h, tc.method, tc.path); res.StatusCode != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, res.StatusCode, tc.want)
			}
		})
	}
}

func TestNilSource(t *testing.T) {
	defer func() {
		if r := recover(); r != "status: nil Source" {
			t.Errorf("Handler(nil) panicked with %v, want %q", r, "status: nil Source")
		}
	}()
	Handler(nil)
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1 << 20, "1.0 MiB"},
		{5 << 30, "5.0 GiB"},
		{1 << 62, "4.0 EiB"},
		{-2048, "-2.0 KiB"},
	} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestHitRatio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		g    Group
		want float64
	}{
		{Group{}, 0},
		{Group{Gets: 4, Hits: 3}, 0.75},
		{Group{Gets: 4, Hits: 4}, 1},
	} {
		if got := tc.g.HitRatio(); got != tc.want {
			t.Errorf("Group{Gets: %d, Hits: %d}.HitRatio() = %v, want %v", tc.g.Gets, tc.g.Hits, got, tc.want)
		}
	}
}
