package resp

import (
	"bytes"
	"unsafe"

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
// raw is copied, into a: the key returned does not alias it.
func splitKey(reg *group.Registry, def *group.Group, raw []byte, a *keyArena) (*group.Group, string) {
	g, key := splitKeyBytes(reg, def, raw)
	return g, a.copy(key)
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

// keyArena hands out copies of keys carved from blocks of keyBlockSize
// bytes, so that a command that must keep its key (a SET, a DEL: the
// engine, a peer's request or a load may hold it after the command) costs
// no allocation of its own for it. Bytes once handed out are never written
// again; a block lives as long as any key carved from it. A connection has
// one, and uses it from its own goroutine only.
type keyArena struct {
	block []byte // the rest of the current block, empty when none
}

// keyBlockSize is the size of an arena's blocks; a key longer than an
// eighth of it is copied on its own, so a block wastes little at its end.
const keyBlockSize = 1 << 10

// copy returns a string with the bytes of b, which it does not alias.
func (a *keyArena) copy(b []byte) string {
	if len(b) == 0 || len(b) > keyBlockSize/8 {
		return string(b)
	}
	if len(a.block) < len(b) {
		a.block = make([]byte, keyBlockSize)
	}
	n := copy(a.block, b)
	s := unsafe.String(&a.block[0], n)
	a.block = a.block[n:]
	return s
}
