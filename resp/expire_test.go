package resp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

// The default group's clock stands still at the fixture's start, so that
// every TTL below is exact: now is 1704067200 (2024-01-01 UTC).
const (
	nowSec = "1704067200"
	in100s = "1704067300"    // now + 100 s, in seconds
	in50ms = "1704067250000" // now + 50 s, in milliseconds
)

func TestParseSetOpts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   string // space-separated
		forSet bool
		want   setOpts
		ok     bool
	}{
		{"none", "", true, setOpts{}, true},
		{"nx", "nx", true, setOpts{nx: true}, true},
		{"nx twice", "NX NX", true, setOpts{nx: true}, true},
		{"nx xx", "NX XX", true, setOpts{}, false},
		{"xx nx", "XX NX", true, setOpts{}, false},
		{"get with nx", "NX GET", true, setOpts{nx: true, get: true}, true},
		{"ex", "EX 10", true, setOpts{kind: exOpt, when: []byte("10")}, true},
		{"ex twice keeps the last", "EX 10 ex 20", true, setOpts{kind: exOpt, when: []byte("20")}, true},
		{"ex px", "EX 10 PX 10", true, setOpts{}, false},
		{"exat pxat", "EXAT 10 PXAT 10", true, setOpts{}, false},
		{"ex keepttl", "EX 10 KEEPTTL", true, setOpts{}, false},
		{"keepttl ex", "KEEPTTL EX 10", true, setOpts{}, false},
		{"keepttl twice", "KEEPTTL KEEPTTL", true, setOpts{kind: keepTTLOpt}, true},
		{"ex without a time", "EX", true, setOpts{}, false},
		{"ex takes the next word as its time", "EX NX", true, setOpts{kind: exOpt, when: []byte("NX")}, true},
		{"persist in set", "PERSIST", true, setOpts{}, false},
		{"unknown", "FOO", true, setOpts{}, false},
		{"getex persist", "PERSIST", false, setOpts{kind: persistOpt}, true},
		{"getex pxat", "PXAT 5", false, setOpts{kind: pxatOpt, when: []byte("5")}, true},
		{"getex persist ex", "PERSIST EX 1", false, setOpts{}, false},
		{"getex nx", "NX", false, setOpts{}, false},
		{"getex get", "GET", false, setOpts{}, false},
		{"getex keepttl", "KEEPTTL", false, setOpts{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts [][]byte
			for _, w := range strings.Fields(tt.opts) {
				opts = append(opts, []byte(w))
			}
			got, ok := parseSetOpts(opts, tt.forSet)
			if ok != tt.ok || (ok && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("parseSetOpts(%q, %v) = %+v, %v; want %+v, %v", tt.opts, tt.forSet, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestLifetime(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_704_067_200_000)
	tests := []struct {
		name string
		kind expiryKind
		when string
		ttl  time.Duration
		past bool
		bad  replyError
	}{
		{"ex", exOpt, "10", 10 * time.Second, false, ""},
		{"px", pxOpt, "1500", 1500 * time.Millisecond, false, ""},
		{"exat", exatOpt, in100s, 100 * time.Second, false, ""},
		{"pxat", pxatOpt, in50ms, 50 * time.Second, false, ""},
		{"exat now is past", exatOpt, nowSec, 0, true, ""},
		{"pxat one", pxatOpt, "1", 0, true, ""},
		{"ex zero", exOpt, "0", 0, false, invalidExpire("set")},
		{"exat zero", exatOpt, "0", 0, false, invalidExpire("set")},
		{"px negative", pxOpt, "-1", 0, false, invalidExpire("set")},
		{"ex overflows in ms", exOpt, "9223372036854776", 0, false, invalidExpire("set")},
		{"px overflows with now", pxOpt, "9223372036854775807", 0, false, invalidExpire("set")},
		{"pxat max is far off", pxatOpt, "9223372036854775807", math.MaxInt64, false, ""},
		{"not integer", exOpt, "1.5", 0, false, errNotInteger},
		{"leading plus", exOpt, "+1", 0, false, errNotInteger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, past, bad := setOpts{kind: tt.kind, when: []byte(tt.when)}.lifetime(now, "set")
			if ttl != tt.ttl || past != tt.past || bad != tt.bad {
				t.Errorf("lifetime(%v %s) = %v, %v, %q; want %v, %v, %q", tt.kind, tt.when, ttl, past, bad, tt.ttl, tt.past, tt.bad)
			}
		})
	}
}

// within checks that an integer reply is in [lo, hi]: for a group on the
// real clock, where some time passes between two commands.
func within(lo, hi int64) func(int, any) error {
	return func(_ int, got any) error {
		if n, ok := got.(int64); !ok || n < lo || n > hi {
			return fmt.Errorf("want an integer in [%d, %d]", lo, hi)
		}
		return nil
	}
}

// loadsOf checks that the Getter of "scores" was called n times for key.
func loadsOf(f *fixture, key string, n int) func(int, any) error {
	return func(int, any) error {
		if got := f.loadCount(key); got != n {
			return fmt.Errorf("Getter called %d times for %s, want %d", got, key, n)
		}
		return nil
	}
}

func TestSetOptions(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			syntax := "ERR syntax error"
			invalid := "ERR invalid expire time in 'set' command"
			runSteps(t, rdb, proto, []step{
				{name: "nx new key", args: a("SET", "n", "v", "NX"), want: "OK"},
				{name: "nx existing key", args: a("SET", "n", "w", "nx"), err: "nil"},
				{name: "nx kept the value", args: a("GET", "n"), want: "v"},
				{name: "xx existing key", args: a("SET", "n", "w", "XX"), want: "OK"},
				{name: "xx set the value", args: a("GET", "n"), want: "w"},
				{name: "xx missing key", args: a("SET", "absent", "v", "XX"), err: "nil"},
				{name: "xx set nothing", args: a("EXISTS", "absent"), want: int64(0)},
				{name: "get old value", args: a("SET", "n", "x", "GET"), want: "w"},
				{name: "get sets", args: a("GET", "n"), want: "x"},
				{name: "get no old value", args: a("SET", "g", "v", "GET"), err: "nil"},
				{name: "get no old value sets", args: a("GET", "g"), want: "v"},
				{name: "nx get refused gives the old value", args: a("SET", "n", "y", "NX", "GET"), want: "x"},
				{name: "nx get refused kept the value", args: a("GET", "n"), want: "x"},
				{name: "nx get new key", args: a("SET", "fresh", "v", "GET", "NX"), err: "nil"},
				{name: "nx get new key sets", args: a("GET", "fresh"), want: "v"},
				{name: "xx get missing key", args: a("SET", "absent", "v", "XX", "GET"), err: "nil"},
				{name: "xx get set nothing", args: a("EXISTS", "absent"), want: int64(0)},
				{name: "get does not load from the origin", args: a("SET", "scores:Tom", "1", "GET"), err: "nil",
					check: loadsOf(f, "Tom", 0)},
				{name: "get twice", args: a("SET", "n", "z", "GET", "GET"), want: "x"},

				{name: "ex", args: a("SET", "kt", "v", "EX", "100"), want: "OK"},
				{name: "ttl of ex", args: a("TTL", "kt"), want: int64(100)},
				{name: "keepttl", args: a("SET", "kt", "w", "KEEPTTL"), want: "OK"},
				{name: "keepttl kept the ttl", args: a("TTL", "kt"), want: int64(100)},
				{name: "keepttl set the value", args: a("GET", "kt"), want: "w"},
				{name: "plain set drops the ttl", args: a("SET", "kt", "z"), want: "OK"},
				{name: "ttl after plain set", args: a("TTL", "kt"), want: int64(-1)},
				{name: "keepttl on a new key", args: a("SET", "kt2", "v", "keepttl"), want: "OK"},
				{name: "ttl of keepttl on a new key", args: a("TTL", "kt2"), want: int64(-1)},
				{name: "ex twice takes the last", args: a("SET", "kt", "v", "EX", "10", "EX", "20"), want: "OK"},
				{name: "ttl of ex twice", args: a("TTL", "kt"), want: int64(20)},
				{name: "px", args: a("SET", "kt", "v", "PX", "1500"), want: "OK"},
				{name: "pttl of px", args: a("PTTL", "kt"), want: int64(1500)},
				{name: "exat", args: a("SET", "at", "v", "EXAT", in100s), want: "OK"},
				{name: "ttl of exat", args: a("TTL", "at"), want: int64(100)},
				{name: "pxat", args: a("SET", "at", "v", "PXAT", in50ms), want: "OK"},
				{name: "pttl of pxat", args: a("PTTL", "at"), want: int64(50000)},
				{name: "pxat far off", args: a("SET", "far", "v", "PXAT", "9223372036854775807"), want: "OK"},
				{name: "ttl of pxat far off is capped", args: a("TTL", "far"), check: within(99*365*86400, 101*365*86400)},
				{name: "nx with ex", args: a("SET", "nxex", "v", "NX", "EX", "30"), want: "OK"},
				{name: "ttl of nx with ex", args: a("TTL", "nxex"), want: int64(30)},

				{name: "exat in the past", args: a("SET", "p", "v", "EXAT", "1"), want: "OK"},
				{name: "exat in the past is gone", args: a("GET", "p"), err: "nil"},
				{name: "exat in the past has no ttl", args: a("TTL", "p"), want: int64(-2)},
				{name: "exat now is past", args: a("SET", "p", "v", "EXAT", nowSec), want: "OK"},
				{name: "exat now is gone", args: a("EXISTS", "p"), want: int64(0)},
				{name: "past replaces a value", args: a("SET", "p2", "v"), want: "OK"},
				{name: "pxat past over a value", args: a("SET", "p2", "w", "PXAT", "1"), want: "OK"},
				{name: "pxat past deleted the value", args: a("GET", "p2"), err: "nil"},
				{name: "past in a group", args: a("SET", "scores:Tom", "1", "EXAT", "1"), want: "OK"},
				{name: "past in a group reloads", args: a("GET", "scores:Tom"), want: "630", check: nil},
				{name: "past xx set up", args: a("SET", "px", "v"), want: "OK"},
				{name: "past xx existing", args: a("SET", "px", "w", "XX", "EXAT", "1"), want: "OK"},
				{name: "past xx existing is gone", args: a("EXISTS", "px"), want: int64(0)},
				{name: "past xx missing", args: a("SET", "px", "w", "XX", "EXAT", "1"), err: "nil"},
				{name: "past nx set up", args: a("SET", "pn", "v"), want: "OK"},
				{name: "past nx existing", args: a("SET", "pn", "w", "NX", "PXAT", "1"), err: "nil"},
				{name: "past nx existing kept", args: a("GET", "pn"), want: "v"},
				{name: "past nx missing", args: a("SET", "pn2", "w", "NX", "PXAT", "1"), want: "OK"},
				{name: "past nx missing is gone", args: a("EXISTS", "pn2"), want: int64(0)},
				{name: "past get", args: a("SET", "pn", "w", "GET", "EXAT", "1"), want: "v"},
				{name: "past get is gone", args: a("GET", "pn"), err: "nil"},
				{name: "past get missing", args: a("SET", "pn", "w", "GET", "EXAT", "1"), err: "nil"},
				{name: "past get missing is gone", args: a("EXISTS", "pn"), want: int64(0)},
				{name: "past nx get existing", args: a("SET", "n", "w", "NX", "GET", "EXAT", "1"), want: "z"},
				{name: "past nx get existing kept", args: a("GET", "n"), want: "z"},
				{name: "past empty key", args: a("SET", "scores:", "v", "EXAT", "1"), err: "ERR empty key"},

				{name: "nx and xx", args: a("SET", "k", "v", "NX", "XX"), err: syntax},
				{name: "xx and nx", args: a("SET", "k", "v", "xx", "nx"), err: syntax},
				{name: "ex and keepttl", args: a("SET", "k", "v", "EX", "10", "KEEPTTL"), err: syntax},
				{name: "keepttl and px", args: a("SET", "k", "v", "KEEPTTL", "PX", "10"), err: syntax},
				{name: "ex and exat", args: a("SET", "k", "v", "EX", "10", "EXAT", in100s), err: syntax},
				{name: "persist", args: a("SET", "k", "v", "PERSIST"), err: syntax},
				{name: "exat without a time", args: a("SET", "k", "v", "EXAT"), err: syntax},
				{name: "unknown option", args: a("SET", "k", "v", "FOO"), err: syntax},
				{name: "syntax before the time", args: a("SET", "k", "v", "EX", "x", "FOO"), err: syntax},
				{name: "ex zero", args: a("SET", "k", "v", "EX", "0"), err: invalid},
				{name: "exat zero", args: a("SET", "k", "v", "EXAT", "0"), err: invalid},
				{name: "pxat negative", args: a("SET", "k", "v", "PXAT", "-1"), err: invalid},
				{name: "px overflows with now", args: a("SET", "k", "v", "PX", "9223372036854775807"), err: invalid},
				{name: "exat overflows in ms", args: a("SET", "k", "v", "EXAT", "9223372036854776"), err: invalid},
				{name: "ex not integer", args: a("SET", "k", "v", "EX", "1.5"), err: "ERR value is not an integer or out of range"},
				{name: "time before nx refusal", args: a("SET", "n", "v", "NX", "EX", "0"), err: invalid},
				{name: "refused set kept the key", args: a("EXISTS", "k"), want: int64(0)},
			})
		})
	}
}

