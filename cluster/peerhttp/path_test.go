package peerhttp

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		escaped string
		want    route
		wantErr bool
	}{
		{"key", "/_rcache/scores/Tom", route{"scores", "Tom", true}, false},
		{"batch", "/_rcache/scores", route{"scores", "", false}, false},
		{"escaped slash in key", "/_rcache/scores/a%2Fb", route{"scores", "a/b", true}, false},
		{"raw slash in key", "/_rcache/scores/a/b", route{"scores", "a/b", true}, false},
		{"escaped slash in group", "/_rcache/a%2Fb/k", route{"a/b", "k", true}, false},
		{"escaped percent", "/_rcache/scores/%252F", route{"scores", "%2F", true}, false},
		{"escaped dots", "/_rcache/scores/%2E%2E", route{"scores", "..", true}, false},
		{"binary", "/_rcache/scores/%00%FF", route{"scores", "\x00\xff", true}, false},
		{"plus is not a space", "/_rcache/scores/a+b", route{"scores", "a+b", true}, false},
		{"base only", "/_rcache/", route{}, true},
		{"empty group", "/_rcache//k", route{}, true},
		{"empty key", "/_rcache/scores/", route{}, true},
		{"bad escape in key", "/_rcache/scores/%zz", route{}, true},
		{"truncated escape in key", "/_rcache/scores/a%2", route{}, true},
		{"bad escape in group", "/_rcache/%g0/k", route{}, true},
		{"outside base", "/other/scores/k", route{}, true},
		{"base without slash", "/_rcache", route{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePath(DefaultBasePath, tt.escaped)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parsePath(%q) = %+v, %v; want %+v, error %v", tt.escaped, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := parsePath(DefaultBasePath, "/other/x"); !errors.Is(err, errOutsideBase) {
		t.Errorf("parsePath outside base: err = %v, want errOutsideBase", err)
	}
}

// FuzzParsePath checks that parsePath never panics, and that a path the
// client builds comes back, through net/url on both sides, as the same
// group and key, with no segment a ServeMux would clean away.
func FuzzParsePath(f *testing.F) {
	for _, s := range [][3]string{
		{"scores", "Tom", "/_rcache/scores/Tom"},
		{"scores", "a/b", "/_rcache/scores/a%2Fb"},
		{"scores", "%2F", "/_rcache/scores/%252F"},
		{"scores", "..", "/_rcache/scores/%2E%2E"},
		{".", ".", "/_rcache/./."},
		{"a b", "?x=1#frag", "/_rcache/a%20b/%3Fx=1%23frag"},
		{"g", "\x00\xff\xfe", "/_rcache/g/%00%FF"},
		{"g", "日本語", "/_rcache/g/%E6%97%A5"},
		{"g", "//", "/_rcache//"},
		{"g", "a;b,c+d=e&f$g:h@i", "/_rcache/g/%zz"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, grp, key, raw string) {
		_, _ = parsePath(DefaultBasePath, raw) // must not panic
		if grp == "" || key == "" {
			return
		}
		for _, hasKey := range []bool{true, false} {
			want := route{group: grp}
			path := DefaultBasePath + grp
			escaped := DefaultBasePath + escapeSegment(grp)
			if hasKey {
				want.key, want.hasKey = key, true
				path += "/" + key
				escaped += "/" + escapeSegment(key)
			}
			for seg := range strings.SplitSeq(strings.TrimPrefix(escaped, "/"), "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("escaped path %q has segment %q", escaped, seg)
				}
			}
			// What the client sends and what the server reads back.
			u := &url.URL{Scheme: "http", Host: "127.0.0.1", Path: path, RawPath: escaped}
			sent := u.RequestURI()
			if sent != escaped {
				t.Fatalf("RequestURI() = %q, want %q", sent, escaped)
			}
			recv, err := url.ParseRequestURI(sent)
			if err != nil {
				t.Fatalf("ParseRequestURI(%q): %v", sent, err)
			}
			got, err := parsePath(DefaultBasePath, recv.EscapedPath())
			if err != nil || got != want {
				t.Fatalf("parsePath(%q) = %+v, %v; want %+v", recv.EscapedPath(), got, err, want)
			}
		}
	})
}

// FuzzEscapeSegment checks that escaping a group or key for a path and
// unescaping it gives back the same bytes, and that the escaped segment
// holds no "/" and is not a segment a ServeMux would clean away.
func FuzzEscapeSegment(f *testing.F) {
	for _, s := range []string{"Tom", "a/b", ".", "..", "...", "%", "%2F", "a b+c", "?#", "\x00\xff", "日本語", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc := escapeSegment(s)
		if strings.Contains(esc, "/") || (s != "" && (esc == "." || esc == "..")) {
			t.Fatalf("escapeSegment(%q) = %q, not a single clean segment", s, esc)
		}
		got, err := url.PathUnescape(esc)
		if err != nil || got != s {
			t.Fatalf("PathUnescape(escapeSegment(%q) = %q) = %q, %v; want %q", s, esc, got, err, s)
		}
	})
}
