package resp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// protocols are the RESP versions every command is tested under.
var protocols = []int{3, 2}

// newRedisClient returns a go-redis client of addr speaking proto, closed
// when the test ends (before the server is shut down).
func newRedisClient(t testing.TB, addr string, proto int, edit func(*redis.Options)) *redis.Client {
	t.Helper()
	opt := &redis.Options{Addr: addr, Protocol: proto, ClientName: "tester", PoolSize: 1, MaxRetries: -1}
	if edit != nil {
		edit(opt)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// normalize makes a go-redis reply comparable across protocols: a RESP3 map
// becomes the flat array RESP2 sends, keys in order.
func normalize(v any) any {
	switch v := v.(type) {
	case map[any]any:
		keys := make([]any, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		out := make([]any, 0, 2*len(v))
		for _, k := range keys {
			out = append(out, normalize(k), normalize(v[k]))
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// flatPairs sorts the pairs of a flat array by key, as normalize orders a
// map, so that a RESP2 map-as-array compares equal to the RESP3 map.
func flatPairs(v any) any {
	a, ok := v.([]any)
	if !ok || len(a)%2 != 0 {
		return v
	}
	m := make(map[any]any, len(a)/2)
	for i := 0; i < len(a); i += 2 {
		m[a[i]] = a[i+1]
	}
	return normalize(m)
}

// step is one command of a scripted session and its expected reply.
type step struct {
	name string
	args []any
	want any    // the reply, normalized; ignored when check is set
	err  string // the error's text, or "nil" for a null reply
	// map says the reply is a map (a flat array in RESP2).
	isMap bool
	// check, if set, checks the reply instead of want.
	check func(proto int, got any) error
}

func a(args ...any) []any { return args }

// runSteps runs steps in order on rdb, each as a subtest.
func runSteps(t *testing.T, rdb *redis.Client, proto int, steps []step) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := rdb.Do(ctx, s.args...).Result()
			switch {
			case s.err == "nil":
				if !errors.Is(err, redis.Nil) {
					t.Errorf("%v = %#v, %v; want nil", s.args, got, err)
				}
				return
			case s.err != "":
				if err == nil || err.Error() != s.err {
					t.Errorf("%v error = %v, want %q", s.args, err, s.err)
				}
				return
			case err != nil:
				t.Errorf("%v error = %v, want %#v", s.args, err, s.want)
				return
			}
			got = normalize(got)
			if s.isMap {
				got = flatPairs(got)
			}
			if s.check != nil {
				if err := s.check(proto, got); err != nil {
					t.Errorf("%v = %#v: %v", s.args, got, err)
				}
				return
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Errorf("%v = %#v, want %#v", s.args, got, s.want)
			}
		})
	}
}

func TestDataCommands(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			runSteps(t, rdb, proto, []step{
				{name: "get loads from origin", args: a("GET", "scores:Tom"), want: "630"},
				{name: "get twice loads once", args: a("get", "scores:Tom"), want: "630",
					check: func(int, any) error {
						if n := f.loadCount("Tom"); n != 1 {
							return fmt.Errorf("Getter called %d times for Tom, want 1", n)
						}
						return nil
					}},
				{name: "get not found at origin", args: a("GET", "scores:Nobody"), err: "nil"},
				{name: "get miss in default", args: a("GET", "plain"), err: "nil"},
				{name: "get origin error hides the cause", args: a("GET", "errs:x"), err: "ERR origin: load failed"},
				{name: "get empty key of a group", args: a("GET", "scores:"), err: "nil"},
				{name: "get empty key", args: a("GET", ""), err: "nil"},
				{name: "get unknown prefix is a default key", args: a("GET", "key:000000001234"), err: "nil"},
				{name: "get mixed case name", args: a("gEt", "scores:Jack"), want: "589"},
				{name: "get arity", args: a("GET"), err: "ERR wrong number of arguments for 'get' command"},
				{name: "get arity too many", args: a("GET", "a", "b"), err: "ERR wrong number of arguments for 'get' command"},

				{name: "set", args: a("SET", "k", "v"), want: "OK"},
				{name: "get after set", args: a("GET", "k"), want: "v"},
				{name: "set binary", args: a("SET", "bin\x00\r\nkey", "\x00\r\n\xff"), want: "OK"},
				{name: "get binary", args: a("GET", "bin\x00\r\nkey"), want: "\x00\r\n\xff"},
				{name: "set in a group", args: a("SET", "scores:Zed", "1"), want: "OK"},
				{name: "get from a group after set", args: a("GET", "scores:Zed"), want: "1"},
				{name: "set key with colons in a group", args: a("SET", "scores:a:b", "2"), want: "OK"},
				{name: "get key with colons in a group", args: a("GET", "scores:a:b"), want: "2"},
				{name: "set default group prefix is a plain key", args: a("SET", "default:x", "3"), want: "OK"},
				{name: "get default group prefix", args: a("GET", "default:x"), want: "3"},
				{name: "set ex", args: a("SET", "t", "v", "EX", "100"), want: "OK"},
				{name: "set px lower case", args: a("set", "t", "v", "px", "100"), want: "OK"},
				{name: "set ex zero", args: a("SET", "t", "v", "EX", "0"), err: "ERR invalid expire time in 'set' command"},
				{name: "set px negative", args: a("SET", "t", "v", "PX", "-5"), err: "ERR invalid expire time in 'set' command"},
				{name: "set ex too large", args: a("SET", "t", "v", "EX", "9223372036854775807"), err: "ERR invalid expire time in 'set' command"},
				{name: "set ex not integer", args: a("SET", "t", "v", "EX", "x"), err: "ERR value is not an integer or out of range"},
				{name: "set ex missing", args: a("SET", "t", "v", "EX"), err: "ERR syntax error"},
				{name: "set ex twice", args: a("SET", "t", "v", "EX", "1", "PX", "1"), err: "ERR syntax error"},
				{name: "set nx on an existing key", args: a("SET", "t", "v", "NX"), err: "nil"},
				{name: "set syntax before integer", args: a("SET", "t", "v", "EX", "x", "FOO"), err: "ERR syntax error"},
				{name: "set empty key", args: a("SET", "scores:", "v"), err: "ERR empty key"},
				{name: "set arity", args: a("SET", "k"), err: "ERR wrong number of arguments for 'set' command"},

				{name: "mget across groups", args: a("MGET", "scores:Tom", "scores:Jack", "nope", "errs:x", "scores:", "k", "scores:Nobody"),
					want: []any{"630", "589", nil, nil, nil, "v", nil}},
				{name: "mget one group", args: a("MGET", "scores:Sam", "scores:Tom"), want: []any{"567", "630"}},
				{name: "mget arity", args: a("MGET"), err: "ERR wrong number of arguments for 'mget' command"},
				{name: "mset", args: a("MSET", "a", "1", "b", "2", "scores:Sam", "9"), want: "OK"},
				{name: "mget after mset", args: a("MGET", "a", "b", "scores:Sam"), want: []any{"1", "2", "9"}},
				{name: "mset odd", args: a("MSET", "a", "1", "b"), err: "ERR wrong number of arguments for 'mset' command"},
				{name: "mset empty key", args: a("MSET", "c", "3", "scores:", "4"), err: "ERR empty key"},
				{name: "mset empty key sets nothing", args: a("EXISTS", "c"), want: int64(0)},

				{name: "exists counts repeats", args: a("EXISTS", "a", "a", "nope"), want: int64(2)},
				{name: "exists empty key", args: a("EXISTS", "scores:"), want: int64(0)},
				{name: "exists does not load", args: a("EXISTS", "scores:Nobody2"), want: int64(0),
					check: func(int, any) error {
						if n := f.loadCount("Nobody2"); n != 0 {
							return fmt.Errorf("EXISTS called the Getter %d times", n)
						}
						return nil
					}},
				{name: "del", args: a("DEL", "a", "b", "nope", "scores:"), want: int64(2)},
				{name: "del again", args: a("DEL", "a"), want: int64(0)},
				{name: "unlink", args: a("UNLINK", "k"), want: int64(1)},
				{name: "get after unlink", args: a("GET", "k"), err: "nil"},

				{name: "strlen", args: a("STRLEN", "scores:Tom"), want: int64(3)},
				{name: "strlen missing", args: a("STRLEN", "nope"), want: int64(0)},
				{name: "strlen empty key", args: a("STRLEN", "scores:"), want: int64(0)},
				{name: "strlen origin error", args: a("STRLEN", "errs:y"), err: "ERR origin: load failed"},

				{name: "incr new key", args: a("INCR", "n"), want: int64(1)},
				{name: "incrby", args: a("INCRBY", "n", "10"), want: int64(11)},
				{name: "decr", args: a("DECR", "n"), want: int64(10)},
				{name: "decrby", args: a("DECRBY", "n", "4"), want: int64(6)},
				{name: "incrby negative", args: a("INCRBY", "n", "-6"), want: int64(0)},
				{name: "get after incr", args: a("GET", "n"), want: "0"},
				{name: "incr loads from origin", args: a("INCR", "scores:Jack"), want: int64(590)},
				{name: "incr not integer", args: a("INCR", "t"), err: "ERR value is not an integer or out of range"},
				{name: "incrby bad argument", args: a("INCRBY", "n", "x"), err: "ERR value is not an integer or out of range"},
				{name: "incrby leading zero", args: a("INCRBY", "n", "01"), err: "ERR value is not an integer or out of range"},
				{name: "incrby plus sign", args: a("INCRBY", "n", "+1"), err: "ERR value is not an integer or out of range"},
				{name: "decrby min int", args: a("DECRBY", "n", "-9223372036854775808"), err: "ERR decrement would overflow"},
				{name: "set max int", args: a("SET", "big", "9223372036854775807"), want: "OK"},
				{name: "incr overflow", args: a("INCR", "big"), err: "ERR increment or decrement would overflow"},
				{name: "incrby min int", args: a("INCRBY", "n", "-9223372036854775808"), want: int64(-9223372036854775808)},
				{name: "decr overflow", args: a("DECR", "n"), err: "ERR increment or decrement would overflow"},
				{name: "incr empty key", args: a("INCR", "scores:"), err: "ERR empty key"},
				{name: "incr origin error hides the cause", args: a("INCR", "errs:x"), err: "ERR origin: load failed"},
				{name: "incr arity", args: a("INCR"), err: "ERR wrong number of arguments for 'incr' command"},
				{name: "decrby arity", args: a("DECRBY", "n"), err: "ERR wrong number of arguments for 'decrby' command"},
			})
		})
	}
}

