package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestIORedis drives a node with ioredis, the Node.js client, installed by
// npm from the lock file in testdata/ioredis into a temporary directory.
func TestIORedis(t *testing.T) {
	node := needTool(t, "node")
	npm := needTool(t, "npm")
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())

	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "check.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "ioredis", f))
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatalf("write %s: %v", f, err)
		}
	}
	install := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	for _, nd := range nodes {
		_, port, _ := net.SplitHostPort(nd.addr)
		check := exec.Command(node, "check.mjs")
		check.Dir = dir
		check.Env = append(os.Environ(), "PORT="+port)
		out, err := check.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ioredis ok") {
			t.Errorf("ioredis against %s: %v\n%s", nd.addr, err, out)
		}
	}
}
