package resp

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// redisVersion is the Redis version rcache answers as, in INFO's
// redis_version and HELLO's version: clients decide from it which commands
// and replies to expect.
const redisVersion = "7.2.0"

// info: INFO [section [section ...]]. Sections are server, clients, memory,
// stats, cluster, keyspace, commandstats, one "group_<name>" per group and
// "groups" for all of them; "all" and "everything" select every section,
// "default" (or no argument) every one but commandstats, as in Redis, and
// a name that matches none is ignored. The text is a
// bulk string in RESP2 and a verbatim string in RESP3.
func (h *handler) info(cl *client, args [][]byte) {
	defaults := len(args) == 1
	all := false
	want := make(map[string]bool, len(args))
	for _, a := range args[1:] {
		s := strings.ToLower(string(a))
		switch s {
		case "all", "everything":
			all = true
		case "default":
			defaults = true
		}
		want[s] = true
	}
	selected := func(name string) bool { return all || defaults || want[name] }

	groups := h.cfg.Registry.Groups()
	var b []byte
	section := func(title string) {
		if len(b) > 0 {
			b = append(b, "\r\n"...)
		}
		b = append(b, "# "...)
		b = append(b, title...)
		b = append(b, "\r\n"...)
	}
	if selected("server") {
		section("Server")
		b = h.appendServerInfo(b)
	}
	if selected("clients") {
		section("Clients")
		b = appendField(b, "connected_clients", h.connected.Load())
		b = appendField(b, "maxclients", h.cfg.MaxClients)
	}
	if selected("memory") {
		section("Memory")
		b = h.appendMemoryInfo(b)
	}
	if selected("stats") {
		section("Stats")
		b = h.appendStatsInfo(b, groups)
	}
	if all || want["commandstats"] {
		section("Commandstats")
		b = h.appendCommandStats(b)
	}
	if selected("cluster") {
		section("Cluster")
		b = h.appendClusterInfo(b)
	}
	if selected("keyspace") {
		section("Keyspace")
		var keys int64
		for _, g := range groups {
			keys += g.Len()
		}
		b = fmt.Appendf(b, "db0:keys=%d,expires=0,avg_ttl=0\r\n", keys)
	}
	for _, g := range groups {
		if selected("groups") || selected("group_"+strings.ToLower(g.Name())) {
			section("Group_" + g.Name())
			b = appendGroupInfo(b, g)
		}
	}
	cl.w.Verbatim("txt", b)
}

func (h *handler) appendServerInfo(b []byte) []byte {
	now := h.now()
	uptime := int64(now.Sub(h.started) / time.Second)
	b = appendString(b, "redis_version", redisVersion)
	b = appendString(b, "rcache_version", h.cfg.Version)
	b = appendString(b, "redis_mode", "standalone")
	b = appendString(b, "os", runtime.GOOS+" "+runtime.GOARCH)
	b = appendField(b, "arch_bits", strconv.IntSize)
	b = appendString(b, "go_version", runtime.Version())
	b = appendField(b, "process_id", os.Getpid())
	b = appendField(b, "tcp_port", h.port.Load())
	b = appendField(b, "server_time_usec", now.UnixMicro())
	b = appendField(b, "uptime_in_seconds", uptime)
	b = appendField(b, "uptime_in_days", uptime/86400)
	// What the key-counting and flushing commands reach: FLUSHALL every
	// node of the cluster; FLUSHDB and DBSIZE this node's entries only.
	b = appendString(b, "flushall_scope", "cluster")
	b = appendString(b, "flushdb_scope", "node")
	return appendString(b, "dbsize_scope", "node")
}

func (h *handler) appendMemoryInfo(b []byte) []byte {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(samples)
	var used uint64
	if samples[0].Value.Kind() == metrics.KindUint64 {
		used = samples[0].Value.Uint64()
	}
	maxMem := h.maxMemory()
	b = appendField(b, "used_memory", used)
	b = appendString(b, "used_memory_human", humanBytes(int64(used)))
	if rss, ok := residentBytes(); ok {
		b = appendField(b, "used_memory_rss", rss)
		b = appendString(b, "used_memory_rss_human", humanBytes(rss))
	}
	b = appendField(b, "maxmemory", maxMem)
	b = appendString(b, "maxmemory_human", humanBytes(maxMem))
	return appendString(b, "maxmemory_policy", "allkeys-lru")
}

// residentBytes returns the process's resident set size, from Linux's
// /proc/self/statm, or false where that is not available.
func residentBytes() (int64, bool) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	fields := bytes.Fields(data)
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// humanBytes formats n bytes as Redis's INFO does: "1023B", "1.00K",
// "2.50M".
func humanBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + units[i:i+1]
}