func TestServerCommands(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			_, list := commandTable()
			// mp is a map as normalize presents it: its pairs in key order
			// in RESP3, where go-redis decodes a map, and in the order sent
			// in RESP2, where it is a plain array.
			mp := func(kv ...any) []any {
				if proto == 3 {
					return flatPairsOf(kv...)
				}
				return kv
			}
			runSteps(t, rdb, proto, []step{
				{name: "ping", args: a("PING"), want: "PONG"},
				{name: "ping message", args: a("PING", "hi there"), want: "hi there"},
				{name: "ping too many", args: a("PING", "a", "b"), err: "ERR wrong number of arguments for 'ping' command"},
				{name: "echo binary", args: a("ECHO", "a\x00b\r\n"), want: "a\x00b\r\n"},
				{name: "echo arity", args: a("ECHO"), err: "ERR wrong number of arguments for 'echo' command"},
				{name: "select 0", args: a("SELECT", "0"), want: "OK"},
				{name: "select 1", args: a("SELECT", "1"), err: "ERR DB index is out of range"},
				{name: "select not integer", args: a("SELECT", "x"), err: "ERR value is not an integer or out of range"},
				{name: "auth without password configured", args: a("AUTH", "pw"),
					err: "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"},
				{name: "auth default user without password configured", args: a("AUTH", "default", "anything"), want: "OK"},
				{name: "auth other user", args: a("AUTH", "bob", "pw"), err: "WRONGPASS invalid username-password pair or user is disabled."},
				{name: "auth too many", args: a("AUTH", "a", "b", "c"), err: "ERR syntax error"},

				{name: "hello current protocol", args: a("HELLO"), isMap: true, check: func(proto int, got any) error {
					want := []any{"id", f.srv.h.nextID.Load(), "mode", "standalone", "modules", []any{},
						"proto", int64(proto), "role", "master", "server", "rcache", "version", "7.2.0"}
					if !reflect.DeepEqual(got, want) {
						return fmt.Errorf("want %#v", want)
					}
					return nil
				}},
				{name: "hello bad version", args: a("HELLO", "4"), err: "NOPROTO unsupported protocol version"},
				{name: "hello not integer", args: a("HELLO", "three"), err: "ERR Protocol version is not an integer or out of range"},
				{name: "hello bad option", args: a("HELLO", proto, "FOO"), err: "ERR Syntax error in HELLO option 'FOO'"},
				{name: "hello setname missing", args: a("HELLO", proto, "SETNAME"), err: "ERR Syntax error in HELLO option 'SETNAME'"},
				{name: "hello bad name", args: a("HELLO", proto, "SETNAME", "a b"), err: "ERR Client names cannot contain spaces, newlines or special characters."},

				{name: "client getname from options", args: a("CLIENT", "GETNAME"), want: "tester"},
				{name: "client setname", args: a("CLIENT", "SETNAME", "other"), want: "OK"},
				{name: "client getname", args: a("client", "getname"), want: "other"},
				{name: "client setname empty clears", args: a("CLIENT", "SETNAME", ""), want: "OK"},
				{name: "client getname none", args: a("CLIENT", "GETNAME"), err: "nil"},
				{name: "client setname spaces", args: a("CLIENT", "SETNAME", "a b"), err: "ERR Client names cannot contain spaces, newlines or special characters."},
				{name: "client setname arity", args: a("CLIENT", "SETNAME"), err: "ERR wrong number of arguments for 'client|setname' command"},
				{name: "client id", args: a("CLIENT", "ID"), check: func(_ int, got any) error {
					if got != f.srv.h.nextID.Load() {
						return errors.New("want the connection's ID")
					}
					return nil
				}},
				{name: "client setinfo", args: a("CLIENT", "SETINFO", "LIB-NAME", "mylib"), want: "OK"},
				{name: "client setinfo lower case", args: a("CLIENT", "SETINFO", "lib-ver", "1.2.3"), want: "OK"},
				{name: "client setinfo bad option", args: a("CLIENT", "SETINFO", "foo", "x"), err: "ERR Unrecognized option 'foo'"},
				{name: "client setinfo bad value", args: a("CLIENT", "SETINFO", "lib-ver", "1 2"), err: "ERR lib-ver cannot contain spaces, newlines or special characters."},
				{name: "client info", args: a("CLIENT", "INFO"), check: func(proto int, got any) error {
					s, _ := got.(string)
					want := fmt.Sprintf(" cmd=client|info user=default redir=-1 resp=%d lib-name=mylib lib-ver=1.2.3\n", proto)
					if !strings.HasPrefix(s, fmt.Sprintf("id=%d addr=127.0.0.1:", f.srv.h.nextID.Load())) || !strings.HasSuffix(s, want) {
						return fmt.Errorf("want a line ending in %q", want)
					}
					return nil
				}},
				{name: "client list", args: a("CLIENT", "LIST"), check: func(proto int, got any) error {
					if s, _ := got.(string); !strings.Contains(s, " cmd=client|list ") {
						return errors.New("want this connection's line")
					}
					return nil
				}},
				{name: "client list other type", args: a("CLIENT", "LIST", "TYPE", "pubsub"), want: ""},
				{name: "client list bad type", args: a("CLIENT", "LIST", "TYPE", "x"), err: "ERR Unknown client type 'x'"},
				{name: "client list other id", args: a("CLIENT", "LIST", "ID", "99999"), want: ""},
				{name: "client list syntax", args: a("CLIENT", "LIST", "FOO"), err: "ERR syntax error"},
				{name: "client help", args: a("CLIENT", "HELP"), check: func(_ int, got any) error {
					if l, _ := got.([]any); len(l) == 0 || !strings.HasPrefix(l[0].(string), "CLIENT <subcommand>") {
						return errors.New("want help lines")
					}
					return nil
				}},
				{name: "client unknown subcommand", args: a("CLIENT", "FOO"), err: "ERR unknown subcommand 'FOO'. Try CLIENT HELP."},
				{name: "client maint_notifications", args: a("CLIENT", "MAINT_NOTIFICATIONS", "on", "moving-endpoint-type", "internal-ip"),
					err: "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."},
				{name: "client alone", args: a("CLIENT"), err: "ERR wrong number of arguments for 'client' command"},

				{name: "command count", args: a("COMMAND", "COUNT"), want: int64(len(list))},
				{name: "command list", args: a("COMMAND", "LIST"), check: func(_ int, got any) error {
					if l, _ := got.([]any); len(l) != len(list) || !slices.Contains(l, any("get")) || slices.Contains(l, any("post")) {
						return errors.New("want every listed command, and not POST")
					}
					return nil
				}},
				{name: "command info", args: a("COMMAND", "INFO", "get", "nope", "CLIENT|ID", "post"), want: []any{
					[]any{"get", int64(2), []any{"readonly", "fast"}, int64(1), int64(1), int64(1),
						[]any{"@read", "@string", "@fast"}, []any{},
						[]any{mp("flags", []any{"RO", "access"},
							"begin_search", mp("type", "index", "spec", mp("index", int64(1))),
							"find_keys", mp("type", "range", "spec", mp("lastkey", int64(0), "keystep", int64(1), "limit", int64(0))))},
						[]any{}},
					nil,
					[]any{"client|id", int64(2), []any{"noscript", "loading", "stale"}, int64(0), int64(0), int64(0),
						[]any{"@slow", "@connection"}, []any{}, []any{}, []any{}},
					nil,
				}},
				{name: "command docs", args: a("COMMAND", "DOCS", "get", "nope"), isMap: true, want: []any{
					"get", mp(
						"summary", "Returns the string value of a key, loading it from the origin on a miss.",
						"since", "1.0.0",
						"group", "string",
						"complexity", "O(1)",
						"arguments", []any{mp("name", "key", "type", "key", "key_spec_index", int64(0))})}},
				{name: "command unknown subcommand", args: a("COMMAND", "FOO"), err: "ERR unknown subcommand 'FOO'. Try COMMAND HELP."},

				{name: "config get glob", args: a("CONFIG", "GET", "max*"), isMap: true,
					want: []any{"maxmemory", "0", "maxmemory-policy", "allkeys-lru"}},
				{name: "config get several", args: a("CONFIG", "GET", "SAVE", "appendonly", "save"), isMap: true,
					want: []any{"appendonly", "no", "save", ""}},
				{name: "config get none", args: a("CONFIG", "GET", "nope"), isMap: true, want: []any{}},
				{name: "config get bad pattern", args: a("CONFIG", "GET", "["), isMap: true, want: []any{}},
				{name: "config get arity", args: a("CONFIG", "GET"), err: "ERR wrong number of arguments for 'config|get' command"},
				{name: "config set current values", args: a("CONFIG", "SET", "save", "", "appendonly", "NO"), want: "OK"},
				{name: "config set other value", args: a("CONFIG", "SET", "maxmemory", "1"),
					err: "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - rcache cannot change it at run time"},
				{name: "config set unknown", args: a("CONFIG", "SET", "foo", "bar"), err: "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"},
				{name: "config set odd", args: a("CONFIG", "SET", "save", "", "appendonly"), err: "ERR wrong number of arguments for 'config|set' command"},

				{name: "flushall", args: a("FLUSHALL"), want: "OK"},
				{name: "dbsize empty", args: a("DBSIZE"), want: int64(0)},
				{name: "set one", args: a("SET", "x", "1"), want: "OK"},
				{name: "load one", args: a("GET", "scores:Sam"), want: "567"},
				{name: "dbsize counts every group", args: a("DBSIZE"), want: int64(2)},
				{name: "info keyspace", args: a("INFO", "keyspace"), want: "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n"},
				{name: "info unknown section", args: a("INFO", "nope"), want: ""},
				{name: "flushdb async", args: a("FLUSHDB", "async"), want: "OK"},
				{name: "dbsize after flushdb", args: a("DBSIZE"), want: int64(0)},
				{name: "flushall sync", args: a("FLUSHALL", "SYNC"), want: "OK"},
				{name: "flushall bad mode", args: a("FLUSHALL", "x"), err: "ERR syntax error"},
				{name: "flushall too many", args: a("FLUSHALL", "SYNC", "ASYNC"), err: "ERR syntax error"},
				{name: "dbsize arity", args: a("DBSIZE", "x"), err: "ERR wrong number of arguments for 'dbsize' command"},

				{name: "time", args: a("TIME"), check: func(_ int, got any) error {
					l, _ := got.([]any)
					if len(l) != 2 {
						return errors.New("want two elements")
					}
					return nil
				}},

				{name: "unknown command", args: a("FOO", "a", "b"), err: "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "},
				{name: "unknown command no args", args: a("foo"), err: "ERR unknown command 'foo', with args beginning with: "},
				{name: "quit", args: a("QUIT"), want: "OK"},
			})
		})
	}
}

