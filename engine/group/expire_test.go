package group_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// TestSetWithOptions walks SET's options through one key, as Redis 7
// defines them, with an injected clock.
func TestSetWithOptions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	g := newTestGroup(t, group.Config{Name: "setopts", Getter: newOrigin(nil), Now: clk.Now})
	ctx := context.Background()
	steps := []struct {
		name        string
		value       string
		opts        group.SetOptions
		wantApplied bool
		wantOld     string
		wantHadOld  bool
		wantValue   string        // Get afterwards; "" means not found
		wantTTL     time.Duration // TTL afterwards
	}{
		{"XX on a missing key", "a", group.SetOptions{XX: true}, false, "", false, "", 0},
		{"NX on a missing key", "a", group.SetOptions{NX: true, TTL: 10 * time.Second}, true, "", false, "a", 10 * time.Second},
		{"NX on an existing key", "b", group.SetOptions{NX: true, Get: true}, false, "a", true, "a", 10 * time.Second},
		{"KEEPTTL", "c", group.SetOptions{KeepTTL: true, Get: true}, true, "a", true, "c", 10 * time.Second},
		{"plain SET drops the TTL", "d", group.SetOptions{XX: true}, true, "", false, "d", group.NoExpiry},
		{"PX", "e", group.SetOptions{TTL: 1500 * time.Millisecond}, true, "", false, "e", 1500 * time.Millisecond},
		// A past EXAT: the value expires as it is written.
		{"expired NX on an existing key", "f", group.SetOptions{Expired: true, NX: true, Get: true}, false, "e", true, "e", 1500 * time.Millisecond},
		{"expired GET deletes", "f", group.SetOptions{Expired: true, Get: true}, true, "e", true, "", 0},
		{"expired XX on a missing key", "g", group.SetOptions{Expired: true, XX: true}, false, "", false, "", 0},
		{"expired NX on a missing key", "g", group.SetOptions{Expired: true, NX: true}, true, "", false, "", 0},
		{"expired GET of a missing key", "g", group.SetOptions{Expired: true, Get: true}, true, "", false, "", 0},
		{"set again", "h", group.SetOptions{TTL: 1500 * time.Millisecond}, true, "", false, "h", 1500 * time.Millisecond},
		{"expired plain SET deletes", "i", group.SetOptions{Expired: true}, true, "", false, "", 0},
		{"PX once more", "e", group.SetOptions{TTL: 1500 * time.Millisecond}, true, "", false, "e", 1500 * time.Millisecond},
	}
	for _, s := range steps {
		res, err := g.SetWithOptions(ctx, "k", []byte(s.value), s.opts)
		if err != nil {
			t.Fatalf("%s: SetWithOptions = %v", s.name, err)
		}
		if res.Applied != s.wantApplied || res.Old.String() != s.wantOld || res.HadOld != s.wantHadOld {
			t.Errorf("%s: SetWithOptions = %+v, want applied %v, old %q (%v)", s.name, res, s.wantApplied, s.wantOld, s.wantHadOld)
		}
		v, err := g.Get(ctx, "k")
		if got := v.String(); got != s.wantValue || (s.wantValue == "") != errors.Is(err, group.ErrNotFound) {
			t.Errorf("%s: Get = %q, %v, want %q", s.name, got, err, s.wantValue)
		}
		if s.wantValue == "" {
			continue
		}
		if ttl, err := g.TTL(ctx, "k"); err != nil || ttl != s.wantTTL {
			t.Errorf("%s: TTL = %v, %v, want %v", s.name, ttl, err, s.wantTTL)
		}
	}
	clk.Advance(1500 * time.Millisecond)
	if _, err := g.TTL(ctx, "k"); !errors.Is(err, group.ErrNotFound) {
		t.Errorf("TTL after expiry = %v, want ErrNotFound", err)
	}
}

