package origin

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rcache/rcache/engine/group"
)

// sentinel is the content of a file placed next to, not inside, the
// directory a test's File origin serves: no key may ever return it.
const sentinel = "SENTINEL: outside the origin's directory"

// newFileTree lays out this tree and returns the path of root:
//
//	secret.txt            sentinel (outside root)
//	root/Tom              "630"
//	root/scores/Jack      "589"
//	root/scores/deep/Sam  "567"
//	root/empty            ""
//	root/big              9 bytes
//	root/a\b              "backslash" (a file name, on Unix)
//	root/inlink -> scores/Jack     (stays inside)
//	root/outlink -> ../secret.txt  (relative, leads out)
//	root/abslink -> /…/secret.txt  (absolute, leads out)
//	root/updir -> ..               (a directory outside)
func newFileTree(t testing.TB) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	secret = filepath.Join(base, "secret.txt")
	files := map[string]string{
		secret:                                       sentinel,
		filepath.Join(root, "Tom"):                   "630",
		filepath.Join(root, "scores", "Jack"):        "589",
		filepath.Join(root, "scores", "deep", "Sam"): "567",
		filepath.Join(root, "empty"):                 "",
		filepath.Join(root, "big"):                   "123456789",
		filepath.Join(root, `a\b`):                   "backslash",
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("mkdir: %v", err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	links := map[string]string{
		"inlink":  filepath.Join("scores", "Jack"),
		"outlink": filepath.Join("..", "secret.txt"),
		"abslink": secret,
		"updir":   "..",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatalf("symlink: %v", err)
		}
	}
	return root, secret
}