func TestExpireCommands(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			nxErr := "ERR NX and XX, GT or LT options at the same time are not compatible"
			gtltErr := "ERR GT and LT options at the same time are not compatible"
			runSteps(t, rdb, proto, []step{
				{name: "ttl missing", args: a("TTL", "nope"), want: int64(-2)},
				{name: "pttl missing", args: a("PTTL", "nope"), want: int64(-2)},
				{name: "expiretime missing", args: a("EXPIRETIME", "nope"), want: int64(-2)},
				{name: "pexpiretime missing", args: a("PEXPIRETIME", "nope"), want: int64(-2)},
				{name: "ttl empty key", args: a("TTL", "scores:"), want: int64(-2)},
				{name: "set p", args: a("SET", "p", "v"), want: "OK"},
				{name: "ttl no expiry", args: a("TTL", "p"), want: int64(-1)},
				{name: "pttl no expiry", args: a("PTTL", "p"), want: int64(-1)},
				{name: "expiretime no expiry", args: a("EXPIRETIME", "p"), want: int64(-1)},
				{name: "pexpiretime no expiry", args: a("PEXPIRETIME", "p"), want: int64(-1)},
				{name: "set with ex", args: a("SET", "e", "v", "EX", "100"), want: "OK"},
				{name: "ttl", args: a("TTL", "e"), want: int64(100)},
				{name: "pttl", args: a("PTTL", "e"), want: int64(100000)},
				{name: "expiretime", args: a("EXPIRETIME", "e"), want: int64(1704067300)},
				{name: "pexpiretime", args: a("PEXPIRETIME", "e"), want: int64(1704067300000)},
				{name: "set 1499 ms", args: a("SET", "r", "v", "PX", "1499"), want: "OK"},
				{name: "ttl rounds 1499 ms down", args: a("TTL", "r"), want: int64(1)},
				{name: "set 1500 ms", args: a("SET", "r", "v", "PX", "1500"), want: "OK"},
				{name: "ttl rounds 1500 ms up", args: a("TTL", "r"), want: int64(2)},
				{name: "expiretime rounds too", args: a("EXPIRETIME", "r"), want: int64(1704067202)},

				{name: "expire", args: a("EXPIRE", "p", "50"), want: int64(1)},
				{name: "ttl after expire", args: a("TTL", "p"), want: int64(50)},
				{name: "expire missing key", args: a("EXPIRE", "nope", "10"), want: int64(0)},
				{name: "expire empty key", args: a("EXPIRE", "scores:", "10"), want: int64(0)},
				{name: "expire does not load", args: a("EXPIRE", "scores:Tom", "10"), want: int64(0), check: loadsOf(f, "Tom", 0)},
				{name: "pexpire", args: a("PEXPIRE", "p", "2500"), want: int64(1)},
				{name: "pttl after pexpire", args: a("PTTL", "p"), want: int64(2500)},
				{name: "expireat", args: a("EXPIREAT", "p", in100s), want: int64(1)},
				{name: "ttl after expireat", args: a("TTL", "p"), want: int64(100)},
				{name: "pexpireat", args: a("PEXPIREAT", "p", in50ms), want: int64(1)},
				{name: "pttl after pexpireat", args: a("PTTL", "p"), want: int64(50000)},
				{name: "pexpireat far off", args: a("PEXPIREAT", "p", "9223372036854775807"), want: int64(1)},

				{name: "persist", args: a("PERSIST", "p"), want: int64(1)},
				{name: "ttl after persist", args: a("TTL", "p"), want: int64(-1)},
				{name: "persist no expiry", args: a("PERSIST", "p"), want: int64(0)},
				{name: "persist missing", args: a("PERSIST", "nope"), want: int64(0)},
				{name: "persist empty key", args: a("PERSIST", "scores:"), want: int64(0)},

				{name: "nx without expiry", args: a("EXPIRE", "p", "60", "NX"), want: int64(1)},
				{name: "nx with expiry", args: a("EXPIRE", "p", "70", "nx"), want: int64(0)},
				{name: "ttl after nx", args: a("TTL", "p"), want: int64(60)},
				{name: "xx with expiry", args: a("EXPIRE", "p", "20", "XX"), want: int64(1)},
				{name: "ttl after xx", args: a("TTL", "p"), want: int64(20)},
				{name: "gt longer", args: a("EXPIRE", "p", "30", "GT"), want: int64(1)},
				{name: "gt shorter", args: a("EXPIRE", "p", "10", "GT"), want: int64(0)},
				{name: "gt equal", args: a("EXPIRE", "p", "30", "GT"), want: int64(0)},
				{name: "lt shorter", args: a("EXPIRE", "p", "25", "LT"), want: int64(1)},
				{name: "lt longer", args: a("EXPIRE", "p", "40", "LT"), want: int64(0)},
				{name: "ttl after gt and lt", args: a("TTL", "p"), want: int64(25)},
				{name: "xx lt shorter", args: a("EXPIRE", "p", "15", "XX", "LT"), want: int64(1)},
				{name: "lt xx longer", args: a("EXPIRE", "p", "50", "LT", "XX"), want: int64(0)},
				{name: "xx gt longer", args: a("EXPIRE", "p", "45", "XX", "GT"), want: int64(1)},
				{name: "ttl after xx gt", args: a("TTL", "p"), want: int64(45)},
				{name: "persist again", args: a("PERSIST", "p"), want: int64(1)},
				{name: "xx without expiry", args: a("EXPIRE", "p", "10", "XX"), want: int64(0)},
				{name: "gt without expiry", args: a("EXPIRE", "p", "10", "GT"), want: int64(0)},
				{name: "xx gt without expiry", args: a("EXPIRE", "p", "10", "XX", "GT"), want: int64(0)},
				{name: "xx lt without expiry", args: a("EXPIRE", "p", "10", "XX", "LT"), want: int64(0)},
				{name: "still no expiry", args: a("TTL", "p"), want: int64(-1)},
				{name: "lt without expiry", args: a("EXPIRE", "p", "35", "LT"), want: int64(1)},
				{name: "ttl after lt without expiry", args: a("TTL", "p"), want: int64(35)},
				{name: "xx lt missing key", args: a("EXPIRE", "nope", "10", "XX", "LT"), want: int64(0)},
				{name: "gt in the past", args: a("EXPIRE", "p", "-1", "GT"), want: int64(0)},
				{name: "kept after gt in the past", args: a("TTL", "p"), want: int64(35)},

				{name: "expire zero deletes", args: a("EXPIRE", "p", "0"), want: int64(1)},
				{name: "deleted by expire zero", args: a("GET", "p"), err: "nil"},
				{name: "ttl after delete", args: a("TTL", "p"), want: int64(-2)},
				{name: "expire negative on a missing key", args: a("EXPIRE", "p", "-1"), want: int64(0)},
				{name: "set d", args: a("SET", "d", "v"), want: "OK"},
				{name: "lt in the past deletes a key without expiry", args: a("PEXPIRE", "d", "-5", "LT"), want: int64(1)},
				{name: "deleted by lt", args: a("EXISTS", "d"), want: int64(0)},
				{name: "set d again", args: a("SET", "d", "v"), want: "OK"},
				{name: "expireat in the past deletes", args: a("EXPIREAT", "d", "1"), want: int64(1)},
				{name: "deleted by expireat", args: a("EXISTS", "d"), want: int64(0)},
				{name: "expire in a group", args: a("SET", "scores:Zed", "1"), want: "OK"},
				{name: "expire zero in a group", args: a("EXPIRE", "scores:Zed", "0"), want: int64(1)},
				{name: "expired group key not at origin", args: a("GET", "scores:Zed"), err: "nil"},

				{name: "nx xx", args: a("EXPIRE", "e", "10", "NX", "XX"), err: nxErr},
				{name: "nx gt", args: a("EXPIRE", "e", "10", "GT", "NX"), err: nxErr},
				{name: "nx lt", args: a("PEXPIRE", "e", "10", "NX", "LT"), err: nxErr},
				{name: "gt lt", args: a("EXPIREAT", "e", "10", "GT", "LT"), err: gtltErr},
				{name: "xx gt lt", args: a("EXPIRE", "e", "10", "XX", "GT", "LT"), err: gtltErr},
				{name: "unsupported option", args: a("EXPIRE", "e", "10", "FOO"), err: "ERR Unsupported option FOO"},
				{name: "options before the time", args: a("EXPIRE", "e", "x", "FOO"), err: "ERR Unsupported option FOO"},
				{name: "not integer", args: a("EXPIRE", "e", "x"), err: "ERR value is not an integer or out of range"},
				{name: "seconds overflow", args: a("EXPIRE", "e", "9223372036854776"), err: "ERR invalid expire time in 'expire' command"},
				{name: "negative seconds overflow", args: a("EXPIRE", "e", "-9223372036854776"), err: "ERR invalid expire time in 'expire' command"},
				{name: "milliseconds overflow with now", args: a("PEXPIRE", "e", "9223372036854775807"), err: "ERR invalid expire time in 'pexpire' command"},
				{name: "unix seconds overflow", args: a("EXPIREAT", "e", "9223372036854776"), err: "ERR invalid expire time in 'expireat' command"},
				{name: "errors kept the ttl", args: a("TTL", "e"), want: int64(100)},

				{name: "ttl arity", args: a("TTL"), err: "ERR wrong number of arguments for 'ttl' command"},
				{name: "pexpiretime arity", args: a("PEXPIRETIME", "a", "b"), err: "ERR wrong number of arguments for 'pexpiretime' command"},
				{name: "expire arity", args: a("EXPIRE", "e"), err: "ERR wrong number of arguments for 'expire' command"},
				{name: "pexpireat arity", args: a("PEXPIREAT", "e"), err: "ERR wrong number of arguments for 'pexpireat' command"},
				{name: "persist arity", args: a("PERSIST"), err: "ERR wrong number of arguments for 'persist' command"},
			})
		})
	}
}

