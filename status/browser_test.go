//go:build linux

package status

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumTimeout bounds one headless chromium run; it takes about a
// second on an idle machine.
const chromiumTimeout = 90 * time.Second

// TestBrowser loads the page in a real headless browser and checks the DOM
// it built: the markup parses as intended and the hostile group name stays
// text. It needs Debian's chromium (apt-get install -y chromium); without
// it the test is skipped, except under CI=true, where it fails.
func TestBrowser(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	path, err := exec.LookPath("chromium")
	if err != nil {
		if ci {
			t.Fatalf("chromium is required under CI (apt-get install -y chromium): %v", err)
		}
		t.Skipf("chromium not installed (apt-get install -y chromium): %v", err)
	}
	if testing.Short() && !ci {
		t.Skip("starts a browser; skipped under -short")
	}
	srv := httptest.NewServer(Handler(SourceFunc(fakeStatus)))
	t.Cleanup(srv.Close)

	dom := dumpDOM(t, path, srv.URL+"/")
	for _, want := range []string{
		`<title>rcache node-a</title>`,
		`<dd>127.0.0.1:6379</dd>`,
		`<table id="peers">`,
		`<tr><td>http://10.0.0.2:8080</td><td class="healthy">healthy</td><td class="num">1200</td><td class="num">3</td></tr>`,
		`<tr><td>http://10.0.0.3:8080</td><td class="open">open</td><td class="num">50</td><td class="num">41</td></tr>`,
		`<tr><td>http://10.0.0.4:8080</td><td class="half-open">half-open</td><td class="num">7</td><td class="num">6</td></tr>`,
		`<table id="ring">`,
		`<tr><td>http://10.0.0.1:8080 (this node)</td><td class="num">50.0%</td><td><meter min="0" max="1" value="0.5"></meter></td></tr>`,
		`<table id="groups">`,
		`<tr><td>users</td><td class="num">75.0%</td><td class="num">400</td>`,
		`<tr><td>pages</td><td class="num">0.0%</td>`,
		// The DOM serializer escapes < and > in text but not quotes.
		`<tr><td>&lt;script&gt;alert("x")&lt;/script&gt;</td><td class="num">10.0%</td>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Errorf("DOM has a <script element")
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

// dumpDOM runs headless chromium on url and returns the DOM it printed.
// Chromium runs in a process group of its own, which is killed when the
// run ends or times out, so that no renderer or helper outlives the test.
// Its home and profile live in a temporary directory, which also names the
// crashpad handlers: they start sessions of their own, out of the group,
// and would linger for seconds after the browser exits, so they are found
// by that name and killed too. (--disable-crashpad-for-testing would keep
// them from starting, but makes Debian's chromium 156 crash its network
// service.)
func dumpDOM(t *testing.T, chromium, url string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), chromiumTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	pgid := cmd.Process.Pid
	defer func() {
		// The browser leaves its helpers behind when it is killed, and may
		// on its own: end the whole group, whatever happened.
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("kill chromium's process group %d: %v", pgid, err)
		}
		killNaming(t, dir)
	}()
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("chromium --dump-dom %s: no answer within %v\nstderr:\n%s", url, chromiumTimeout, stderr.Bytes())
	}
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\nstderr:\n%s", url, err, stderr.Bytes())
	}
	return stdout.String()
}

// killNaming kills, by pid, every process whose command line contains s,
// and waits until each has exited, so that none can still write into a
// directory the test is about to remove. The processes are not this
// process's children, so there is nothing to wait on but /proc itself.
func killNaming(t *testing.T, s string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Errorf("list processes: %v", err)
		return
	}
	var killed []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue // gone already, or not one of ours
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("kill pid %d: %v", pid, err)
			continue
		}
		killed = append(killed, pid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range killed {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("pid %d still running 10s after SIGKILL", pid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// alive reports whether pid is a process that has not exited (a zombie
// has).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain them.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
