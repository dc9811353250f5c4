package group

import "io"

// ByteView is an immutable view of a cached value. It is a value type, like
// time.Time: copy it freely. The cache owns the bytes; nothing a caller does
// with what ByteView returns can change them. A view of a cached value
// points into the cache's pages without a copy: those bytes are never
// written again, and the view keeps them alive after the cache drops them.
type ByteView struct {
	s string
}

// NewByteView returns a ByteView holding a copy of b; the caller keeps
// ownership of b.
func NewByteView(b []byte) ByteView { return ByteView{s: string(b)} }

// StringView returns a ByteView of s. Strings are immutable, so no copy is
// made.
func StringView(s string) ByteView { return ByteView{s: s} }

// Len returns the length of the value in bytes.
func (v ByteView) Len() int { return len(v.s) }

// ByteSlice returns a copy of the value that the caller owns.
func (v ByteView) ByteSlice() []byte { return []byte(v.s) }

// String returns the value as a string, without copying.
func (v ByteView) String() string { return v.s }

// WriteTo writes the value to w.
func (v ByteView) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, v.s)
	return int64(n), err
}