func TestGetExGetDel(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			syntax := "ERR syntax error"
			runSteps(t, rdb, proto, []step{
				{name: "getex missing", args: a("GETEX", "g"), err: "nil"},
				{name: "getex empty key", args: a("GETEX", "scores:", "EX", "10"), err: "nil"},
				{name: "set g", args: a("SET", "g", "v"), want: "OK"},
				{name: "getex no option", args: a("GETEX", "g"), want: "v"},
				{name: "ttl after getex", args: a("TTL", "g"), want: int64(-1)},
				{name: "getex ex", args: a("GETEX", "g", "EX", "100"), want: "v"},
				{name: "ttl after getex ex", args: a("TTL", "g"), want: int64(100)},
				{name: "getex px", args: a("GETEX", "g", "px", "5000"), want: "v"},
				{name: "pttl after getex px", args: a("PTTL", "g"), want: int64(5000)},
				{name: "getex exat", args: a("GETEX", "g", "EXAT", in100s), want: "v"},
				{name: "ttl after getex exat", args: a("TTL", "g"), want: int64(100)},
				{name: "getex pxat", args: a("GETEX", "g", "PXAT", in50ms), want: "v"},
				{name: "pttl after getex pxat", args: a("PTTL", "g"), want: int64(50000)},
				{name: "getex persist", args: a("GETEX", "g", "PERSIST"), want: "v"},
				{name: "ttl after getex persist", args: a("TTL", "g"), want: int64(-1)},
				{name: "getex exat in the past", args: a("GETEX", "g", "EXAT", "1"), want: "v"},
				{name: "gone after getex in the past", args: a("GET", "g"), err: "nil"},

				{name: "getex loads from the origin", args: a("GETEX", "scores:Tom", "EX", "100"), want: "630", check: loadsOf(f, "Tom", 1)},
				{name: "ttl of a loaded key", args: a("TTL", "scores:Tom"), check: within(99, 100)},
				{name: "getex persist a loaded key", args: a("GETEX", "scores:Tom", "PERSIST"), want: "630"},
				{name: "ttl of a loaded key after persist", args: a("TTL", "scores:Tom"), want: int64(-1)},
				{name: "getex not at origin", args: a("GETEX", "scores:Nobody", "PX", "10"), err: "nil"},
				{name: "getex origin error", args: a("GETEX", "errs:x", "EX", "10"), err: "ERR origin: load failed"},

				{name: "getex persist and ex", args: a("GETEX", "g", "PERSIST", "EX", "10"), err: syntax},
				{name: "getex ex and px", args: a("GETEX", "g", "EX", "10", "PX", "10"), err: syntax},
				{name: "getex nx", args: a("GETEX", "g", "NX"), err: syntax},
				{name: "getex get", args: a("GETEX", "g", "GET"), err: syntax},
				{name: "getex keepttl", args: a("GETEX", "g", "KEEPTTL"), err: syntax},
				{name: "getex ex without a time", args: a("GETEX", "g", "EX"), err: syntax},
				{name: "getex bad time on a missing key is nil", args: a("GETEX", "g", "EX", "0"), err: "nil"},
				{name: "getex bad integer on a missing key is nil", args: a("GETEX", "g", "EX", "x"), err: "nil"},
				{name: "set h", args: a("SET", "h", "v"), want: "OK"},
				{name: "getex bad time", args: a("GETEX", "h", "EX", "0"), err: "ERR invalid expire time in 'getex' command"},
				{name: "getex bad integer", args: a("GETEX", "h", "PXAT", "x"), err: "ERR value is not an integer or out of range"},
				{name: "getex arity", args: a("GETEX"), err: "ERR wrong number of arguments for 'getex' command"},

				{name: "set d", args: a("SET", "d", "v"), want: "OK"},
				{name: "getdel", args: a("GETDEL", "d"), want: "v"},
				{name: "get after getdel", args: a("GET", "d"), err: "nil"},
				{name: "getdel again", args: a("GETDEL", "d"), err: "nil"},
				{name: "getdel empty key", args: a("GETDEL", "scores:"), err: "nil"},
				{name: "getdel loads from the origin", args: a("GETDEL", "scores:Jack"), want: "589", check: loadsOf(f, "Jack", 1)},
				{name: "getdel deleted the loaded key", args: a("TTL", "scores:Jack"), want: int64(-2)},
				{name: "get after getdel reloads", args: a("GET", "scores:Jack"), want: "589", check: loadsOf(f, "Jack", 2)},
				{name: "getdel of a written value", args: a("SET", "scores:Sam", "9"), want: "OK"},
				{name: "getdel returns the written value", args: a("GETDEL", "scores:Sam"), want: "9"},
				{name: "get after getdel of a written value reloads", args: a("GET", "scores:Sam"), want: "567", check: loadsOf(f, "Sam", 1)},
				{name: "getdel not at origin", args: a("GETDEL", "scores:Nobody2"), err: "nil"},
				{name: "getdel origin error", args: a("GETDEL", "errs:y"), err: "ERR origin: load failed"},
				{name: "getdel arity", args: a("GETDEL", "a", "b"), err: "ERR wrong number of arguments for 'getdel' command"},
			})
		})
	}
}

