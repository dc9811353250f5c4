package integration

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

var scores = map[string]string{"Tom": "630", "Jack": "589", "Sam": "567"}

func copyScores() map[string]string {
	m := make(map[string]string)
	for k, v := range scores {
		m[k] = v
	}
	for i := range 50 {
		m[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
	}
	return m
}

func TestSameAnswerFromEveryNode(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	protocols(t, func(t *testing.T, proto int) {
		ctx := testCtx(t)
		for _, nd := range nodes {
			c := nd.client(t, proto)
			for key, want := range scores {
				got, err := c.Get(ctx, "scores:"+key).Result()
				if err != nil || got != want {
					t.Errorf("node %s: GET scores:%s = %q, %v, want %q", nd.addr, key, got, err, want)
				}
			}
			if _, err := c.Get(ctx, "scores:nobody").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("node %s: GET scores:nobody = %v, want nil", nd.addr, err)
			}
		}
	})
	for key := range scores {
		if n := o.callsFor(key); n != 1 {
			t.Errorf("origin calls for %s = %d, want 1", key, n)
		}
	}
}

func TestOneOriginCallUnderConcurrency(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	protocols(t, func(t *testing.T, proto int) {
		ctx := testCtx(t)
		key := fmt.Sprintf("k%d", proto)
		clients := make([]*redis.Client, len(nodes))
		for i, nd := range nodes {
			clients[i] = nd.client(t, proto)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Go(func() {
				got, err := clients[i%len(clients)].Get(ctx, "scores:"+key).Result()
				if err != nil || got != "v"+key[1:] {
					errs <- fmt.Errorf("GET scores:%s = %q, %v", key, got, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := o.callsFor(key); n != 1 {
			t.Errorf("origin calls for %s under 200 concurrent clients = %d, want 1", key, n)
		}
	})
}

func TestMGetAcrossOwners(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	protocols(t, func(t *testing.T, proto int) {
		ctx := testCtx(t)
		var keys []string
		var want []any
		for i := range 20 {
			keys = append(keys, fmt.Sprintf("scores:k%d", i))
			want = append(want, fmt.Sprintf("v%d", i))
		}
		keys = append(keys, "scores:nobody", "plain-missing")
		want = append(want, nil, nil)
		got, err := nodes[0].client(t, proto).MGet(ctx, keys...).Result()
		if err != nil {
			t.Fatalf("MGET: %v", err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("MGET = %v, want %v", got, want)
		}
	})
}

func TestWritesAreVisibleEverywhere(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	protocols(t, func(t *testing.T, proto int) {
		ctx := testCtx(t)
		a, b, c := nodes[0].client(t, proto), nodes[1].client(t, proto), nodes[2].client(t, proto)
		for i := range 10 {
			key := fmt.Sprintf("plain:%d:%d", proto, i)
			if err := a.Set(ctx, key, "one", 0).Err(); err != nil {
				t.Fatalf("SET %s at A: %v", key, err)
			}
			for _, cl := range []*redis.Client{b, c} {
				if got, err := cl.Get(ctx, key).Result(); err != nil || got != "one" {
					t.Errorf("GET %s after SET = %q, %v, want one", key, got, err)
				}
			}
			if err := b.Set(ctx, key, "two", 0).Err(); err != nil {
				t.Fatalf("SET %s at B: %v", key, err)
			}
			for _, cl := range []*redis.Client{a, b, c} {
				if got, err := cl.Get(ctx, key).Result(); err != nil || got != "two" {
					t.Errorf("GET %s after second SET = %q, %v, want two", key, got, err)
				}
			}
			if n, err := c.Del(ctx, key).Result(); err != nil || n != 1 {
				t.Errorf("DEL %s = %d, %v, want 1", key, n, err)
			}
			for _, cl := range []*redis.Client{a, b, c} {
				if _, err := cl.Get(ctx, key).Result(); !errors.Is(err, redis.Nil) {
					t.Errorf("GET %s after DEL = %v, want nil", key, err)
				}
			}
		}
	})
}

func TestDelReloadsFromOrigin(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	protocols(t, func(t *testing.T, proto int) {
		ctx := testCtx(t)
		key := fmt.Sprintf("k%d", 10+proto)
		a, b := nodes[0].client(t, proto), nodes[1].client(t, proto)
		if got, err := a.Get(ctx, "scores:"+key).Result(); err != nil || got != "v"+key[1:] {
			t.Fatalf("first GET = %q, %v", got, err)
		}
		o.set(key, "changed")
		if got, _ := b.Get(ctx, "scores:"+key).Result(); got != "v"+key[1:] {
			t.Errorf("GET before DEL = %q, want the cached value", got)
		}
		if n, err := b.Del(ctx, "scores:"+key).Result(); err != nil || n != 1 {
			t.Errorf("DEL = %d, %v, want 1", n, err)
		}
		for _, nd := range nodes {
			if got, err := nd.client(t, proto).Get(ctx, "scores:"+key).Result(); err != nil || got != "changed" {
				t.Errorf("node %s: GET after DEL = %q, %v, want changed", nd.addr, got, err)
			}
		}
		if n := o.callsFor(key); n != 2 {
			t.Errorf("origin calls for %s = %d, want 2 (one load, one after DEL)", key, n)
		}
	})
}

// TestNodeKilled kills one node of three and checks that the others keep
// answering every key correctly under 50 concurrent clients, and that the
// origin calls this causes are bounded by the distinct keys (once per key
// per surviving node, within hot_ttl), not by the number of requests.
func TestNodeKilled(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	ctx := testCtx(t)
	if err := nodes[2].stop(t, syscall.SIGKILL); err == nil {
		t.Fatalf("SIGKILL: process exited cleanly")
	}
	const keys, rounds = 50, 4
	protocols(t, func(t *testing.T, proto int) {
		var wg sync.WaitGroup
		for client := range 50 {
			nd := nodes[client%2]
			c := nd.client(t, proto)
			wg.Go(func() {
				for r := range rounds {
					i := (client + r*13) % keys
					key, want := fmt.Sprintf("scores:k%d", i), fmt.Sprintf("v%d", i)
					if got, err := c.Get(ctx, key).Result(); err != nil || got != want {
						t.Errorf("node %s with a dead peer: GET %s = %q, %v, want %q", nd.addr, key, got, err, want)
					}
				}
			})
		}
		wg.Wait()
		for _, nd := range nodes[:2] {
			c := nd.client(t, proto)
			for i := range keys {
				key, want := fmt.Sprintf("scores:k%d", i), fmt.Sprintf("v%d", i)
				if got, err := c.Get(ctx, key).Result(); err != nil || got != want {
					t.Errorf("node %s with a dead peer: GET %s = %q, %v, want %q", nd.addr, key, got, err, want)
				}
			}
		}
	})
	// 2 protocols x (50 clients x 4 rounds + 2 nodes x 50 keys) = 600 GETs
	// of 50 keys: at most one origin call per key per surviving node, as
	// long as the test runs within hot_ttl (5s) of the first fallback load.
	if n := o.total.Load(); n > 2*keys {
		t.Errorf("origin calls after a node died = %d for %d distinct keys on 2 nodes, want at most %d", n, keys, 2*keys)
	}
	t.Logf("origin calls after a node died: %d for %d keys, 600 GETs", o.total.Load(), keys)
}

func TestBadCommandsKeepTheConnection(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 1, "--group", "scores="+o.url())
	protocols(t, func(t *testing.T, proto int) {
		ctx := testCtx(t)
		// One connection, so that every command below shares it.
		c := redis.NewClient(&redis.Options{Addr: nodes[0].addr, Protocol: proto, PoolSize: 1, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		tests := []struct {
			args []any
			want string
		}{
			{[]any{"foo", "a", "b"}, "ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
			{[]any{"get"}, "ERR wrong number of arguments for 'get' command"},
			{[]any{"set", "k", "v", "bogus"}, "ERR syntax error"},
			{[]any{"incr", "scores:Tom", "x"}, "ERR wrong number of arguments for 'incr' command"},
			{[]any{"select", "1"}, "ERR DB index is out of range"},
			{[]any{"get", "scores:fail"}, "ERR origin"},
		}
		for _, tt := range tests {
			err := c.Do(ctx, tt.args...).Err()
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%v = %v, want error %q", tt.args, err, tt.want)
			}
			if got, err := c.Get(ctx, "scores:Tom").Result(); err != nil || got != "630" {
				t.Errorf("GET after %v = %q, %v, want 630 on the same connection", tt.args, got, err)
			}
		}
	})
}

func TestSIGTERMExitsZero(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 1, "--group", "scores="+o.url())
	ctx := testCtx(t)
	if got, err := nodes[0].client(t, 3).Get(ctx, "scores:Tom").Result(); err != nil || got != "630" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if err := nodes[0].stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("exit after SIGTERM = %v, want status 0", err)
	}
}
