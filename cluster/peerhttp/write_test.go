package peerhttp_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
)

// TestWritesAtNonOwner writes at a node that does not own the key: the
// write applies at the owner, which drops the hot copies of every node.
func TestWritesAtNonOwner(t *testing.T) {
	nodes := newCluster(t, clusterConfig{hotCopies: true})
	ctx := testContext(t)
	const key = "Tom"
	owner := ownerOf(nodes, peerhttp.Config{}, key)
	var others []*node
	for _, n := range nodes {
		if n != owner {
			others = append(others, n)
		}
	}
	writer, reader := others[0], others[1]

	makeHotCopies := func(t *testing.T) {
		t.Helper()
		for _, n := range others {
			if _, err := n.group.Get(ctx, key); err != nil {
				t.Fatalf("Get(%q): %v", key, err)
			}
			if got := n.group.CacheStats(group.HotCache).Items; got != 1 {
				t.Fatalf("hot copies at %s = %d, want 1", n.url, got)
			}
		}
	}
	tests := []struct {
		name  string
		write func() error
		want  string // the value every node then reads
	}{
		{"incr", func() error {
			n, err := writer.group.IncrBy(ctx, key, 5)
			if err == nil && n != 635 {
				err = fmt.Errorf("IncrBy = %d, want 635", n)
			}
			return err
		}, "635"},
		{"set", func() error { return writer.group.Set(ctx, key, []byte("700"), 0) }, "700"},
		{"delete", func() error {
			ok, err := writer.group.Delete(ctx, key)
			if err == nil && !ok {
				err = errors.New("Delete found nothing")
			}
			return err
		}, "630"}, // loaded again from the origin
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			makeHotCopies(t)
			if err := tt.write(); err != nil {
				t.Fatalf("write at non-owner: %v", err)
			}
			for _, n := range nodes {
				if got := n.group.CacheStats(group.HotCache).Items; got != 0 {
					t.Errorf("hot copies at %s after write = %d, want 0", n.url, got)
				}
			}
			if got := writer.origin.callsFor(key) + reader.origin.callsFor(key); got != 0 {
				t.Errorf("origin calls at non-owners = %d, want 0", got)
			}
			for _, n := range nodes {
				if v, err := n.group.Get(ctx, key); err != nil || v.String() != tt.want {
					t.Errorf("Get(%q) at %s = %q, %v; want %q", key, n.url, v, err, tt.want)
				}
			}
		})
	}
	if got := owner.writes.Load(); got < 3 {
		t.Errorf("writes at owner = %d, want at least 3", got)
	}
}
