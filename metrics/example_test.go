package metrics_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rcache/rcache/metrics"
)

func Example() {
	m, err := metrics.New(metrics.Config{
		// In rcache, cmd/rcache adapts each group's Stats and CacheStats.
		Groups: metrics.GroupSourceFunc(func() []metrics.GroupStats {
			return []metrics.GroupStats{{
				Name: "users",
				Gets: 10,
				Main: metrics.CacheStats{Lookups: 10, Hits: 7},
			}}
		}),
		LoadBuckets: []float64{0.1, 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Time an origin load; rcache wraps each group's Getter this way.
	m.ObserveLoad("users", 250*time.Millisecond, nil)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for l := range strings.Lines(string(body)) {
		if strings.HasPrefix(l, "rcache_group_gets_total") ||
			strings.HasPrefix(l, `rcache_group_hits_total{cache="main"`) ||
			strings.HasPrefix(l, "rcache_group_load_duration_seconds_bucket") {
			fmt.Print(l)
		}
	}
	// Output:
	// rcache_group_gets_total{group="users"} 10
	// rcache_group_hits_total{cache="main",group="users"} 7
	// rcache_group_load_duration_seconds_bucket{group="users",result="error",le="0.1"} 0
	// rcache_group_load_duration_seconds_bucket{group="users",result="error",le="1"} 0
	// rcache_group_load_duration_seconds_bucket{group="users",result="error",le="+Inf"} 0
	// rcache_group_load_duration_seconds_bucket{group="users",result="ok",le="0.1"} 0
	// rcache_group_load_duration_seconds_bucket{group="users",result="ok",le="1"} 1
	// rcache_group_load_duration_seconds_bucket{group="users",result="ok",le="+Inf"} 1
}
