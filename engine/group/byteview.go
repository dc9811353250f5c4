package group

import (
	"io"
	"strings"
)

// ByteView is an immutable view of a cached value. It is a value type, like
// time.Time: copy it freely. The cache owns the bytes; nothing a caller does
// with what ByteView returns can change them. Compare values with String,
// not ==: two views of equal bytes may differ in what they hold besides.
type ByteView struct {
	// s[k:] is the value. A view the cache made holds its key in s[:k] too,
	// so that storing it again under that key needs no copy: the cache keeps
	// each entry's key and value in one allocation.
	s string
	k int
}

// keyedView returns a view of a copy of b that carries key, in one
// allocation, ready to be cached under key without another copy.
func keyedView(key string, b []byte) ByteView {
	// Not key + string(b): past 32 bytes the compiler copies b into a
	// temporary string first, which for a SET of 4 KiB is a second copy
	// and a second allocation.
	var sb strings.Builder
	sb.Grow(len(key) + len(b))
	sb.WriteString(key)
	sb.Write(b)
	return ByteView{s: sb.String(), k: len(key)}
}

// joined returns key and v's value in one string, as the cache stores
// them: v's own when v carries key, a copy otherwise.
func (v ByteView) joined(key string) string {
	if v.k == len(key) && v.s[:v.k] == key {
		return v.s
	}
	return key + v.s[v.k:]
}

// NewByteView returns a ByteView holding a copy of b; the caller keeps
// ownership of b.
func NewByteView(b []byte) ByteView { return ByteView{s: string(b)} }

// StringView returns a ByteView of s. Strings are immutable, so no copy is
// made.
func StringView(s string) ByteView { return ByteView{s: s} }

// Len returns the length of the value in bytes.
func (v ByteView) Len() int { return len(v.s) - v.k }

// ByteSlice returns a copy of the value that the caller owns.
func (v ByteView) ByteSlice() []byte { return []byte(v.s[v.k:]) }

// String returns the value as a string, without copying.
func (v ByteView) String() string { return v.s[v.k:] }

// WriteTo writes the value to w.
func (v ByteView) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, v.s[v.k:])
	return int64(n), err
}