// TestExpireConditions checks EXPIRE's NX, XX, GT and LT, PERSIST, and that
// a TTL of zero deletes.
func TestExpireConditions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		start   time.Duration // the key's TTL before; NoExpiry for none
		ttl     time.Duration
		cond    group.ExpireCond
		applied bool
		after   time.Duration // TTL afterwards; 0 means deleted
	}{
		{"plain", group.NoExpiry, 10 * time.Second, group.ExpireAlways, true, 10 * time.Second},
		{"NX without expiry", group.NoExpiry, 10 * time.Second, group.ExpireNX, true, 10 * time.Second},
		{"NX with expiry", 5 * time.Second, 10 * time.Second, group.ExpireNX, false, 5 * time.Second},
		{"XX without expiry", group.NoExpiry, 10 * time.Second, group.ExpireXX, false, group.NoExpiry},
		{"XX with expiry", 5 * time.Second, 10 * time.Second, group.ExpireXX, true, 10 * time.Second},
		{"GT later", 5 * time.Second, 10 * time.Second, group.ExpireGT, true, 10 * time.Second},
		{"GT sooner", 5 * time.Second, 2 * time.Second, group.ExpireGT, false, 5 * time.Second},
		{"GT without expiry", group.NoExpiry, 10 * time.Second, group.ExpireGT, false, group.NoExpiry},
		{"LT sooner", 5 * time.Second, 2 * time.Second, group.ExpireLT, true, 2 * time.Second},
		{"LT later", 5 * time.Second, 10 * time.Second, group.ExpireLT, false, 5 * time.Second},
		{"LT without expiry", group.NoExpiry, 10 * time.Second, group.ExpireLT, true, 10 * time.Second},
		{"XX and LT sooner", 5 * time.Second, 2 * time.Second, group.ExpireXXLT, true, 2 * time.Second},
		{"XX and LT later", 5 * time.Second, 10 * time.Second, group.ExpireXXLT, false, 5 * time.Second},
		{"XX and LT without expiry", group.NoExpiry, 10 * time.Second, group.ExpireXXLT, false, group.NoExpiry},
		{"zero deletes", 5 * time.Second, 0, group.ExpireAlways, true, 0},
		{"negative deletes", group.NoExpiry, -time.Second, group.ExpireAlways, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			g := newTestGroup(t, group.Config{Name: "exp", Getter: newOrigin(nil), Now: clk.Now})
			ctx := context.Background()
			if err := g.Set(ctx, "k", []byte("v"), max(tt.start, 0)); err != nil {
				t.Fatalf("Set: %v", err)
			}
			applied, err := g.Expire(ctx, "k", tt.ttl, tt.cond)
			if err != nil || applied != tt.applied {
				t.Errorf("Expire(%v, %v) = %v, %v, want %v", tt.ttl, tt.cond, applied, err, tt.applied)
			}
			ttl, err := g.TTL(ctx, "k")
			if tt.after == 0 {
				if !errors.Is(err, group.ErrNotFound) {
					t.Errorf("TTL after Expire = %v, %v, want ErrNotFound", ttl, err)
				}
				return
			}
			if err != nil || ttl != tt.after {
				t.Errorf("TTL after Expire = %v, %v, want %v", ttl, err, tt.after)
			}
		})
	}
	t.Run("PERSIST", func(t *testing.T) {
		t.Parallel()
		g := newTestGroup(t, group.Config{Name: "persist", Getter: newOrigin(nil)})
		ctx := context.Background()
		if ok, err := g.Persist(ctx, "k"); ok || err != nil {
			t.Errorf("Persist of a missing key = %v, %v, want false", ok, err)
		}
		g.Set(ctx, "k", []byte("v"), time.Hour)
		if ok, err := g.Persist(ctx, "k"); !ok || err != nil {
			t.Errorf("Persist = %v, %v, want true", ok, err)
		}
		if ok, _ := g.Persist(ctx, "k"); ok {
			t.Errorf("second Persist = true, want false")
		}
		if ttl, err := g.TTL(ctx, "k"); ttl != group.NoExpiry || err != nil {
			t.Errorf("TTL after Persist = %v, %v, want NoExpiry", ttl, err)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		t.Parallel()
		g := newTestGroup(t, group.Config{Name: "missing", Getter: newOrigin(nil)})
		if ok, err := g.Expire(context.Background(), "k", time.Second, group.ExpireAlways); ok || err != nil {
			t.Errorf("Expire of a missing key = %v, %v, want false", ok, err)
		}
	})
}

