package config_test

import (
	"fmt"
	"time"

	"github.com/rcache/rcache/config"
)

func ExampleParse() {
	f, err := config.Parse("conf/rcache.yaml", []byte(`
max_memory: 64mb
groups:
  - name: scores
    ttl: 10m
    origin:
      sqlite: {path: scores.db, query: "SELECT score FROM scores WHERE name = ?"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	g := f.Groups[0]
	fmt.Println(*f.MaxMemory, g.Name, time.Duration(g.TTL), g.Origin.Kind(), g.Origin.SQLite.Path)

	_, err = config.Parse("rcache.yaml", []byte(`
groups:
  - name: scores
    ttll: 10m
    origin: {demo: {}}
`))
	fmt.Println(err)
	// Output:
	// 67108864 scores 10m0s sqlite conf/scores.db
	// rcache.yaml:4: unknown key "ttll" in group (want one of name, max_memory, ttl, ttl_jitter, negative_ttl, hot_ttl, hot_probability, hot_on_repeat, max_stale, load_timeout, max_origin_calls, origin)
}
