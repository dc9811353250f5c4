//go:build linux

package status

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rcache/rcache/internal/chromium"
)

// TestBrowser loads the page in a real headless browser and checks the DOM
// it built: the markup parses as intended and the hostile group name stays
// text. It needs Debian's chromium (apt-get install -y chromium); without
// it the test is skipped, except under CI=true, where it fails.
func TestBrowser(t *testing.T) {
	path := chromium.Need(t)
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a browser; skipped under -short")
	}
	srv := httptest.NewServer(Handler(SourceFunc(fakeStatus)))
	t.Cleanup(srv.Close)

	dom := chromium.DumpDOM(t, path, srv.URL+"/")
	for _, want := range []string{
		`<title>rcache node-a</title>`,
		`<dd>127.0.0.1:6379</dd>`,
		`<table id="peers">`,
		`<tr><td>http://10.0.0.2:8080</td><td class="healthy">healthy</td><td class="num">1200</td><td class="num">3</td></tr>`,
		`<tr><td>http://10.0.0.3:8080</td><td class="open">open</td><td class="num">50</td><td class="num">41</td></tr>`,
		`<tr><td>http://10.0.0.4:8080</td><td class="half-open">half-open</td><td class="num">7</td><td class="num">6</td></tr>`,
		`<table id="ring">`,
		`<tr><td>http://10.0.0.1:8080 (this node)</td><td class="num">50.0%</td><td><meter min="0" max="1" value="0.5"></meter></td></tr>`,
		`<table id="groups">`,
		`<tr><td>users</td><td class="num">75.0%</td><td class="num">400</td>`,
		`<tr><td>pages</td><td class="num">0.0%</td>`,
		// The DOM serializer escapes < and > in text but not quotes.
		`<tr><td>&lt;script&gt;alert("x")&lt;/script&gt;</td><td class="num">10.0%</td>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Errorf("DOM has a <script element")
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}