// TestGetDelGetEx checks that GETDEL and GETEX load through the origin,
// and what they do to the cached value afterwards.
func TestGetDelGetEx(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := newOrigin(scores)
	g := newTestGroup(t, group.Config{Name: "getdel", Getter: db, Now: clk.Now, TTLJitter: -1})
	ctx := context.Background()

	if v, err := g.GetEx(ctx, "Tom", time.Minute, false); err != nil || v.String() != "630" {
		t.Errorf("GetEx(Tom, 1m) = %q, %v, want 630", v, err)
	}
	if ttl, _ := g.TTL(ctx, "Tom"); ttl != time.Minute {
		t.Errorf("TTL after GetEx = %v, want 1m", ttl)
	}
	if v, err := g.GetEx(ctx, "Tom", 0, true); err != nil || v.String() != "630" {
		t.Errorf("GetEx(Tom, PERSIST) = %q, %v", v, err)
	}
	if ttl, _ := g.TTL(ctx, "Tom"); ttl != group.NoExpiry {
		t.Errorf("TTL after GetEx PERSIST = %v, want NoExpiry", ttl)
	}
	if v, err := g.GetDel(ctx, "Tom"); err != nil || v.String() != "630" {
		t.Errorf("GetDel(Tom) = %q, %v, want 630", v, err)
	}
	if _, err := g.TTL(ctx, "Tom"); !errors.Is(err, group.ErrNotFound) {
		t.Errorf("TTL after GetDel = %v, want ErrNotFound", err)
	}
	mustGet(t, g, "Tom", "630") // reloaded
	if n := db.Calls("Tom"); n != 2 {
		t.Errorf("origin calls for Tom = %d, want 2", n)
	}
	if _, err := g.GetDel(ctx, "Kate"); !errors.Is(err, group.ErrNotFound) {
		t.Errorf("GetDel(Kate) = %v, want ErrNotFound", err)
	}
}

// TestSetExpiredAtOwner checks that a SET whose value expired as it was
// written goes to the key's owner as one write (ttl_ms < 0), with its
// conditions, rather than a SET and a DELETE another write could fall
// between.
func TestSetExpiredAtOwner(t *testing.T) {
	t.Parallel()
	owner := &fakePeer{write: func(*pb.WriteRequest) (*pb.WriteResponse, error) {
		return &pb.WriteResponse{Applied: true, Found: true, Value: []byte("old")}, nil
	}}
	g := newTestGroup(t, group.Config{Name: "setexp", Getter: newOrigin(nil)})
	g.RegisterPeers(ownedBy(owner))
	res, err := g.SetWithOptions(context.Background(), "k", []byte("v"), group.SetOptions{Expired: true, XX: true, Get: true})
	if err != nil || !res.Applied || !res.HadOld || res.Old.String() != "old" {
		t.Fatalf("SetWithOptions(Expired) = %+v, %v; want applied, old value \"old\"", res, err)
	}
	w := owner.writes()
	want := &pb.WriteRequest{Group: "setexp", Key: "k", Op: pb.WriteRequest_OP_SET, Value: []byte("v"), TtlMs: -1, Get: true, Cond: pb.WriteRequest_COND_XX}
	if len(w) != 1 || !proto.Equal(w[0], want) {
		t.Errorf("the owner got %v, want the one write %v", w, want)
	}
}
