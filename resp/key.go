package resp

import (
	"bytes"

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
	g, key := splitKeyBytes(reg, def, raw)
	return g, string(key)
}

// splitKeyBytes is splitKey without the copy: the key it returns aliases
// raw. The hot path uses it to look a key up without allocating.
func splitKeyBytes(reg *group.Registry, def *group.Group, raw []byte) (*group.Group, []byte) {
	if i := bytes.IndexByte(raw, ':'); i > 0 {
		if g := reg.GetGroup(string(raw[:i])); g != nil && g != def {
			return g, raw[i+1:]
		}
	}
	return def, raw
}
