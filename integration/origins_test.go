package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// originRows is what the database origins hold: examples/scores.sql's three
// scores and 50 players, player00 to player49, whose score is 1000 plus
// their number.
func originRows() map[string]string {
	rows := maps.Clone(scores)
	for i := range 50 {
		rows[fmt.Sprintf("player%02d", i)] = strconv.Itoa(1000 + i)
	}
	return rows
}

// seedSQL inserts the players of originRows into the scores table that
// examples/scores.sql creates; it is SQL both SQLite and PostgreSQL run.
func seedSQL() string {
	var b strings.Builder
	b.WriteString("INSERT INTO scores (name, score) VALUES ")
	for i := range 50 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "('player%02d', %d)", i, 1000+i)
	}
	return b.String()
}

// scoresScript returns examples/scores.sql.
func scoresScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../examples/scores.sql")
	if err != nil {
		t.Fatalf("read the example script: %v", err)
	}
	return string(b)
}

func TestSQLiteCluster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scores.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	for _, script := range []string{scoresScript(t), seedSQL()} {
		if _, err := db.Exec(script); err != nil {
			db.Close()
			t.Fatalf("seed %s: %v", path, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
	query := url.QueryEscape("SELECT score FROM scores WHERE name = ?")
	testOriginCluster(t, "scores=sqlite:"+path+"?query="+query, nil)
}

// postgresCounting creates, next to the scores, a table that records every
// key the origin query is run for, and lookup_score, the function the
// query calls, which records its key and returns the key's score. rcache
// runs each query in a transaction of its own that has committed when the
// origin returns, so the table is up to date by the time a GET replies.
const postgresCounting = `
CREATE TABLE origin_calls (key text NOT NULL);
CREATE FUNCTION lookup_score(k text) RETURNS TABLE (score integer)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO origin_calls VALUES (k);
	RETURN QUERY SELECT s.score FROM scores s WHERE s.name = k;
END
$$;
`

func TestPostgresCluster(t *testing.T) {
	s := startPostgres(t)
	conn := s.connect(t)
	ctx := testCtx(t)
	for _, script := range []string{scoresScript(t), seedSQL(), postgresCounting} {
		if _, err := conn.Exec(ctx, script); err != nil {
			t.Fatalf("seed the PostgreSQL server: %v", err)
		}
	}
	// The calls of the query, as PostgreSQL saw them: a check of INFO's
	// counts that does not rely on rcache.
	calls := func(t *testing.T) map[string]int {
		t.Helper()
		rows, err := conn.Query(ctx, "SELECT key, count(*) FROM origin_calls GROUP BY key")
		if err != nil {
			t.Fatalf("count the origin's queries: %v", err)
		}
		m := make(map[string]int)
		for rows.Next() {
			var key string
			var n int
			if err := rows.Scan(&key, &n); err != nil {
				t.Fatalf("count the origin's queries: %v", err)
			}
			m[key] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("count the origin's queries: %v", err)
		}
		if _, err := conn.Exec(ctx, "TRUNCATE origin_calls"); err != nil {
			t.Fatalf("reset the origin's count: %v", err)
		}
		return m
	}
	query := url.QueryEscape("SELECT score FROM lookup_score($1)")
	testOriginCluster(t, "scores="+s.url("query="+query), calls)
}

// testOriginCluster checks, under RESP3 and then RESP2, each time with a
// fresh 3-node cluster serving the group scores from source (an origin
// holding originRows), that 200 clients spread over the nodes asking for
// one cold key at once all get its value, or nil for a key the origin
// lacks, and that every node answers every key. Throughout, the cluster
// must query the origin exactly once per key asked: the sum over the nodes
// of INFO's local_loads and local_not_found must be the number of keys
// asked, and as every key was cold, and was answered, each was queried at
// least once, so exactly once. When calls is not nil, it returns the
// origin's own count of queries per key since its last call, which must be
// one for each key asked too.
func testOriginCluster(t *testing.T, source string, calls func(t *testing.T) map[string]int) {
	want := originRows()
	protocols(t, func(t *testing.T, proto int) {
		if calls != nil {
			calls(t) // forget the queries of the cluster of another protocol
		}
		nodes := startCluster(t, 3, "--group", source)
		ctx := testCtx(t)
		clients := make([]*redis.Client, len(nodes))
		for i, nd := range nodes {
			clients[i] = nd.client(t, proto)
		}

		// The check, after each step, that the cluster has queried the
		// origin once for each key asked so far and for no other.
		var found, missing []string
		seen := make(map[string]int) // the origin's own count, when calls is not nil
		checkOneQueryPerKey := func(step string) {
			t.Helper()
			sum := map[string]int64{}
			loaders := 0
			for _, c := range clients {
				st := groupInfo(t, ctx, c, "scores")
				for _, f := range []string{"local_loads", "local_not_found", "local_load_errors", "peer_errors"} {
					sum[f] += st[f]
				}
				if st["local_loads"]+st["local_not_found"] > 0 {
					loaders++
				}
			}
			if got := sum["local_loads"]; got != int64(len(found)) {
				t.Errorf("%s: origin queries that found a value, summed over the nodes' INFO local_loads = %d, want %d, one per key asked",
					step, got, len(found))
			}
			if got := sum["local_not_found"]; got != int64(len(missing)) {
				t.Errorf("%s: origin queries that found nothing, summed over the nodes' INFO local_not_found = %d, want %d, one per missing key asked",
					step, got, len(missing))
			}
			if sum["local_load_errors"] != 0 || sum["peer_errors"] != 0 {
				t.Errorf("%s: local_load_errors = %d, peer_errors = %d summed over the nodes, want 0",
					step, sum["local_load_errors"], sum["peer_errors"])
			}
			if len(found) > 1 && loaders < 2 {
				// All keys owned by one node of three would mean the nodes
				// do not share the keys, and the count above would prove
				// nothing about the cluster.
				t.Errorf("%s: %d node(s) queried the origin, want the keys spread over at least 2", step, loaders)
			}
			if calls == nil {
				return
			}
			for k, n := range calls(t) {
				seen[k] += n
			}
			asked := make(map[string]bool)
			for _, k := range slices.Concat(found, missing) {
				asked[k] = true
			}
			for _, k := range slices.Sorted(maps.Keys(asked)) {
				if seen[k] != 1 {
					t.Errorf("%s: the origin's own count of queries for %q = %d, want 1", step, k, seen[k])
				}
			}
			for _, k := range slices.Sorted(maps.Keys(seen)) {
				if !asked[k] {
					t.Errorf("%s: the origin's own count of queries for %q, never asked, = %d, want 0", step, k, seen[k])
				}
			}
		}

		// 200 clients, spread over the nodes, ask for one cold key at once:
		// first a key the origin has, then one it lacks.
		flood := func(key string) {
			t.Helper()
			value, exists := want[key]
			start := make(chan struct{})
			errs := make(chan error, 200)
			var ready, wg sync.WaitGroup
			for i := range 200 {
				ready.Add(1)
				wg.Go(func() {
					// A PING first, so that the GETs need not wait for
					// connections to open and reach the nodes together.
					err := clients[i%len(clients)].Ping(ctx).Err()
					ready.Done()
					if err != nil {
						errs <- fmt.Errorf("client %d at node %d: PING: %v", i, i%len(clients), err)
						return
					}
					<-start
					got, err := clients[i%len(clients)].Get(ctx, "scores:"+key).Result()
					switch {
					case exists && (err != nil || got != value):
						errs <- fmt.Errorf("client %d at node %d: GET scores:%s = %q, %v, want %q", i, i%len(clients), key, got, err, value)
					case !exists && !errors.Is(err, redis.Nil):
						errs <- fmt.Errorf("client %d at node %d: GET scores:%s = %q, %v, want nil", i, i%len(clients), key, got, err)
					}
				})
			}
			ready.Wait()
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}
		const cold = "player07"
		flood(cold)
		found = append(found, cold)
		checkOneQueryPerKey("200 concurrent GETs of a cold key")
		// The owner remembers a "not found" for NegativeTTL (5s by
		// default): ample for the 200 GETs, which take milliseconds.
		flood("nobody")
		missing = append(missing, "nobody")
		checkOneQueryPerKey("200 concurrent GETs of a missing key")

		// Every node is asked for another missing key, one after the other
		// (well within NegativeTTL), and then for every key.
		for i, c := range clients {
			if got, err := c.Get(ctx, "scores:ghost").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("node %d: GET scores:ghost = %q, %v, want nil", i, got, err)
			}
		}
		missing = append(missing, "ghost")
		keys := slices.Sorted(maps.Keys(want))
		for i, c := range clients {
			for _, key := range keys {
				got, err := c.Get(ctx, "scores:"+key).Result()
				if err != nil || got != want[key] {
					t.Errorf("node %d: GET scores:%s = %q, %v, want %q", i, key, got, err, want[key])
				}
			}
		}
		for _, key := range keys {
			if key != cold { // counted in the first step
				found = append(found, key)
			}
		}
		checkOneQueryPerKey("GET of every key at every node")
	})
}

// groupInfo returns the counters of group in the node's INFO, by name
// (local_loads, local_not_found, ...).
func groupInfo(t *testing.T, ctx context.Context, c *redis.Client, group string) map[string]int64 {
	t.Helper()
	text, err := c.Info(ctx, "group_"+group).Result()
	if err != nil {
		t.Fatalf("INFO group_%s: %v", group, err)
	}
	m := make(map[string]int64)
	header := false
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "# Group_"+group {
			header = true
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			t.Fatalf("INFO group_%s: field %s = %q, not an integer", group, name, value)
		}
		m[name] = n
	}
	if !header {
		t.Fatalf("INFO group_%s has no section # Group_%s:\n%s", group, group, text)
	}
	for _, f := range []string{"local_loads", "local_not_found", "local_load_errors", "peer_errors"} {
		if _, ok := m[f]; !ok {
			t.Fatalf("INFO group_%s lacks %s:\n%s", group, f, text)
		}
	}
	return m
}
