package integration

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
)

func redisCLI(t *testing.T, nd *node, stdin string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(nd.addr)
	cmd := exec.Command(needTool(t, "redis-cli"), append([]string{"-h", host, "-p", port}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestRedisCLI(t *testing.T) {
	needTool(t, "redis-cli")
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	for _, nd := range nodes {
		if got := redisCLI(t, nd, "", "GET", "scores:Tom"); strings.TrimSpace(got) != "630" {
			t.Errorf("redis-cli GET scores:Tom at %s = %q, want 630", nd.addr, got)
		}
	}
	info := redisCLI(t, nodes[0], "", "INFO")
	for _, want := range []string{"redis_version:", "cluster_members:3", "keyspace_hits:"} {
		if !strings.Contains(info, want) {
			t.Errorf("redis-cli INFO lacks %q:\n%s", want, info)
		}
	}
	if got := redisCLI(t, nodes[1], "", "-3", "GET", "scores:Jack"); strings.TrimSpace(got) != "589" {
		t.Errorf("redis-cli -3 GET scores:Jack = %q, want 589", got)
	}

	// --pipe sends raw RESP and reports the replies and errors.
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\npipe:%d\r\n$1\r\n%d\r\n", len(fmt.Sprintf("pipe:%d", i)), i, i%10)
	}
	out := redisCLI(t, nodes[2], b.String(), "--pipe")
	if !strings.Contains(out, "errors: 0, replies: 100") {
		t.Errorf("redis-cli --pipe = %q, want 0 errors and 100 replies", out)
	}
	if got := redisCLI(t, nodes[0], "", "GET", "pipe:42"); strings.TrimSpace(got) != "2" {
		t.Errorf("GET pipe:42 after --pipe = %q, want 2", got)
	}
	// -r repeats a command.
	if got := strings.Fields(redisCLI(t, nodes[0], "", "-r", "5", "INCR", "counter")); len(got) != 5 || got[4] != "5" {
		t.Errorf("redis-cli -r 5 INCR counter = %q, want the fifth reply to be 5", got)
	}
}

func TestRedisBenchmark(t *testing.T) {
	bench := needTool(t, "redis-benchmark")
	o := newOrigin(t, copyScores())
	nodes := startCluster(t, 3, "--group", "scores="+o.url())
	host, port, _ := net.SplitHostPort(nodes[0].addr)
	// --csv prints one line a test instead of a progress meter.
	cmd := exec.Command(bench, "-h", host, "-p", port, "-t", "set,get,mset", "-n", "20000", "--csv")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{`"SET"`, `"GET"`, `"MSET (10 keys)"`} {
		if !strings.Contains(text, want) {
			t.Errorf("redis-benchmark output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(strings.ToLower(text), "error") {
		t.Errorf("redis-benchmark reported errors:\n%s", text)
	}
	t.Logf("redis-benchmark against a 3-node cluster:\n%s", text)
}
