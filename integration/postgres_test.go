package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer is a PostgreSQL server that startPostgres runs for a test. It
// trusts every loopback connection, so its URLs hold no password.
type pgServer struct {
	port int
}

// url returns the URL of the database postgres as the superuser rcache,
// with the extra query parameters given (already encoded), if any.
func (s *pgServer) url(params string) string {
	u := fmt.Sprintf("postgres://rcache@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	if params != "" {
		u += "&" + params
	}
	return u
}

// connect returns a connection to the server, closed when the test ends.
func (s *pgServer) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url(""))
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// postgresBinDir returns the newest of Debian's PostgreSQL server binary
// directories (/usr/lib/postgresql/N/bin), or the directory of a pg_ctl on
// $PATH, or "".
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		_, errCtl := os.Stat(filepath.Join(d, "pg_ctl"))
		_, errInit := os.Stat(filepath.Join(d, "initdb"))
		if errCtl == nil && errInit == nil {
			return d
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// startPostgres initialises a cluster in a temporary directory, with trust
// authentication and the superuser rcache, and starts a server on a free
// loopback port, stopped when the test ends. Without the server binaries it
// skips the test, unless $CI is set: CI installs Debian's postgresql
// package, so there it fails. As root it runs the server as the postgres
// user, since PostgreSQL refuses to run as root.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL server binaries (initdb, pg_ctl); CI must install Debian's postgresql package")
		}
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
	}

	// Not t.TempDir: the server's user must own the directory, and the
	// server's socket path must stay short.
	base, err := os.MkdirTemp("", "rcache-pg-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	var prefix []string // runs a command as the server's OS user
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and there is no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatalf("chown %s: %v", base, err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) ([]byte, error) {
		argv := append(slices.Clone(prefix), filepath.Join(bin, name))
		argv = append(argv, args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = base // readable by the server's user, unlike perhaps the package directory
		return cmd.CombinedOutput()
	}

	data := filepath.Join(base, "data")
	if out, err := run("initdb", "-D", data, "-U", "rcache", "--auth", "trust",
		"--no-locale", "--encoding", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	logfile := filepath.Join(base, "log")
	s := &pgServer{}
	// The port is free when freeAddrs returns but another process may take
	// it before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		_, port, _ := net.SplitHostPort(freeAddrs(t, 1)[0])
		s.port, _ = strconv.Atoi(port)
		opts := fmt.Sprintf("-p %d -k '%s' -c listen_addresses=127.0.0.1 -c fsync=off", s.port, base)
		out, err := run("pg_ctl", "-D", data, "-l", logfile, "-o", opts, "-w", "-t", "60", "start")
		if err == nil {
			break
		}
		if attempt == 3 {
			log, _ := os.ReadFile(logfile)
			t.Fatalf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, log)
		}
	}
	t.Cleanup(func() {
		if out, err := run("pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return s
}
