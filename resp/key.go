package resp

import (
	"strings"

	"github.com/rcache/rcache/engine/group"
)

// splitKey returns the group that holds the client key raw, and the key
// within it. raw is split at its first ':': when the part before names a
// group of reg other than def, the rest is the key in that group, and may
// itself hold colons ("scores:a:b" is "a:b" in scores). An empty rest
// ("scores:") is the empty key of scores, which the engine refuses. Any
// other key (no colon, a prefix that names no group, such as
// redis-benchmark's "key:000000001234", or def's own name) is the whole
// string in def.
//
// raw is copied: the key returned does not alias it.
func splitKey(reg *group.Registry, def *group.Group, raw []byte) (*group.Group, string) {
	key := string(raw)
	if i := strings.IndexByte(key, ':'); i > 0 {
		if g := reg.GetGroup(key[:i]); g != nil && g != def {
			return g, key[i+1:]
		}
	}
	return def, key
}
