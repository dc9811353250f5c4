//go:build linux

// Package chromium runs Debian's headless chromium for tests that check a
// page in a real browser (the status page's tests). It is for tests only.
package chromium

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds one headless chromium run; it takes a second or two on an
// idle machine.
const Timeout = 90 * time.Second

// Need returns the path of Debian's chromium (apt-get install -y chromium).
// Without it the test is skipped, except under CI=true, where it fails.
func Need(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required under CI (apt-get install -y chromium): %v", err)
		}
		t.Skipf("chromium not installed (apt-get install -y chromium): %v", err)
	}
	return path
}

// DumpDOM runs headless chromium on url and returns the DOM it printed.
// Chromium runs in a process group of its own, which is killed when the
// run ends or times out, so that no renderer or helper outlives the test.
// Its home and profile live in a temporary directory, which also names the
// crashpad handlers: they start sessions of their own, out of the group,
// and would linger for seconds after the browser exits, so they are found
// by that name and killed too. (--disable-crashpad-for-testing would keep
// them from starting, but makes Debian's chromium 156 crash its network
// service.)
func DumpDOM(t testing.TB, chromium, url string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
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
		t.Fatalf("chromium --dump-dom %s: no answer within %v\nstderr:\n%s", url, Timeout, stderr.Bytes())
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
func killNaming(t testing.TB, s string) {
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