// fakePeer is a node that records the flushes it is sent and fails them
// all when down, with an error naming its address as a transport would.
type fakePeer struct {
	down bool

	mu      sync.Mutex // guards flushed
	flushed []string   // the groups flushed, in order
}

func (p *fakePeer) err() error { return errors.New("dial tcp 10.9.9.9:8080: connection refused") }

func (p *fakePeer) Get(context.Context, *pb.GetRequest) (*pb.GetResponse, error) {
	return nil, p.err()
}

func (p *fakePeer) GetMany(context.Context, *pb.GetManyRequest) (*pb.GetManyResponse, error) {
	return nil, p.err()
}

func (p *fakePeer) Write(_ context.Context, in *pb.WriteRequest) (*pb.WriteResponse, error) {
	if p.down {
		return nil, p.err()
	}
	if in.GetOp() == pb.WriteRequest_OP_FLUSH {
		p.mu.Lock()
		p.flushed = append(p.flushed, in.GetGroup())
		p.mu.Unlock()
	}
	return &pb.WriteResponse{}, nil
}

// takeFlushed returns the groups flushed since the last call, sorted:
// FLUSHALL flushes the groups in parallel.
func (p *fakePeer) takeFlushed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.flushed
	p.flushed = nil
	slices.Sort(f)
	return f
}

