package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// freshnessConfig writes a config file with one group, scores, in front of
// o, with the given group settings, and returns the --config flags.
func freshnessConfig(t *testing.T, o *origin, settings string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rcache.yaml")
	yaml := fmt.Sprintf("groups:\n  - name: scores\n%s    origin:\n      http: {url: %q}\n", settings, o.url())
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return []string{"--config", path}
}

// owner GETs key at the first node and returns the index of the node whose
// origin load served it.
func owner(t *testing.T, ctx context.Context, nodes []*node, key string) int {
	t.Helper()
	if err := nodes[0].client(t, 3).Get(ctx, "scores:"+key).Err(); err != nil {
		t.Fatalf("GET scores:%s: %v", key, err)
	}
	for i, nd := range nodes {
		if groupInfo(t, ctx, nd.client(t, 3), "scores")["local_loads"] == 1 {
			return i
		}
	}
	t.Fatalf("no node loaded scores:%s from the origin", key)
	return -1
}

// getAll GETs key at every node and checks the answer.
func getAll(t *testing.T, ctx context.Context, nodes []*node, key, want string) {
	t.Helper()
	for _, nd := range nodes {
		got, err := nd.client(t, 3).Get(ctx, "scores:"+key).Result()
		if err != nil || got != want {
			t.Errorf("node %s: GET scores:%s = %q, %v, want %q", nd.addr, key, got, err, want)
		}
	}
}

// TestInvalidationReachesEveryCopy checks that SET and DEL at any node
// reach the hot copies every other node keeps.
func TestInvalidationReachesEveryCopy(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, freshnessConfig(t, o, "    hot_probability: 1\n    hot_ttl: 1m\n")...)
	ctx := testCtx(t)
	a := owner(t, ctx, nodes, "k1")
	b, c := (a+1)%3, (a+2)%3
	getAll(t, ctx, nodes, "k1", "v1") // b and c now keep hot copies, for a minute
	if err := nodes[b].client(t, 3).Set(ctx, "scores:k1", "written", 0).Err(); err != nil {
		t.Fatalf("SET at a non-owner: %v", err)
	}
	getAll(t, ctx, nodes, "k1", "written")
	o.set("k1", "changed")
	if n, err := nodes[c].client(t, 2).Del(ctx, "scores:k1").Result(); err != nil || n != 1 {
		t.Fatalf("DEL at a non-owner = %d, %v", n, err)
	}
	getAll(t, ctx, nodes, "k1", "changed")
	if n := o.callsFor("k1"); n != 2 {
		t.Errorf("origin calls for k1 = %d, want 2 (the first load and the one after DEL)", n)
	}
}

// TestPausedNodeServesStaleAtMostHotTTL pauses a node that holds a hot
// copy (SIGSTOP) while its key is deleted at the owner. The owner's
// invalidation cannot be answered while the node is paused, and the owner
// gives up on it after its invalidation timeout; the request may still sit
// in the paused node's socket buffer and be applied when it resumes (that
// is what usually happens on one machine). Either way, once resumed the
// node must stop serving the old value within hot_ttl of the DEL.
func TestPausedNodeServesStaleAtMostHotTTL(t *testing.T) {
	const hotTTL = 2 * time.Second
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, freshnessConfig(t, o, fmt.Sprintf("    hot_probability: 1\n    hot_ttl: %v\n", hotTTL))...)
	ctx := testCtx(t)
	a := owner(t, ctx, nodes, "k2")
	c := (a + 1) % 3
	cc := nodes[c].client(t, 3)
	if got, err := cc.Get(ctx, "scores:k2").Result(); err != nil || got != "v2" {
		t.Fatalf("GET at the node to pause = %q, %v", got, err)
	}

	o.set("k2", "fresh")
	if err := nodes[c].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	deleted := time.Now()
	n, err := nodes[a].client(t, 3).Del(ctx, "scores:k2").Result()
	if err := nodes[c].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT: %v", err)
	}
	if err != nil || n != 1 {
		t.Fatalf("DEL at the owner while a peer is paused = %d, %v, want 1", n, err)
	}

	// Poll until the resumed node answers the new value. This measures the
	// staleness window; the bound is what the test asserts.
	var stale int
	for {
		got, err := cc.Get(ctx, "scores:k2").Result()
		if err != nil {
			t.Fatalf("GET at the resumed node: %v", err)
		}
		if got == "fresh" {
			break
		}
		if got != "v2" {
			t.Fatalf("GET at the resumed node = %q, want v2 (stale) or fresh", got)
		}
		stale++
		if time.Since(deleted) > hotTTL+time.Second {
			t.Fatalf("the resumed node still served the deleted value %v after the DEL; hot_ttl is %v", time.Since(deleted), hotTTL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stale answers after the DEL: %d, window %v (hot_ttl %v)", stale, time.Since(deleted).Round(time.Millisecond), hotTTL)
}

// TestStaleOnOriginError checks max_stale across the cluster: with the
// origin answering 500, expired values keep being served from every node,
// and the origin's recovery refreshes them.
func TestStaleOnOriginError(t *testing.T) {
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, freshnessConfig(t, o, "    ttl: 1s\n    ttl_jitter: 0\n    max_stale: 1m\n    hot_probability: 0\n")...)
	ctx := testCtx(t)
	a := owner(t, ctx, nodes, "k3")
	o.failing.Store(true)
	// Wait for the owner's copy to expire: TTL answers -2 once it has.
	for {
		ttl, err := nodes[a].client(t, 3).TTL(ctx, "scores:k3").Result()
		if err != nil {
			t.Fatalf("TTL: %v", err)
		}
		if ttl == -2*time.Nanosecond || ttl < 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 30 {
		nd := nodes[i%3]
		if got, err := nd.client(t, 3).Get(ctx, "scores:k3").Result(); err != nil || got != "v3" {
			t.Errorf("node %s: GET with a failing origin = %q, %v, want the stale v3", nd.addr, got, err)
		}
	}
	info := groupInfo(t, ctx, nodes[a].client(t, 3), "scores")
	if info["stale_serves"] < 1 {
		t.Errorf("owner's stale_serves = %d, want at least 1", info["stale_serves"])
	}
	// 30 GETs in well under StaleRetry (1s): at most a couple of retries.
	if n := o.callsFor("k3"); n > 4 {
		t.Errorf("origin calls for k3 while failing = %d, want at most 4 (one retry a second)", n)
	}

	o.set("k3", "recovered")
	o.failing.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := nodes[a].client(t, 3).Get(ctx, "scores:k3").Result()
		if err == nil && got == "recovered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET after the origin recovered = %q, %v; still not refreshed after 5s", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := nodes[a].client(t, 3).Get(ctx, "scores:missing").Result(); err != redis.Nil {
		t.Errorf("GET of a missing key = %v, want nil", err)
	}
}
