package resp

import (
	"slices"
	"strings"
	"sync/atomic"
)

// command is one entry of the command table: how exec dispatches it and how
// COMMAND describes it.
type command struct {
	name  string // lower case; "client|id" for a subcommand
	arity int    // as in Redis: n means exactly n arguments, the name included; -n at least n
	flags cmdFlags
	run   func(h *handler, cl *client, args [][]byte) // nil for a container with no action of its own

	keys keySpec
	acl  []string // ACL categories, for COMMAND
	tips []string // Redis 7 command tips, for COMMAND
	doc  commandDoc

	subs    map[string]*command // a container's subcommands by name after '|'
	subList []*command          // the same, in name order

	// The command's stats, as Redis's INFO commandstats counts them.
	calls    atomic.Int64 // runs, failed ones included
	failed   atomic.Int64 // runs that replied with an error
	rejected atomic.Int64 // calls refused before running: wrong arity, or not authenticated
}

// arityOK reports whether n arguments, the name included, fit c.
func (c *command) arityOK(n int) bool {
	if c.arity >= 0 {
		return n == c.arity
	}
	return n >= -c.arity
}

// cmdFlags are a command's Redis flags, plus rcache's own.
type cmdFlags uint32

// The flags, in the order COMMAND lists them.
const (
	flagWrite cmdFlags = 1 << iota
	flagReadonly
	flagDenyOOM
	flagAdmin
	flagNoScript
	flagLoading
	flagStale
	flagFast
	flagNoAuth // runs before AUTH
	flagAllowBusy

	flagHidden // not listed by COMMAND: POST and Host:
)