// localOwner is a PeerPicker for a node that owns every key but has other
// nodes to tell about writes and flushes.
type localOwner struct{ peers []group.PeerGetter }

func (o localOwner) PickPeer(string) (group.PeerGetter, bool) { return nil, false }
func (o localOwner) Peers() []group.PeerGetter                { return o.peers }

// addClusterGroup adds to f's registry a group name whose node has the
// given peers, and returns it.
func addClusterGroup(t *testing.T, f *fixture, name string, peers ...group.PeerGetter) *group.Group {
	t.Helper()
	g := f.reg.NewGroup(name, 1<<20, group.GetterFunc(func(_ context.Context, key string) ([]byte, error) {
		return []byte("v:" + key), nil
	}))
	g.RegisterPeers(localOwner{peers: peers})
	return g
}

// flushedBy checks that the peer was told to flush exactly groups since
// the last check.
func flushedBy(p *fakePeer, groups ...string) func(int, any) error {
	return func(int, any) error {
		if got := p.takeFlushed(); !reflect.DeepEqual(got, groups) {
			return fmt.Errorf("peer flushed %q, want %q", got, groups)
		}
		return nil
	}
}

func TestFlushCommands(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			peer := &fakePeer{}
			addClusterGroup(t, f, "shared", peer)
			rdb := newRedisClient(t, f.addr, proto, nil)
			runSteps(t, rdb, proto, []step{
				{name: "set", args: a("SET", "x", "1"), want: "OK"},
				{name: "load", args: a("GET", "scores:Tom"), want: "630"},
				{name: "load shared", args: a("GET", "shared:a"), want: "v:a"},
				{name: "dbsize", args: a("DBSIZE"), want: int64(3)},
				{name: "flushall", args: a("FLUSHALL"), want: "OK", check: flushedBy(peer, "shared")},
				{name: "dbsize after flushall", args: a("DBSIZE"), want: int64(0)},
				{name: "get reloads after flushall", args: a("GET", "scores:Tom"), want: "630", check: loadsOf(f, "Tom", 2)},
				{name: "set again", args: a("SET", "x", "1"), want: "OK"},
				{name: "flushdb stays on this node", args: a("FLUSHDB"), want: "OK", check: flushedBy(peer)},
				{name: "dbsize after flushdb", args: a("DBSIZE"), want: int64(0)},

				{name: "load for rcache.flush", args: a("GET", "scores:Tom"), want: "630"},
				{name: "set for rcache.flush", args: a("SET", "x", "1"), want: "OK"},
				{name: "load shared for rcache.flush", args: a("GET", "shared:a"), want: "v:a"},
				{name: "rcache.flush", args: a("RCACHE.FLUSH", "scores"), want: "OK"},
				{name: "dbsize after rcache.flush", args: a("DBSIZE"), want: int64(2)},
				{name: "rcache.flush reloads", args: a("GET", "scores:Tom"), want: "630", check: loadsOf(f, "Tom", 4)},
				{name: "rcache.flush reaches the peers", args: a("rcache.flush", "shared"), want: "OK", check: flushedBy(peer, "shared")},
				{name: "rcache.flush local", args: a("RCACHE.FLUSH", "default", "local"), want: "OK"},
				{name: "rcache.flush local stays on this node", args: a("RCACHE.FLUSH", "shared", "LOCAL"), want: "OK", check: flushedBy(peer)},
				{name: "dbsize after rcache.flush local", args: a("DBSIZE"), want: int64(1)},
				{name: "flushall async", args: a("FLUSHALL", "ASYNC"), want: "OK", check: flushedBy(peer, "shared")},

				{name: "rcache.flush unknown group", args: a("RCACHE.FLUSH", "nope"), err: "ERR unknown group 'nope'"},
				{name: "rcache.flush group names keep their case", args: a("RCACHE.FLUSH", "Scores"), err: "ERR unknown group 'Scores'"},
				{name: "rcache.flush bad option", args: a("RCACHE.FLUSH", "scores", "FOO"), err: "ERR syntax error"},
				{name: "rcache.flush too many", args: a("RCACHE.FLUSH", "scores", "LOCAL", "x"), err: "ERR syntax error"},
				{name: "rcache.flush arity", args: a("RCACHE.FLUSH"), err: "ERR wrong number of arguments for 'rcache.flush' command"},
				{name: "flushdb bad mode", args: a("FLUSHDB", "x"), err: "ERR syntax error"},
			})
		})
	}
}