// flatPairsOf returns a map, normalized: a flat array with its pairs in key
// order.
func flatPairsOf(kv ...any) []any {
	return flatPairs(kv).([]any)
}

func TestHandshake(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			ctx := context.Background()
			info, err := rdb.ClientInfo(ctx).Result()
			if err != nil {
				t.Fatalf("ClientInfo: %v", err)
			}
			if info.Name != "tester" || info.Resp != proto || !strings.HasPrefix(info.LibName, "go-redis") || info.LibVer != redis.Version() {
				t.Errorf("ClientInfo = name %q resp %d lib %q %q; want tester, %d, go-redis, %s",
					info.Name, info.Resp, info.LibName, info.LibVer, proto, redis.Version())
			}
			// A client configured for another database fails its handshake
			// with Redis's own error.
			db1 := newRedisClient(t, f.addr, proto, func(o *redis.Options) { o.DB = 1 })
			if err := db1.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "ERR DB index is out of range") {
				t.Errorf("with DB 1: PING error = %v, want ERR DB index is out of range", err)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config) { c.RequirePass = "s3cret" })
			ctx := context.Background()

			good := newRedisClient(t, f.addr, proto, func(o *redis.Options) { o.Password = "s3cret" })
			if got, err := good.Get(ctx, "scores:Tom").Result(); err != nil || got != "630" {
				t.Errorf("with password: GET = %q, %v; want 630", got, err)
			}
			user := newRedisClient(t, f.addr, proto, func(o *redis.Options) { o.Username, o.Password = "default", "s3cret" })
			if err := user.Ping(ctx).Err(); err != nil {
				t.Errorf("with user and password: PING = %v", err)
			}

			bad := newRedisClient(t, f.addr, proto, func(o *redis.Options) { o.Password = "wrong" })
			err := bad.Get(ctx, "scores:Tom").Err()
			if err == nil || !strings.Contains(err.Error(), "WRONGPASS invalid username-password pair or user is disabled.") {
				t.Errorf("with a wrong password: GET error = %v, want WRONGPASS", err)
			}

			none := newRedisClient(t, f.addr, proto, func(o *redis.Options) { o.ClientName = "" })
			if err := none.Get(ctx, "scores:Tom").Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
				t.Errorf("without a password: GET error = %v, want NOAUTH", err)
			}
		})
	}
}