// newFileOrigin returns a File origin over dir, closed when the test ends.
func newFileOrigin(t testing.TB, cfg FileConfig) *File {
	t.Helper()
	f, err := NewFile(cfg)
	if err != nil {
		t.Fatalf("NewFile(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

func TestFile(t *testing.T) {
	t.Parallel()
	root, secret := newFileTree(t)
	f := newFileOrigin(t, FileConfig{Dir: root, MaxFileBytes: 8})
	tests := []struct {
		name, key, want string
		notFound        bool
		errHas          string
	}{
		{name: "found", key: "Tom", want: "630"},
		{name: "nested", key: "scores/Jack", want: "589"},
		{name: "deeper", key: "scores/deep/Sam", want: "567"},
		{name: "empty file", key: "empty", want: ""},
		{name: "symlink inside", key: "inlink", want: "589"},
		{name: "missing", key: "Bob", notFound: true},
		{name: "missing nested", key: "scores/Bob", notFound: true},
		{name: "under a file", key: "Tom/x", notFound: true},
		{name: "dot dot", key: "..", notFound: true},
		{name: "up", key: "../secret.txt", notFound: true},
		{name: "up from sub", key: "scores/../../secret.txt", notFound: true},
		{name: "a/../../x", key: "a/../../x", notFound: true},
		{name: "non-canonical inside", key: "scores/../Tom", notFound: true},
		{name: "dot slash", key: "./Tom", notFound: true},
		{name: "double slash", key: "scores//Jack", notFound: true},
		{name: "trailing slash", key: "scores/Jack/", notFound: true},
		{name: "absolute etc passwd", key: "/etc/passwd", notFound: true},
		{name: "absolute secret", key: secret, notFound: true},
		{name: "NUL byte", key: "To\x00m", notFound: true},
		{name: "backslash", key: `a\b`, notFound: true},
		{name: "backslash up", key: `..\secret.txt`, notFound: true},
		{name: "symlink out", key: "outlink", notFound: true},
		{name: "absolute symlink out", key: "abslink", notFound: true},
		{name: "through symlinked dir out", key: "updir/secret.txt", notFound: true},
		{name: "directory", key: "scores", notFound: true},
		{name: "root", key: ".", notFound: true},
		{name: "empty key", key: "", notFound: true},
		{name: "oversized", key: "big", errHas: "larger than 8 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.Get(t.Context(), tt.key)
			switch {
			case tt.notFound:
				if !errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) = %q, %v, want ErrNotFound", tt.key, got, err)
				}
			case tt.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) = %q, %v, want an error containing %q", tt.key, got, err, tt.errHas)
				}
			case err != nil || string(got) != tt.want:
				t.Errorf("Get(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func TestFileNotRegular(t *testing.T) {
	t.Parallel()
	root, _ := newFileTree(t)
	f := newFileOrigin(t, FileConfig{Dir: root})
	// A socket file; and a FIFO, which would block an open until a writer
	// came, where there is a mkfifo to make one.
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	keys := []string{"sock"}
	if mkfifo, err := exec.LookPath("mkfifo"); err == nil {
		if out, err := exec.Command(mkfifo, filepath.Join(root, "fifo")).CombinedOutput(); err != nil {
			t.Fatalf("mkfifo: %v: %s", err, out)
		}
		keys = append(keys, "fifo")
	}
	for _, key := range keys {
		if got, err := f.Get(t.Context(), key); !errors.Is(err, group.ErrNotFound) {
			t.Errorf("Get(%q) = %q, %v, want ErrNotFound", key, got, err)
		}
	}
}

func TestFileLimits(t *testing.T) {
	t.Parallel()
	root, _ := newFileTree(t)
	tests := []struct {
		name   string
		max    int64
		key    string
		want   string
		errHas string
	}{
		{name: "default limit", key: "big", want: "123456789"},
		{name: "at the limit", max: 9, key: "big", want: "123456789"},
		{name: "one over", max: 8, key: "big", errHas: "larger than 8 bytes"},
		{name: "empty under any limit", max: 1, key: "empty", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFileOrigin(t, FileConfig{Dir: root, MaxFileBytes: tt.max})
			got, err := f.Get(t.Context(), tt.key)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("Get(%q) = %q, %v, want an error containing %q", tt.key, got, err, tt.errHas)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Get(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func TestFileCancelled(t *testing.T) {
	t.Parallel()
	root, _ := newFileTree(t)
	f := newFileOrigin(t, FileConfig{Dir: root})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got, err := f.Get(ctx, "Tom"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get(%q) with a cancelled ctx = %q, %v, want context.Canceled", "Tom", got, err)
	}
}

func TestNewFileErrors(t *testing.T) {
	t.Parallel()
	root, secret := newFileTree(t)
	tests := []struct {
		name string
		cfg  FileConfig
		want string
	}{
		{name: "no dir", cfg: FileConfig{}, want: "no directory"},
		{name: "missing dir", cfg: FileConfig{Dir: filepath.Join(root, "nope")}, want: "no such file"},
		{name: "a file", cfg: FileConfig{Dir: secret}, want: "not a directory"},
		{name: "negative limit", cfg: FileConfig{Dir: root, MaxFileBytes: -1}, want: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewFile(tt.cfg)
			if err == nil {
				f.Close()
				t.Fatalf("NewFile(%+v) succeeded, want an error containing %q", tt.cfg, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewFile(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestFileConcurrentGets(t *testing.T) {
	t.Parallel()
	root, _ := newFileTree(t)
	f := newFileOrigin(t, FileConfig{Dir: root})
	want := map[string]string{"Tom": "630", "scores/Jack": "589", "scores/deep/Sam": "567", "outlink": ""}
	keys := []string{"Tom", "scores/Jack", "scores/deep/Sam", "outlink"}
	var wg sync.WaitGroup
	for i := range 64 {
		key := keys[i%len(keys)]
		wg.Go(func() {
			for range 10 {
				got, err := f.Get(t.Context(), key)
				if want[key] == "" {
					if !errors.Is(err, group.ErrNotFound) {
						t.Errorf("Get(%q) = %q, %v, want ErrNotFound", key, got, err)
					}
				} else if err != nil || string(got) != want[key] {
					t.Errorf("Get(%q) = %q, %v, want %q", key, got, err, want[key])
				}
			}
		})
	}
	wg.Wait()
}

// FuzzFileKey checks that no key, however odd, reads the sentinel file
// outside the root, or makes Get panic; and that what Get does return is
// the content of a file inside the root.
func FuzzFileKey(f *testing.F) {
	root, secret := newFileTree(f)
	o := newFileOrigin(f, FileConfig{Dir: root})
	for _, key := range []string{
		"Tom", "scores/Jack", "inlink", "outlink", "abslink", "updir/secret.txt", "updir",
		"..", "../secret.txt", "a/../../secret.txt", "scores/../../secret.txt", "./../secret.txt",
		secret, "/etc/passwd", `..\secret.txt`, "a\x00b", "Tom\x00", "%2e%2e/secret.txt",
		"scores/deep/../../../secret.txt", "updir/root/outlink", "updir/root/Tom", "",
	} {
		f.Add(key)
	}
	inside := map[string]bool{"630": true, "589": true, "567": true, "": true, "123456789": true, "backslash": true}
	f.Fuzz(func(t *testing.T, key string) {
		got, err := o.Get(context.Background(), key)
		if bytes.Contains(got, []byte("SENTINEL")) {
			t.Fatalf("Get(%q) = %q: read the file outside the root", key, got)
		}
		if err == nil && !inside[string(got)] {
			t.Errorf("Get(%q) = %q, which no file inside the root holds", key, got)
		}
	})
}