func (h *handler) appendStatsInfo(b []byte, groups []*group.Group) []byte {
	var hits, misses, evicted int64
	for _, g := range groups {
		hits += g.Stats.CacheHits.Load()
		misses += g.Stats.Loads.Load()
		evicted += g.CacheStats(group.MainCache).Evictions + g.CacheStats(group.HotCache).Evictions
	}
	b = appendField(b, "total_connections_received", h.received.Load())
	b = appendField(b, "total_commands_processed", h.commandsProcessed())
	b = appendField(b, "rejected_connections", h.rejectedMax.Load()+h.rejectedProtected.Load())
	b = appendField(b, "keyspace_hits", hits)
	b = appendField(b, "keyspace_misses", misses)
	// The caches count a value dropped for room and one reclaimed after
	// its expiry alike, so there is no expired_keys apart: evicted_keys
	// counts both.
	b = appendField(b, "evicted_keys", evicted)
	b = appendField(b, "total_error_replies", h.errorReplies.Load())
	b = appendField(b, "acl_access_denied_auth", h.authFailures.Load())
	return appendField(b, "client_output_buffer_limit_disconnections", h.outputLimitCloses.Load())
}

// appendClusterInfo describes rcache's cluster: the members of this node's
// ring (Config.Cluster), one line each, in the order Members gives them.
// Without a Cluster the node is alone, and its one member is itself, named
// by the address it serves RESP on as "redis://host:port".
//
// cluster_enabled is 0 because rcache is not a Redis Cluster: its nodes
// do not speak the cluster bus, own no hash slots and answer no CLUSTER
// command, and they never redirect with MOVED or ASK. Any node answers any
// key, asking the key's owner itself. A client told cluster_enabled:1
// would send CLUSTER SLOTS and fail, so clients must use a node as a
// standalone server (or a pool of them).
func (h *handler) appendClusterInfo(b []byte) []byte {
	b = appendField(b, "cluster_enabled", 0)
	var self string
	var members []string
	if h.cfg.Cluster == nil {
		if a := h.addr.Load(); a != nil {
			self = "redis://" + *a
			members = []string{self}
		}
		b = appendField(b, "cluster_members", 1)
	} else {
		self = h.cfg.Cluster.Self()
		members = h.cfg.Cluster.Members()
		b = appendField(b, "cluster_members", len(members))
	}
	if self != "" {
		b = appendString(b, "cluster_self", self)
	}
	for i, m := range members {
		b = appendString(b, "cluster_member"+strconv.Itoa(i), m)
	}
	return b
}

// appendGroupInfo appends a group's counters (see group.Stats) and the
// state of its two caches.
func appendGroupInfo(b []byte, g *group.Group) []byte {
	s := &g.Stats
	b = appendField(b, "cache_bytes_limit", g.Config().CacheBytes)
	b = appendField(b, "gets", s.Gets.Load())
	b = appendField(b, "cache_hits", s.CacheHits.Load())
	b = appendField(b, "hot_hits", s.HotHits.Load())
	b = appendField(b, "loads", s.Loads.Load())
	b = appendField(b, "loads_deduped", s.LoadsDeduped.Load())
	b = appendField(b, "peer_loads", s.PeerLoads.Load())
	b = appendField(b, "peer_errors", s.PeerErrors.Load())
	b = appendField(b, "local_loads", s.LocalLoads.Load())
	b = appendField(b, "local_not_found", s.LocalNotFound.Load())
	b = appendField(b, "local_load_errors", s.LocalLoadErrs.Load())
	b = appendField(b, "negative_hits", s.NegativeHits.Load())
	b = appendField(b, "stale_serves", s.StaleServes.Load())
	b = appendField(b, "server_requests", s.ServerRequests.Load())
	b = appendField(b, "writes", s.Writes.Load())
	b = appendField(b, "invalidation_errors", s.Invalidations.Load())
	b = appendField(b, "handoff_hits", s.HandoffHits.Load())
	b = appendField(b, "handoff_misses", s.HandoffMisses.Load())
	b = appendField(b, "handoff_fills", s.HandoffFills.Load())
	for _, c := range []struct {
		prefix string
		which  group.CacheType
	}{{"main", group.MainCache}, {"hot", group.HotCache}} {
		cs := g.CacheStats(c.which)
		b = appendField(b, c.prefix+"_bytes", cs.Bytes)
		b = appendField(b, c.prefix+"_items", cs.Items)
		b = appendField(b, c.prefix+"_gets", cs.Gets)
		b = appendField(b, c.prefix+"_hits", cs.Hits)
		b = appendField(b, c.prefix+"_evictions", cs.Evictions)
	}
	return b
}

// appendField appends the INFO line "name:value".
func appendField[T int | int64 | uint64](b []byte, name string, value T) []byte {
	b = append(b, name...)
	b = append(b, ':')
	b = fmt.Append(b, value)
	return append(b, "\r\n"...)
}

// appendString appends the INFO line "name:value".
func appendString(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ':')
	b = append(b, value...)
	return append(b, "\r\n"...)
}