func TestGoRedisAPI(t *testing.T) {
	for _, proto := range protocols {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rdb := newRedisClient(t, f.addr, proto, nil)
			ctx := context.Background()

			if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
				t.Errorf("Set with expiration: %v", err)
			}
			if err := rdb.Set(ctx, "k2", "v", 1500*time.Millisecond).Err(); err != nil {
				t.Errorf("Set with a millisecond expiration: %v", err)
			}
			vals, err := rdb.MGet(ctx, "k", "scores:Tom", "nope").Result()
			if want := []any{"v", "630", nil}; err != nil || !reflect.DeepEqual(vals, want) {
				t.Errorf("MGet = %#v, %v; want %#v", vals, err, want)
			}
			if n, err := rdb.Exists(ctx, "k", "k2", "nope").Result(); err != nil || n != 2 {
				t.Errorf("Exists = %d, %v; want 2", n, err)
			}
			if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 3 {
				t.Errorf("DBSize = %d, %v; want 3", n, err)
			}
			if n, err := rdb.IncrBy(ctx, "scores:Sam", 3).Result(); err != nil || n != 570 {
				t.Errorf("IncrBy = %d, %v; want 570", n, err)
			}

			info, err := rdb.Info(ctx).Result()
			for _, want := range []string{"# Server\r\nredis_version:7.2.0\r\nrcache_version:test\r\n", "flushall_scope:cluster\r\nflushdb_scope:node\r\ndbsize_scope:node\r\n",
				"\r\n# Clients\r\nconnected_clients:1\r\n", "\r\n# Memory\r\nused_memory:", "maxmemory_policy:allkeys-lru\r\n",
				"\r\n# Stats\r\ntotal_connections_received:1\r\n", "keyspace_hits:", "\r\n# Cluster\r\ncluster_enabled:0\r\ncluster_members:1\r\n",
				"\r\n# Keyspace\r\ndb0:keys=4,expires=0,avg_ttl=0\r\n", "\r\n# Group_default\r\n", "\r\n# Group_errs\r\n",
				"\r\n# Group_scores\r\n"} {
				if !strings.Contains(info, want) {
					t.Errorf("INFO lacks %q:\n%s", want, info)
				}
			}
			if err != nil {
				t.Errorf("Info: %v", err)
			}
			section, err := rdb.Info(ctx, "group_scores").Result()
			if want := "# Group_scores\r\ncache_bytes_limit:1048576\r\ngets:1\r\ncache_hits:0\r\nhot_hits:0\r\nloads:1\r\n"; err != nil || !strings.HasPrefix(section, want) {
				t.Errorf("INFO group_scores = %q, %v; want it to start with %q", section, err, want)
			}
			if want := "\r\nhandoff_hits:0\r\nhandoff_misses:0\r\nhandoff_fills:0\r\n"; !strings.Contains(section, want) {
				t.Errorf("INFO group_scores = %q; want the hand-off counters %q", section, want)
			}
			m, err := rdb.InfoMap(ctx, "stats").Result()
			if err != nil || m["Stats"]["keyspace_misses"] == "" {
				t.Errorf("InfoMap(stats) = %v, %v", m, err)
			}

			cfg, err := rdb.ConfigGet(ctx, "*").Result()
			want := map[string]string{"appendonly": "no", "databases": "1", "maxmemory": "0", "maxmemory-policy": "allkeys-lru", "save": ""}
			if err != nil || !reflect.DeepEqual(cfg, want) {
				t.Errorf("ConfigGet(*) = %v, %v; want %v", cfg, err, want)
			}
			cmds, err := rdb.Command(ctx).Result()
			if err != nil || cmds["get"] == nil || cmds["get"].Arity != 2 || cmds["mset"].StepCount != 2 || cmds["client"] == nil {
				t.Errorf("Command = %v, %v", cmds, err)
			}
			if tm, err := rdb.Time(ctx).Result(); err != nil || time.Since(tm).Abs() > time.Minute {
				t.Errorf("Time = %v, %v", tm, err)
			}
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Errorf("FlushAll: %v", err)
			}
		})
	}
}