func TestFlushUnreachableNode(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			up := &fakePeer{}
			addClusterGroup(t, f, "a", up, &fakePeer{down: true})
			addClusterGroup(t, f, "b", up)
			rdb := newRedisClient(t, f.addr, proto, nil)
			runSteps(t, rdb, proto, []step{
				{name: "load", args: a("GET", "a:k"), want: "v:k"},
				{name: "flushall", args: a("FLUSHALL"),
					err: "ERR flush incomplete: 1 of 5 groups were not flushed on every node (details in the server log)"},
				{name: "flushall reached the nodes up", args: a("DBSIZE"), want: int64(0), check: flushedBy(up, "a", "b")},
				{name: "rcache.flush", args: a("RCACHE.FLUSH", "a"),
					err: "ERR flush incomplete: group 'a' was not flushed on every node (details in the server log)"},
				{name: "rcache.flush local", args: a("RCACHE.FLUSH", "a", "LOCAL"), want: "OK"},
				{name: "rcache.flush of a group whose nodes are up", args: a("RCACHE.FLUSH", "b"), want: "OK"},
			})
		})
	}
}

func TestInfoFreshness(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			contains := func(want ...string) func(int, any) error {
				return func(_ int, got any) error {
					s, _ := got.(string)
					for _, w := range want {
						if !strings.Contains(s, w) {
							return fmt.Errorf("want %q in it", w)
						}
					}
					return nil
				}
			}
			runSteps(t, rdb, proto, []step{
				{name: "miss", args: a("GET", "scores:Nobody"), err: "nil"},
				{name: "remembered miss", args: a("GET", "scores:Nobody"), err: "nil", check: loadsOf(f, "Nobody", 1)},
				{name: "group section", args: a("INFO", "group_scores"),
					check: contains("\r\nlocal_not_found:1\r\nlocal_load_errors:0\r\nnegative_hits:1\r\n")},
				{name: "server section", args: a("INFO", "server"),
					check: contains("\r\nflushall_scope:cluster\r\nflushdb_scope:node\r\ndbsize_scope:node\r\n")},
			})
		})
	}
}

