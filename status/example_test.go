package status_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rcache/rcache/status"
)

func Example() {
	// In rcache, cmd/rcache adapts the node, its peer pool and its groups.
	src := status.SourceFunc(func() status.Status {
		return status.Status{
			Node:   status.Node{Name: "node-a", PeerURL: "http://10.0.0.1:8080", Uptime: 90 * time.Second},
			Peers:  []status.Peer{{URL: "http://10.0.0.2:8080", State: status.Open, Requests: 9, Errors: 9}},
			Groups: []status.Group{{Name: "users", Gets: 4, Hits: 3}},
		}
	})
	rec := httptest.NewRecorder()
	status.Handler(src).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for l := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(l, "<tr><td>") || strings.Contains(l, "Uptime") {
			fmt.Print(l)
		}
	}
	// Output:
	// <dt>Uptime</dt><dd>1m30s</dd>
	// <tr><td>http://10.0.0.2:8080</td><td class="open">open</td><td class="num">9</td><td class="num">9</td></tr>
	// <tr><td>users</td><td class="num">75.0%</td><td class="num">4</td><td class="num">0 B</td><td class="num">0</td><td class="num">0 B</td><td class="num">0</td><td class="num">no limit</td></tr>
}
