package peerhttp_test

import (
	"context"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// TestRemoteWriteConditions checks that a conditional write sent by a node
// that does not own the key keeps its conditions and options at the owner:
// SET NX, XX, GET and KEEPTTL, a SET whose EXAT is past, EXPIRE XX LT, and
// GETEX PERSIST. (The HTTP body once carried none of them: the owner then
// applied every such write, found by review.)
func TestRemoteWriteConditions(t *testing.T) {
	nodes := newCluster(t, clusterConfig{nodes: 2})
	a, b := nodes[0], nodes[1]
	ctx := testContext(t)
	const exists, none = "v", "" // the key's value before the write; none: the key is not cached
	tests := []struct {
		name        string
		before      string
		beforeTTL   time.Duration // of an existing key; 0: none
		write       func(key string) (applied bool, old string, err error)
		wantApplied bool
		wantOld     string
		wantValue   string        // at the owner afterwards; none: gone
		wantTTL     time.Duration // at the owner afterwards, of a kept value
	}{
		{"SET NX on an existing key", exists, 0, setWith(ctx, a, "w", group.SetOptions{NX: true}), false, "", exists, group.NoExpiry},
		{"SET XX on a missing key", none, 0, setWith(ctx, a, "w", group.SetOptions{XX: true}), false, "", none, 0},
		{"SET GET returns the old value", exists, 0, setWith(ctx, a, "w", group.SetOptions{Get: true}), true, exists, "w", group.NoExpiry},
		{"SET KEEPTTL keeps the expiry", exists, time.Hour, setWith(ctx, a, "w", group.SetOptions{KeepTTL: true}), true, "", "w", time.Hour},
		{"SET EXAT past NX on an existing key", exists, 0, setWith(ctx, a, "w", group.SetOptions{Expired: true, NX: true}), false, "", exists, group.NoExpiry},
		{"SET EXAT past XX on a missing key", none, 0, setWith(ctx, a, "w", group.SetOptions{Expired: true, XX: true}), false, "", none, 0},
		{"SET EXAT past GET deletes", exists, 0, setWith(ctx, a, "w", group.SetOptions{Expired: true, Get: true}), true, exists, none, 0},
		{"EXPIRE XX LT without an expiry", exists, 0, func(key string) (bool, string, error) {
			ok, err := a.group.Expire(ctx, key, 5*time.Second, group.ExpireXXLT)
			return ok, "", err
		}, false, "", exists, group.NoExpiry},
		{"GETEX PERSIST", exists, time.Hour, func(key string) (bool, string, error) {
			v, err := a.group.GetEx(ctx, key, 0, true)
			return true, v.String(), err
		}, true, exists, exists, group.NoExpiry},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := keyOwnedBy(t, nodes, b, "cond"+string(rune('a'+i)))
			if tt.before != none {
				if err := b.group.Set(ctx, key, []byte(tt.before), tt.beforeTTL); err != nil {
					t.Fatal(err)
				}
			}
			applied, old, err := tt.write(key)
			if err != nil || applied != tt.wantApplied || old != tt.wantOld {
				t.Errorf("write at node a = applied %v, old %q, %v; want %v, %q", applied, old, err, tt.wantApplied, tt.wantOld)
			}
			ttl, err := b.group.TTL(ctx, key)
			if tt.wantValue == none {
				if err == nil {
					t.Errorf("the owner still holds the key (TTL %v), want it gone", ttl)
				}
				return
			}
			if err != nil || ttl.Round(time.Minute) != tt.wantTTL.Round(time.Minute) {
				t.Errorf("TTL at the owner = %v, %v; want %v", ttl, err, tt.wantTTL)
			}
			if v, err := b.group.Get(ctx, key); err != nil || v.String() != tt.wantValue {
				t.Errorf("value at the owner = %q, %v; want %q", v, err, tt.wantValue)
			}
		})
	}
}

// setWith returns a write that sets key to value with o at node n.
func setWith(ctx context.Context, n *node, value string, o group.SetOptions) func(key string) (bool, string, error) {
	return func(key string) (bool, string, error) {
		res, err := n.group.SetWithOptions(ctx, key, []byte(value), o)
		return res.Applied, res.Old.String(), err
	}
}