func TestCommandDocsOfNewCommands(t *testing.T) {
	f := newFixture(t, nil)
	rdb := newRedisClient(t, f.addr, 3, nil)
	ctx := context.Background()
	names := []string{"set", "getex", "getdel", "expire", "pexpire", "expireat", "pexpireat", "persist",
		"ttl", "pttl", "expiretime", "pexpiretime", "flushall", "flushdb", "rcache.flush"}
	args := []any{"COMMAND", "DOCS"}
	for _, n := range names {
		args = append(args, n)
	}
	got, err := rdb.Do(ctx, args...).Result()
	if err != nil {
		t.Fatalf("COMMAND DOCS: %v", err)
	}
	docs, _ := got.(map[any]any)
	for _, n := range names {
		doc, _ := docs[n].(map[any]any)
		if doc == nil || doc["summary"] == "" || doc["since"] == "" || doc["group"] == "" || doc["complexity"] == "" {
			t.Errorf("COMMAND DOCS %s = %v, want a summary, since, group and complexity", n, doc)
		}
	}
	// redis-cli builds its hints from the argument names, types and tokens.
	argsOf := func(v any) []string {
		var out []string
		l, _ := v.([]any)
		for _, e := range l {
			m, _ := e.(map[any]any)
			s := fmt.Sprint(m["name"], ":", m["type"])
			if tok, ok := m["token"]; ok {
				s += ":" + fmt.Sprint(tok)
			}
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		cmd  string
		path []int // the argument to look into, by index, nested
		want []string
	}{
		{"set", nil, []string{"key:key", "value:string", "condition:oneof", "get:pure-token:GET", "expiration:oneof"}},
		{"set", []int{2}, []string{"nx:pure-token:NX", "xx:pure-token:XX"}},
		{"set", []int{4}, []string{"seconds:integer:EX", "milliseconds:integer:PX",
			"unix-time-seconds:unix-time:EXAT", "unix-time-milliseconds:unix-time:PXAT", "keepttl:pure-token:KEEPTTL"}},
		{"getex", []int{1}, []string{"seconds:integer:EX", "milliseconds:integer:PX",
			"unix-time-seconds:unix-time:EXAT", "unix-time-milliseconds:unix-time:PXAT", "persist:pure-token:PERSIST"}},
		{"getdel", nil, []string{"key:key"}},
		{"expire", nil, []string{"key:key", "seconds:integer", "condition:oneof"}},
		{"expire", []int{2}, []string{"nx:pure-token:NX", "xx:pure-token:XX", "gt:pure-token:GT", "lt:pure-token:LT"}},
		{"pexpireat", nil, []string{"key:key", "unix-time-milliseconds:unix-time", "condition:oneof"}},
		{"ttl", nil, []string{"key:key"}},
		{"rcache.flush", nil, []string{"group:string", "local:pure-token:LOCAL"}},
	}
	for _, tt := range tests {
		doc, _ := docs[tt.cmd].(map[any]any)
		v := doc["arguments"]
		for _, i := range tt.path {
			l, _ := v.([]any)
			if i >= len(l) {
				v = nil
				break
			}
			m, _ := l[i].(map[any]any)
			v = m["arguments"]
		}
		if got := argsOf(v); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("COMMAND DOCS %s arguments %v = %q, want %q", tt.cmd, tt.path, got, tt.want)
		}
	}

	cmds, err := rdb.Command(ctx).Result()
	if err != nil {
		t.Fatalf("COMMAND: %v", err)
	}
	for _, tt := range []struct {
		name               string
		arity              int8
		first, last, step  int8
		readOnly, hasWrite bool
	}{
		{"set", -3, 1, 1, 1, false, true},
		{"getex", -2, 1, 1, 1, false, true},
		{"getdel", 2, 1, 1, 1, false, true},
		{"expire", -3, 1, 1, 1, false, true},
		{"pexpireat", -3, 1, 1, 1, false, true},
		{"persist", 2, 1, 1, 1, false, true},
		{"ttl", 2, 1, 1, 1, true, false},
		{"pexpiretime", 2, 1, 1, 1, true, false},
		{"flushall", -1, 0, 0, 0, false, true},
		{"rcache.flush", -2, 0, 0, 0, false, true},
	} {
		c := cmds[tt.name]
		if c == nil {
			t.Errorf("COMMAND lacks %s", tt.name)
			continue
		}
		if c.Arity != tt.arity || c.FirstKeyPos != tt.first || c.LastKeyPos != tt.last || c.StepCount != tt.step || c.ReadOnly != tt.readOnly {
			t.Errorf("COMMAND %s = arity %d keys %d..%d/%d readonly %v; want %d, %d..%d/%d, %v",
				tt.name, c.Arity, c.FirstKeyPos, c.LastKeyPos, c.StepCount, c.ReadOnly, tt.arity, tt.first, tt.last, tt.step, tt.readOnly)
		}
		if has := strings.Contains(strings.Join(c.Flags, " "), "write"); has != tt.hasWrite {
			t.Errorf("COMMAND %s flags = %v, want write %v", tt.name, c.Flags, tt.hasWrite)
		}
	}
	if n, err := rdb.Do(ctx, "COMMAND", "COUNT").Int(); err != nil || n != len(cmds) {
		t.Errorf("COMMAND COUNT = %d, %v; want %d, as COMMAND lists", n, err, len(cmds))
	}
}

