package pb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates rcache.pb.go into a temporary
// directory and compares it with the checked-in file.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("protoc is missing in CI: %v", err)
		}
		t.Skipf("protoc not installed (apt-get install protobuf-compiler): %v", err)
	}
	dir := t.TempDir()
	plugin := filepath.Join(dir, "protoc-gen-go")
	run(t, "go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	run(t, "protoc", "--plugin=protoc-gen-go="+plugin, "--go_out="+dir, "--go_opt=paths=source_relative", "rcache.proto")
	want, err := os.ReadFile(filepath.Join(dir, "rcache.pb.go"))
	if err != nil {
		t.Fatalf("read regenerated code: %v", err)
	}
	got, err := os.ReadFile("rcache.pb.go")
	if err != nil {
		t.Fatalf("read checked-in code: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rcache.pb.go is stale: run go generate ./pb and commit the result")
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