func TestSetExpiry(t *testing.T) {
	f := newFixture(t, nil)
	rdb := newRedisClient(t, f.addr, 3, nil)
	ctx := context.Background()
	if err := rdb.Set(ctx, "t", "v", 100*time.Second).Err(); err != nil {
		t.Fatalf("SET EX: %v", err)
	}
	f.clock.Advance(99 * time.Second)
	if got, err := rdb.Get(ctx, "t").Result(); err != nil || got != "v" {
		t.Errorf("GET before expiry = %q, %v; want v", got, err)
	}
	f.clock.Advance(2 * time.Second)
	if err := rdb.Get(ctx, "t").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET after expiry = %v, want nil", err)
	}
}

func TestMembershipInInfo(t *testing.T) {
	tests := []struct {
		name    string
		cluster Membership
		want    string // %[1]s is the server's address
	}{
		{"single node", nil, "# Cluster\r\ncluster_enabled:0\r\ncluster_members:1\r\n" +
			"cluster_self:redis://%[1]s\r\ncluster_member0:redis://%[1]s\r\n"},
		{"three nodes", staticMembers{self: "http://10.0.0.2:8080", all: []string{"http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"}},
			"# Cluster\r\ncluster_enabled:0\r\ncluster_members:3\r\ncluster_self:http://10.0.0.2:8080\r\n" +
				"cluster_member0:http://10.0.0.1:8080\r\ncluster_member1:http://10.0.0.2:8080\r\ncluster_member2:http://10.0.0.3:8080\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Cluster = tt.cluster })
			rdb := newRedisClient(t, f.addr, 3, nil)
			want := strings.ReplaceAll(tt.want, "%[1]s", f.addr)
			for _, args := range [][]string{{"cluster"}, nil, {"all"}, {"everything"}} {
				got, err := rdb.Info(context.Background(), args...).Result()
				if err != nil || !strings.Contains(got, want) {
					t.Errorf("INFO %v = %q, %v; want it to contain %q", args, got, err, want)
				}
			}
		})
	}
}

// staticMembers is a fixed Membership.
type staticMembers struct {
	self string
	all  []string
}

func (m staticMembers) Self() string      { return m.self }
func (m staticMembers) Members() []string { return m.all }