func TestRawExpiryReplies(t *testing.T) {
	// The cases share a server, one after the other: the last flushes it.
	f := newFixture(t, nil)
	tests := []struct {
		name  string
		proto int
		send  string
		want  string
	}{
		{"set nx refused is a null bulk in RESP2", 2,
			"SET a 1\r\nSET a 2 NX\r\nSET b 1 XX\r\n", "+OK\r\n$-1\r\n$-1\r\n"},
		{"set nx refused is a null in RESP3", 3,
			"SET c 1\r\nSET c 2 NX\r\nSET d 1 XX\r\n", "+OK\r\n_\r\n_\r\n"},
		{"set get is a bulk or a null", 2,
			"SET e 1\r\nSET e 2 GET\r\nSET f 1 GET\r\n", "+OK\r\n$1\r\n1\r\n$-1\r\n"},
		{"set get in RESP3", 3, "SET g 1 GET\r\nSET g 2 GET\r\n", "_\r\n$1\r\n1\r\n"},
		{"ttl replies are integers", 2,
			"TTL nope\r\nSET h 1\r\nTTL h\r\nSET h 1 EX 7\r\nTTL h\r\nPTTL h\r\n",
			":-2\r\n+OK\r\n:-1\r\n+OK\r\n:7\r\n:7000\r\n"},
		{"expire and persist replies are integers", 3,
			"SET i 1\r\nEXPIRE i 9\r\nEXPIRE nope 9\r\nPERSIST i\r\nPERSIST i\r\n",
			"+OK\r\n:1\r\n:0\r\n:1\r\n:0\r\n"},
		{"getex and getdel", 2,
			"GETEX nope EX 1\r\nSET j 1\r\nGETEX j PERSIST\r\nGETDEL j\r\nGETDEL j\r\n",
			"$-1\r\n+OK\r\n$1\r\n1\r\n$1\r\n1\r\n$-1\r\n"},
		{"getdel null in RESP3", 3, "GETDEL nope\r\n", "_\r\n"},
		{"expiry errors", 2,
			"SET k 1 EX 0\r\nSET k 1 NX XX\r\nEXPIRE k 1 NX GT\r\nEXPIRE k 1 GT LT\r\nEXPIRE k 1 bad\r\n",
			"-ERR invalid expire time in 'set' command\r\n-ERR syntax error\r\n" +
				"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n" +
				"-ERR GT and LT options at the same time are not compatible\r\n-ERR Unsupported option bad\r\n"},
		{"unknown group echoes at most 128 bytes, without line breaks", 2,
			multibulk("RCACHE.FLUSH", "a\r\nb"+strings.Repeat("x", 200)),
			"-ERR unknown group 'a  b" + strings.Repeat("x", 124) + "'\r\n"},
		{"command docs of getdel in RESP2", 2, "COMMAND DOCS getdel\r\n", "*2\r\n" + bulk("getdel") + "*10\r\n" +
			bulk("summary") + bulk("Returns the string value of a key, loading it from the origin on a miss, and deletes it; the next GET loads it again.") +
			bulk("since") + bulk("6.2.0") + bulk("group") + bulk("string") + bulk("complexity") + bulk("O(1)") +
			bulk("arguments") + "*1\r\n*6\r\n" + bulk("name") + bulk("key") + bulk("type") + bulk("key") +
			bulk("key_spec_index") + ":0\r\n"},
		{"flush replies", 3, "FLUSHDB\r\nRCACHE.FLUSH scores LOCAL\r\nFLUSHALL SYNC\r\n", "+OK\r\n+OK\r\n+OK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r := dial(t, f.addr)
			if tt.proto == 3 {
				id := clientID(t, c, r)
				hello := helloReply(3, id)
				io.WriteString(c, "HELLO 3\r\n")
				if got := readN(t, r, len(hello)); got != hello {
					t.Fatalf("HELLO 3 = %q, want %q", got, hello)
				}
			}
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, r, len(tt.want)); got != tt.want {
				t.Errorf("%q:\n got %q\nwant %q", tt.send, got, tt.want)
			}
		})
	}
}

// The fixture's clock is the default group's; check the constants above
// against it, so that a change to the fixture shows here first.
func TestExpiryClock(t *testing.T) {
	f := newRegistry(t)
	if got := strconv.FormatInt(f.clock.Now().Unix(), 10); got != nowSec {
		t.Fatalf("fixture clock = %s, want %s", got, nowSec)
	}
}