// names returns the Redis names of f, in COMMAND's order.
func (f cmdFlags) names() []string {
	all := []string{"write", "readonly", "denyoom", "admin", "noscript", "loading", "stale", "fast", "no_auth", "allow_busy"}
	var names []string
	for i, n := range all {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// keySpec says which arguments are keys, as COMMAND reports them.
type keySpec struct {
	first, last, step int      // the first and last key positions (-1: the last argument) and the step between keys
	flags             []string // the Redis 7 key-spec flags; nil when the command has no keys
}

// commandDoc is what COMMAND DOCS reports of a command; redis-cli builds its
// hints and HELP from it.
type commandDoc struct {
	summary, since, group, complexity string
	args                              []argDoc
}

// argDoc describes an argument in COMMAND DOCS.
type argDoc struct {
	name  string
	typ   string // key, string, integer, unix-time, pure-token, oneof or block
	token string // the literal word before the argument, if any
	flags []string
	args  []argDoc // for oneof and block
}

// The constructors of argDocs, one per argument type.
func argKey(name string) argDoc      { return argDoc{name: name, typ: "key"} }
func argString(name string) argDoc   { return argDoc{name: name, typ: "string"} }
func argInteger(name string) argDoc  { return argDoc{name: name, typ: "integer"} }
func argUnixTime(name string) argDoc { return argDoc{name: name, typ: "unix-time"} }

func argToken(name, tok string) argDoc { return argDoc{name: name, typ: "pure-token", token: tok} }

func argOneOf(name string, args ...argDoc) argDoc {
	return argDoc{name: name, typ: "oneof", args: args}
}

func argBlock(name string, args ...argDoc) argDoc {
	return argDoc{name: name, typ: "block", args: args}
}

func (a argDoc) optional() argDoc {
	a.flags = append(a.flags[:len(a.flags):len(a.flags)], "optional")
	return a
}
func (a argDoc) multiple() argDoc {
	a.flags = append(a.flags[:len(a.flags):len(a.flags)], "multiple")
	return a
}
func (a argDoc) withToken(tok string) argDoc {
	a.token = tok
	return a
}

// allCommands returns every command of the table, subcommands and hidden
// ones included, in name order.
func allCommands(byName map[string]*command) []*command {
	var all []*command
	for _, c := range byName {
		all = append(all, c)
		all = append(all, c.subList...)
	}
	slices.SortFunc(all, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	return all
}

// commandTable returns the commands rcache knows, by lower-case name, and
// the ones COMMAND lists, in name order. Each call builds a new table.
func commandTable() (map[string]*command, []*command) {
	const connection = "connection"
	fastConn := []string{"@fast", "@connection"}
	slowConn := []string{"@slow", "@connection"}
	connFlags := flagNoScript | flagLoading | flagStale
	multiShardSum := []string{"request_policy:multi_shard", "response_policy:agg_sum"}
	allShards := []string{"request_policy:all_shards", "response_policy:all_succeeded"}
	rw := []string{"RW", "access", "update"}
	flushArgs := []argDoc{argOneOf("flush-type", argToken("async", "ASYNC"), argToken("sync", "SYNC")).optional()}
	// The expiry options of SET and GETEX, after which each adds its own.
	expiration := func(last argDoc) argDoc {
		return argOneOf("expiration", argInteger("seconds").withToken("EX"), argInteger("milliseconds").withToken("PX"),
			argUnixTime("unix-time-seconds").withToken("EXAT"), argUnixTime("unix-time-milliseconds").withToken("PXAT"),
			last).optional()
	}
	expireCond := argOneOf("condition", argToken("nx", "NX"), argToken("xx", "XX"), argToken("gt", "GT"), argToken("lt", "LT")).optional()
	expireFlags := flagWrite | flagFast
	expireACL := []string{"@keyspace", "@write", "@fast"}
	ttlFlags := flagReadonly | flagFast
	ttlACL := []string{"@keyspace", "@read", "@fast"}
	ttlKeys := keySpec{1, 1, 1, []string{"RO", "access"}}
	nondeterministic := []string{"nondeterministic_output"}

	cmds := []*command{
		// Data.
		{name: "get", arity: 2, flags: flagReadonly | flagFast, run: (*handler).get,
			keys: keySpec{1, 1, 1, []string{"RO", "access"}}, acl: []string{"@read", "@string", "@fast"},
			doc: commandDoc{"Returns the string value of a key, loading it from the origin on a miss.", "1.0.0", "string", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "mget", arity: -2, flags: flagReadonly | flagFast, run: (*handler).mget,
			keys: keySpec{1, -1, 1, []string{"RO", "access"}}, acl: []string{"@read", "@string", "@fast"},
			tips: []string{"request_policy:multi_shard"},
			doc: commandDoc{"Returns the string values of one or more keys; a key that has no value or fails to load is nil.", "1.0.0", "string",
				"O(N) where N is the number of keys to retrieve.", []argDoc{argKey("key").multiple()}}},
		{name: "set", arity: -3, flags: flagWrite | flagDenyOOM, run: (*handler).set,
			keys: keySpec{1, 1, 1, rw}, acl: []string{"@write", "@string", "@slow"},
			doc: commandDoc{"Sets the string value of a key at its owner, optionally with an expiry; NX, XX and GET see only what the owner holds in memory.",
				"1.0.0", "string", "O(1)",
				[]argDoc{argKey("key"), argString("value"),
					argOneOf("condition", argToken("nx", "NX"), argToken("xx", "XX")).optional(),
					argToken("get", "GET").optional(),
					expiration(argToken("keepttl", "KEEPTTL"))}}},
		{name: "getex", arity: -2, flags: flagWrite | flagFast, run: (*handler).getex,
			keys: keySpec{1, 1, 1, []string{"RW", "access", "update"}}, acl: []string{"@write", "@string", "@fast"},
			doc: commandDoc{"Returns the string value of a key, loading it from the origin on a miss, and sets or removes its expiry at its owner.",
				"6.2.0", "string", "O(1)", []argDoc{argKey("key"), expiration(argToken("persist", "PERSIST"))}}},
		{name: "getdel", arity: 2, flags: flagWrite | flagFast, run: (*handler).getdel,
			keys: keySpec{1, 1, 1, []string{"RW", "access", "delete"}}, acl: []string{"@write", "@string", "@fast"},
			doc: commandDoc{"Returns the string value of a key, loading it from the origin on a miss, and deletes it; the next GET loads it again.",
				"6.2.0", "string", "O(1)", []argDoc{argKey("key")}}},
		{name: "mset", arity: -3, flags: flagWrite | flagDenyOOM, run: (*handler).mset,
			keys: keySpec{1, -1, 2, []string{"OW", "update"}}, acl: []string{"@write", "@string", "@slow"},
			tips: []string{"request_policy:multi_shard", "response_policy:all_succeeded"},
			doc: commandDoc{"Sets the string values of one or more keys, one after the other.", "1.0.1", "string",
				"O(N) where N is the number of keys to set.", []argDoc{argBlock("data", argKey("key"), argString("value")).multiple()}}},
		{name: "del", arity: -2, flags: flagWrite, run: (*handler).del,
			keys: keySpec{1, -1, 1, []string{"RM", "delete"}}, acl: []string{"@keyspace", "@write", "@slow"}, tips: multiShardSum,
			doc: commandDoc{"Deletes one or more keys; the next GET loads them again from the origin.", "1.0.0", "generic",
				"O(N) where N is the number of keys that will be removed.", []argDoc{argKey("key").multiple()}}},
		{name: "unlink", arity: -2, flags: flagWrite | flagFast, run: (*handler).del,
			keys: keySpec{1, -1, 1, []string{"RM", "delete"}}, acl: []string{"@keyspace", "@write", "@fast"}, tips: multiShardSum,
			doc: commandDoc{"Deletes one or more keys, as DEL does.", "4.0.0", "generic",
				"O(1) for each key removed.", []argDoc{argKey("key").multiple()}}},
		{name: "exists", arity: -2, flags: flagReadonly | flagFast, run: (*handler).exists,
			keys: keySpec{1, -1, 1, []string{"RO"}}, acl: []string{"@keyspace", "@read", "@fast"}, tips: multiShardSum,
			doc: commandDoc{"Counts the keys that are cached, without loading any from the origin.", "1.0.0", "generic",
				"O(N) where N is the number of keys to check.", []argDoc{argKey("key").multiple()}}},
		{name: "expire", arity: -3, flags: expireFlags, run: (*handler).expire,
			keys: keySpec{1, 1, 1, []string{"RW", "update"}}, acl: expireACL,
			doc: commandDoc{"Sets the expiration time of a key in seconds, if its owner holds it; a time not in the future deletes it.", "1.0.0", "generic", "O(1)",
				[]argDoc{argKey("key"), argInteger("seconds"), expireCond}}},
		{name: "pexpire", arity: -3, flags: expireFlags, run: (*handler).pexpire,
			keys: keySpec{1, 1, 1, []string{"RW", "update"}}, acl: expireACL,
			doc: commandDoc{"Sets the expiration time of a key in milliseconds, if its owner holds it; a time not in the future deletes it.", "2.6.0", "generic", "O(1)",
				[]argDoc{argKey("key"), argInteger("milliseconds"), expireCond}}},
		{name: "expireat", arity: -3, flags: expireFlags, run: (*handler).expireat,
			keys: keySpec{1, 1, 1, []string{"RW", "update"}}, acl: expireACL,
			doc: commandDoc{"Sets the expiration time of a key to a Unix timestamp, if its owner holds it; a time not in the future deletes it.", "1.2.0", "generic", "O(1)",
				[]argDoc{argKey("key"), argUnixTime("unix-time-seconds"), expireCond}}},
		{name: "pexpireat", arity: -3, flags: expireFlags, run: (*handler).pexpireat,
			keys: keySpec{1, 1, 1, []string{"RW", "update"}}, acl: expireACL,
			doc: commandDoc{"Sets the expiration time of a key to a Unix milliseconds timestamp, if its owner holds it; a time not in the future deletes it.", "2.6.0", "generic", "O(1)",
				[]argDoc{argKey("key"), argUnixTime("unix-time-milliseconds"), expireCond}}},
		{name: "persist", arity: 2, flags: expireFlags, run: (*handler).persist,
			keys: keySpec{1, 1, 1, []string{"RW", "update"}}, acl: expireACL,
			doc: commandDoc{"Removes the expiration time of a key its owner holds.", "2.2.0", "generic", "O(1)", []argDoc{argKey("key")}}},
		{name: "ttl", arity: 2, flags: ttlFlags, run: (*handler).ttl, keys: ttlKeys, acl: ttlACL, tips: nondeterministic,
			doc: commandDoc{"Returns the expiration time in seconds of a key: -2 if its owner does not hold it (the origin is not asked), -1 if it never expires.", "1.0.0", "generic", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "pttl", arity: 2, flags: ttlFlags, run: (*handler).pttl, keys: ttlKeys, acl: ttlACL, tips: nondeterministic,
			doc: commandDoc{"Returns the expiration time in milliseconds of a key: -2 if its owner does not hold it (the origin is not asked), -1 if it never expires.", "2.6.0", "generic", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "expiretime", arity: 2, flags: ttlFlags, run: (*handler).expiretime, keys: ttlKeys, acl: ttlACL,
			doc: commandDoc{"Returns the expiration time of a key as a Unix timestamp: -2 if its owner does not hold it, -1 if it never expires.", "7.0.0", "generic", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "pexpiretime", arity: 2, flags: ttlFlags, run: (*handler).pexpiretime, keys: ttlKeys, acl: ttlACL,
			doc: commandDoc{"Returns the expiration time of a key as a Unix milliseconds timestamp: -2 if its owner does not hold it, -1 if it never expires.", "7.0.0", "generic", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "strlen", arity: 2, flags: flagReadonly | flagFast, run: (*handler).strlen,
			keys: keySpec{1, 1, 1, []string{"RO"}}, acl: []string{"@read", "@string", "@fast"},
			doc: commandDoc{"Returns the length of a string value.", "2.2.0", "string", "O(1)", []argDoc{argKey("key")}}},
		{name: "incr", arity: 2, flags: flagWrite | flagDenyOOM | flagFast, run: (*handler).incr,
			keys: keySpec{1, 1, 1, rw}, acl: []string{"@write", "@string", "@fast"},
			doc: commandDoc{"Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "string", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "incrby", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, run: (*handler).incrby,
			keys: keySpec{1, 1, 1, rw}, acl: []string{"@write", "@string", "@fast"},
			doc: commandDoc{"Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "string", "O(1)",
				[]argDoc{argKey("key"), argInteger("increment")}}},
		{name: "decr", arity: 2, flags: flagWrite | flagDenyOOM | flagFast, run: (*handler).decr,
			keys: keySpec{1, 1, 1, rw}, acl: []string{"@write", "@string", "@fast"},
			doc: commandDoc{"Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "string", "O(1)",
				[]argDoc{argKey("key")}}},
		{name: "decrby", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, run: (*handler).decrby,
			keys: keySpec{1, 1, 1, rw}, acl: []string{"@write", "@string", "@fast"},
			doc: commandDoc{"Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "string", "O(1)",
				[]argDoc{argKey("key"), argInteger("decrement")}}},

		// Connection.
		{name: "ping", arity: -1, flags: flagFast, run: (*handler).ping, acl: fastConn, tips: allShards,
			doc: commandDoc{"Returns the server's liveliness response.", "1.0.0", connection, "O(1)", []argDoc{argString("message").optional()}}},
		{name: "echo", arity: 2, flags: flagFast, run: (*handler).echo, acl: fastConn,
			doc: commandDoc{"Returns the given string.", "1.0.0", connection, "O(1)", []argDoc{argString("message")}}},
		{name: "quit", arity: -1, flags: connFlags | flagFast | flagNoAuth | flagAllowBusy, run: (*handler).quit, acl: fastConn,
			doc: commandDoc{"Closes the connection.", "1.0.0", connection, "O(1)", nil}},
		{name: "select", arity: 2, flags: flagLoading | flagStale | flagFast, run: (*handler).selectDB, acl: fastConn,
			doc: commandDoc{"Changes the selected database; rcache has only database 0.", "1.0.0", connection, "O(1)", []argDoc{argInteger("index")}}},
		{name: "auth", arity: -2, flags: connFlags | flagFast | flagNoAuth | flagAllowBusy, run: (*handler).auth, acl: fastConn,
			doc: commandDoc{"Authenticates the connection.", "1.0.0", connection, "O(N) where N is the number of passwords defined for the user",
				[]argDoc{argString("username").optional(), argString("password")}}},
		{name: "hello", arity: -1, flags: connFlags | flagFast | flagNoAuth | flagAllowBusy, run: (*handler).hello, acl: fastConn,
			doc: commandDoc{"Handshakes with the server: chooses the protocol version, optionally authenticates and names the connection.", "6.0.0", connection, "O(1)",
				[]argDoc{argBlock("arguments", argInteger("protover"),
					argBlock("username-password", argString("username"), argString("password")).withToken("AUTH").optional(),
					argString("clientname").withToken("SETNAME").optional()).optional()}}},
		{name: "client", arity: -2, acl: []string{"@slow"},
			doc: commandDoc{"A container for client connection commands.", "2.4.0", connection, "Depends on subcommand.", nil},
			subList: []*command{
				{name: "client|getname", arity: 2, flags: connFlags, run: (*handler).clientGetName, acl: slowConn,
					doc: commandDoc{"Returns the name of the connection.", "2.6.9", connection, "O(1)", nil}},
				{name: "client|help", arity: 2, flags: flagLoading | flagStale, run: (*handler).clientHelp, acl: slowConn,
					doc: commandDoc{"Returns helpful text about the different subcommands.", "5.0.0", connection, "O(1)", nil}},
				{name: "client|id", arity: 2, flags: connFlags, run: (*handler).clientID, acl: slowConn,
					doc: commandDoc{"Returns the unique client ID of the connection.", "5.0.0", connection, "O(1)", nil}},
				{name: "client|info", arity: 2, flags: connFlags, run: (*handler).clientInfo, acl: slowConn,
					tips: []string{"nondeterministic_output"},
					doc:  commandDoc{"Returns information about the connection.", "6.2.0", connection, "O(1)", nil}},
				{name: "client|list", arity: -2, flags: flagAdmin | connFlags, run: (*handler).clientList,
					acl: []string{"@admin", "@slow", "@dangerous", "@connection"}, tips: []string{"nondeterministic_output"},
					doc: commandDoc{"Lists the connection itself: rcache shows no other client.", "2.4.0", connection, "O(1)",
						[]argDoc{argOneOf("client-type", argToken("normal", "NORMAL"), argToken("master", "MASTER"),
							argToken("replica", "REPLICA"), argToken("pubsub", "PUBSUB")).withToken("TYPE").optional(),
							argBlock("id", argInteger("client-id").multiple()).withToken("ID").optional()}}},
				{name: "client|setinfo", arity: 4, flags: connFlags, run: (*handler).clientSetInfo, acl: slowConn,
					doc: commandDoc{"Sets information specific to the client or connection.", "7.2.0", connection, "O(1)",
						[]argDoc{argOneOf("attr", argString("libname").withToken("LIB-NAME"), argString("libver").withToken("LIB-VER"))}}},
				{name: "client|setname", arity: 3, flags: connFlags, run: (*handler).clientSetName, acl: slowConn,
					doc: commandDoc{"Sets the connection name.", "2.6.9", connection, "O(1)", []argDoc{argString("connection-name")}}},
			}},

		// Server.
		{name: "command", arity: -1, flags: flagLoading | flagStale, run: (*handler).commandAll, acl: slowConn,
			tips: []string{"nondeterministic_output_order"},
			doc: commandDoc{"Returns detailed information about all commands.", "2.8.13", "server",
				"O(N) where N is the total number of Redis commands", nil},
			subList: []*command{
				{name: "command|count", arity: 2, flags: flagLoading | flagStale, run: (*handler).commandCount, acl: slowConn,
					doc: commandDoc{"Returns a count of commands.", "2.8.13", "server", "O(1)", nil}},
				{name: "command|docs", arity: -2, flags: flagLoading | flagStale, run: (*handler).commandDocs, acl: slowConn,
					tips: []string{"nondeterministic_output_order"},
					doc: commandDoc{"Returns documentary information about one, multiple or all commands.", "7.0.0", "server",
						"O(N) where N is the number of commands to look up", []argDoc{argString("command-name").optional().multiple()}}},
				{name: "command|help", arity: 2, flags: flagLoading | flagStale, run: (*handler).commandHelp, acl: slowConn,
					doc: commandDoc{"Returns helpful text about the different subcommands.", "5.0.0", "server", "O(1)", nil}},
				{name: "command|info", arity: -2, flags: flagLoading | flagStale, run: (*handler).commandInfo, acl: slowConn,
					tips: []string{"nondeterministic_output_order"},
					doc: commandDoc{"Returns information about one, multiple or all commands.", "2.8.13", "server",
						"O(N) where N is the number of commands to look up", []argDoc{argString("command-name").optional().multiple()}}},
				{name: "command|list", arity: 2, flags: flagLoading | flagStale, run: (*handler).commandList, acl: slowConn,
					tips: []string{"nondeterministic_output_order"},
					doc:  commandDoc{"Returns a list of command names.", "7.0.0", "server", "O(N) where N is the total number of Redis commands", nil}},
			}},
		{name: "config", arity: -2, acl: []string{"@slow"},
			doc: commandDoc{"A container for server configuration commands.", "2.0.0", "server", "Depends on subcommand.", nil},
			subList: []*command{
				{name: "config|get", arity: -3, flags: flagAdmin | connFlags, run: (*handler).configGet,
					acl: []string{"@admin", "@slow", "@dangerous"},
					doc: commandDoc{"Returns the effective values of configuration parameters.", "2.0.0", "server",
						"O(N) when N is the number of configuration parameters provided", []argDoc{argString("parameter").multiple()}}},
				{name: "config|help", arity: 2, flags: flagLoading | flagStale, run: (*handler).configHelp, acl: []string{"@slow"},
					doc: commandDoc{"Returns helpful text about the different subcommands.", "5.0.0", "server", "O(1)", nil}},
				{name: "config|set", arity: -4, flags: flagAdmin | connFlags, run: (*handler).configSet,
					acl: []string{"@admin", "@slow", "@dangerous"},
					doc: commandDoc{"Accepts a configuration parameter set to its current value; rcache changes none at run time.", "2.0.0", "server",
						"O(N) when N is the number of configuration parameters provided",
						[]argDoc{argBlock("data", argString("parameter"), argString("value")).multiple()}}},
			}},
		{name: "info", arity: -1, flags: flagLoading | flagStale, run: (*handler).info, acl: []string{"@slow", "@dangerous"},
			tips: []string{"nondeterministic_output"},
			doc: commandDoc{"Returns information and statistics about the server, and a section per group.", "1.0.0", "server", "O(1)",
				[]argDoc{argString("section").optional().multiple()}}},
		{name: "dbsize", arity: 1, flags: flagReadonly | flagFast, run: (*handler).dbsize, acl: []string{"@keyspace", "@read", "@fast"},
			doc: commandDoc{"Returns the number of keys this node holds.", "1.0.0", "server", "O(1)", nil}},
		{name: "flushall", arity: -1, flags: flagWrite, run: (*handler).flushall,
			acl: []string{"@keyspace", "@write", "@slow", "@dangerous"},
			doc: commandDoc{"Removes all keys of every group from every node of the cluster; a node that cannot be reached keeps its copies until they expire, and the reply says so.",
				"1.0.0", "server", "O(G+N) where G is the number of groups and N the number of nodes", flushArgs}},
		{name: "flushdb", arity: -1, flags: flagWrite, run: (*handler).flushdb,
			acl: []string{"@keyspace", "@write", "@slow", "@dangerous"},
			doc: commandDoc{"Removes all keys this node holds, in every group; the other nodes keep theirs (FLUSHALL reaches them all).",
				"1.0.0", "server", "O(G) where G is the number of groups", flushArgs}},
		{name: "rcache.flush", arity: -2, flags: flagWrite, run: (*handler).rcacheFlush,
			acl: []string{"@keyspace", "@write", "@slow", "@dangerous"},
			doc: commandDoc{"Removes all keys of one group from every node of the cluster, or from this node only with LOCAL.",
				"0.1.0", "server", "O(N) where N is the number of nodes; O(1) with LOCAL",
				[]argDoc{argString("group"), argToken("local", "LOCAL").optional()}}},
		{name: "time", arity: 1, flags: flagLoading | flagStale | flagFast, run: (*handler).serverTime, acl: []string{"@fast"},
			tips: []string{"nondeterministic_output"},
			doc:  commandDoc{"Returns the server time.", "2.6.0", "server", "O(1)", nil}},

		// An HTTP request's first lines: close the connection (securityWarning).
		{name: "post", arity: -1, flags: flagNoAuth | flagHidden, run: (*handler).securityWarning},
		{name: "host:", arity: -1, flags: flagNoAuth | flagHidden, run: (*handler).securityWarning},
	}

	byName := make(map[string]*command, len(cmds))
	var list []*command
	for _, c := range cmds {
		byName[c.name] = c
		if c.flags&flagHidden == 0 {
			list = append(list, c)
		}
		if c.subList != nil {
			c.subs = make(map[string]*command, len(c.subList))
			for _, sub := range c.subList {
				c.subs[strings.TrimPrefix(sub.name, c.name+"|")] = sub
			}
		}
	}
	slices.SortFunc(list, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	return byName, list
}
