package group_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/rcache/rcache/engine/group"
)

func TestByteView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    group.ByteView
		want string
	}{
		{"zero", group.ByteView{}, ""},
		{"NewByteView nil", group.NewByteView(nil), ""},
		{"NewByteView", group.NewByteView([]byte("630")), "630"},
		{"StringView", group.StringView("Tom"), "Tom"},
		{"binary", group.NewByteView([]byte{0, 0xff, '\n'}), "\x00\xff\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.v.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := tt.v.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d, want %d", got, len(tt.want))
			}
			if got := tt.v.ByteSlice(); string(got) != tt.want {
				t.Errorf("ByteSlice() = %q, want %q", got, tt.want)
			}
			var buf bytes.Buffer
			n, err := tt.v.WriteTo(&buf)
			if n != int64(len(tt.want)) || err != nil || buf.String() != tt.want {
				t.Errorf("WriteTo() = %d, %v, wrote %q, want %d, <nil>, %q", n, err, buf.String(), len(tt.want), tt.want)
			}
		})
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		return w.limit, errBoom
	}
	return len(p), nil
}

func TestByteViewWriteToError(t *testing.T) {
	t.Parallel()
	v := group.StringView("630")
	if n, err := v.WriteTo(&failingWriter{limit: 1}); n != 1 || !errors.Is(err, errBoom) {
		t.Errorf("WriteTo(failing writer) = %d, %v, want 1, boom", n, err)
	}
}

// TestNewByteViewCopies checks that NewByteView copies its input: the caller
// keeps ownership of the slice.
func TestNewByteViewCopies(t *testing.T) {
	t.Parallel()
	b := []byte("630")
	v := group.NewByteView(b)
	b[0] = 'X'
	if got := v.String(); got != "630" {
		t.Errorf("after changing the input, String() = %q, want %q", got, "630")
	}
}

// TestByteSliceCopies checks that the slice ByteSlice returns is the
// caller's: changing it changes neither the view nor the cached value.
func TestByteSliceCopies(t *testing.T) {
	t.Parallel()
	g := newTestGroup(t, group.Config{Name: "scores", Getter: newOrigin(scores)})
	v, err := g.Get(context.Background(), "Tom")
	if err != nil {
		t.Fatalf("Get(%q) = %v", "Tom", err)
	}
	b := v.ByteSlice()
	b[0] = 'X'
	if got := v.String(); got != "630" {
		t.Errorf("after changing ByteSlice(), String() = %q, want %q", got, "630")
	}
	if b2 := v.ByteSlice(); &b2[0] == &b[0] {
		t.Errorf("ByteSlice() returned the same memory twice")
	}
	mustGet(t, g, "Tom", "630")
}

// TestGetterSliceCopied checks that the cache copies what the Getter
// returns, so a Getter may reuse its buffer.
func TestGetterSliceCopied(t *testing.T) {
	t.Parallel()
	buf := []byte("630")
	g := newTestGroup(t, group.Config{Name: "scores", Getter: group.GetterFunc(
		func(context.Context, string) ([]byte, error) { return buf, nil })})
	mustGet(t, g, "Tom", "630")
	buf[0] = 'X' // after Get returned: the load is over
	mustGet(t, g, "Tom", "630")
}
