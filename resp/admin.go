package resp

import (
	"bytes"
	"errors"
	"path"
	"strconv"
	"strings"
	"sync"
)

// The server commands. DBSIZE and FLUSHDB see only this node's entries, and
// so does RCACHE.FLUSH with LOCAL; FLUSHALL and RCACHE.FLUSH without it
// reach every node of the cluster.

// dbsize: DBSIZE. The number of entries this node holds, in every group,
// hot copies of other nodes' keys included.
func (h *handler) dbsize(cl *client, args [][]byte) {
	var n int64
	for _, g := range h.cfg.Registry.Groups() {
		n += g.Len()
	}
	cl.w.Int(n)
}

// flushModeOK reports whether args, FLUSHALL's or FLUSHDB's, are valid: at
// most ASYNC or SYNC. Either way the flush is O(1) per group and node.
func flushModeOK(args [][]byte) bool {
	return len(args) == 1 || (len(args) == 2 && (equalFold(args[1], "async") || equalFold(args[1], "sync")))
}

// flushall: FLUSHALL [ASYNC|SYNC]. It drops every value of every group on
// every node of the cluster, the groups in parallel. A node that cannot be
// reached keeps its copies until they expire; the reply then says how many
// groups it missed.
func (h *handler) flushall(cl *client, args [][]byte) {
	if !flushModeOK(args) {
		cl.w.Error(string(errSyntax))
		return
	}
	groups := h.cfg.Registry.Groups()
	ctx := h.commandContext(cl)
	defer ctx.end()
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { errs[i] = g.FlushAll(ctx) })
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		err := &flushError{failed: failed, total: len(groups), err: errors.Join(errs...)}
		h.cfg.Logger.Warn("flushall incomplete", "client", cl.id, "err", err)
		h.fail(ctx, cl, err)
		return
	}
	cl.w.Simple("OK")
}

// flushdb: FLUSHDB [ASYNC|SYNC]. It drops every value this node holds, in
// every group; the other nodes keep theirs.
func (h *handler) flushdb(cl *client, args [][]byte) {
	if !flushModeOK(args) {
		cl.w.Error(string(errSyntax))
		return
	}
	for _, g := range h.cfg.Registry.Groups() {
		g.Flush()
	}
	cl.w.Simple("OK")
}

// rcacheFlush: RCACHE.FLUSH group [LOCAL]. It drops every value of one
// group on every node of the cluster, as FLUSHALL does for all of them, or
// with LOCAL on this node only, as FLUSHDB does. group is a group's name as
// configured, in the same case.
func (h *handler) rcacheFlush(cl *client, args [][]byte) {
	local := len(args) == 3 && equalFold(args[2], "local")
	if len(args) > 2 && !local {
		cl.w.Error(string(errSyntax))
		return
	}
	g := h.cfg.Registry.GetGroup(string(args[1]))
	if g == nil {
		cl.w.Error(string(unknownGroup(args[1])))
		return
	}
	if local {
		g.Flush()
		cl.w.Simple("OK")
		return
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	if err := g.FlushAll(ctx); err != nil {
		ferr := &flushError{group: g.Name(), failed: 1, total: 1, err: err}
		h.cfg.Logger.Warn("flush incomplete", "client", cl.id, "group", g.Name(), "err", err)
		h.fail(ctx, cl, ferr)
		return
	}
	cl.w.Simple("OK")
}

// serverTime: TIME. The Unix time in seconds, then the microseconds.
func (h *handler) serverTime(cl *client, args [][]byte) {
	now := h.now()
	cl.w.Array(2)
	cl.w.BulkString(strconv.FormatInt(now.Unix(), 10))
	cl.w.BulkString(strconv.Itoa(now.Nanosecond() / 1000))
}

// configParams returns the parameters CONFIG GET reports, in name order,
// each with its value: what a Redis client or tool checks, answered so that
// it knows there is no persistence and one database.
func (h *handler) configParams() [][2]string {
	return [][2]string{
		{"appendonly", "no"},
		{"databases", "1"},
		{"maxmemory", strconv.FormatInt(h.maxMemory(), 10)},
		{"maxmemory-policy", "allkeys-lru"},
		{"save", ""},
	}
}

// maxMemory returns the sum of the groups' budgets, or 0 (no limit) when
// one of them has none.
func (h *handler) maxMemory() int64 {
	var sum int64
	for _, g := range h.cfg.Registry.Groups() {
		b := g.Config().CacheBytes
		if b == 0 {
			return 0
		}
		sum += b
	}
	return sum
}

// configGet: CONFIG GET parameter [parameter ...]. Each parameter is a glob
// pattern, matched without regard to case.
func (h *handler) configGet(cl *client, args [][]byte) {
	params := h.configParams()
	matched := make([]bool, len(params))
	n := 0
	for _, arg := range args[2:] {
		pattern := strings.ToLower(string(arg))
		for i, p := range params {
			if ok, _ := path.Match(pattern, p[0]); ok && !matched[i] {
				matched[i] = true
				n++
			}
		}
	}
	cl.w.Map(n)
	for i, p := range params {
		if matched[i] {
			cl.w.BulkString(p[0])
			cl.w.BulkString(p[1])
		}
	}
}

// configSet: CONFIG SET parameter value [parameter value ...]. Nothing can
// change at run time: setting a parameter CONFIG GET reports to its current
// value is accepted (tools do that), anything else refused.
func (h *handler) configSet(cl *client, args [][]byte) {
	if len(args)%2 != 0 {
		cl.w.Error(wrongArity("config|set"))
		return
	}
	params := h.configParams()
next:
	for i := 2; i < len(args); i += 2 {
		name, value := args[i], args[i+1]
		for _, p := range params {
			if !equalFold(name, p[0]) {
				continue
			}
			if !bytes.EqualFold(value, []byte(p[1])) {
				cl.w.Error("ERR CONFIG SET failed (possibly related to argument '" + p[0] + "') - rcache cannot change it at run time")
				return
			}
			continue next
		}
		cl.w.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(cString(name, len(name))) + "'")
		return
	}
	cl.w.Simple("OK")
}

// configHelp: CONFIG HELP
func (h *handler) configHelp(cl *client, args [][]byte) {
	writeHelp(&cl.w, "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Accepted only when <value> is the directive's current value.",
		"HELP",
		"    Prints this help.",
	)
}
