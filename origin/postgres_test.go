package origin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rcache/rcache/engine/group"
)

// postgresSeed creates the test tables: the design document's scores, a
// table keyed by integer, and one value of each type per row of vals.
const postgresSeed = `
CREATE TABLE scores (name text PRIMARY KEY, score integer);
INSERT INTO scores VALUES ('Tom', 630), ('Jack', 589), ('Sam', 567);

CREATE TABLE by_id (id integer PRIMARY KEY, name text);
INSERT INTO by_id VALUES (1, 'Tom');

CREATE TABLE vals (
	k text PRIMARY KEY,
	i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
	num numeric, txt text, ch char(4), bin bytea, b boolean, j jsonb, d date
);
INSERT INTO vals VALUES
	('a', -7, 630, 9223372036854775807, 1.1, 1.5,
	 589.50, 'héllo', 'ab', '\x00ff0a', true, '{"a":1}', '2024-05-06'),
	('b', 0, 0, 0, 0, 0.1, 0, '', '', '', false, '[]', '2024-05-06'),
	('c', 0, 0, 0, 'NaN', 1e21, 'NaN', '', '', '', false, 'null', '2024-05-06'),
	('inf', 0, 0, 0, 'Infinity', 'Infinity', 'Infinity', '', '', '', false, '1', '2024-05-06'),
	('-inf', 0, 0, 0, '-Infinity', '-Infinity', '-Infinity', '', '', '', false, '1', '2024-05-06'),
	('nan', 0, 0, 0, 'NaN', 'NaN', 'NaN', '', '', '', false, '1', '2024-05-06'),
	('-0', 0, 0, 0, '-0', '-0', '-0', '', '', '', false, '1', '2024-05-06'),
	('null', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

// pgServer is a PostgreSQL server that startPostgres runs for a test.
type pgServer struct {
	port     int
	password string // the superuser's, random
}

// dsn returns the URL connecting as the superuser with password.
func (s *pgServer) dsn(password string) string {
	return fmt.Sprintf("postgres://rcache:%s@127.0.0.1:%d/postgres?sslmode=disable", password, s.port)
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
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d
			}
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// startPostgres initialises a cluster in a temporary directory and starts
// a server on a free loopback port, stopped when the test ends. Without
// the server binaries it skips the test, unless $CI is set: CI installs
// Debian's postgresql package, so there it fails. As root it runs the
// server as the postgres user, since PostgreSQL refuses to run as root.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	ci := os.Getenv("CI") != ""
	bin := postgresBinDir()
	switch {
	case bin == "" && ci:
		t.Fatalf("no PostgreSQL server binaries (initdb, pg_ctl); CI must install Debian's postgresql package")
	case bin == "":
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
	case testing.Short() && !ci:
		t.Skip("starts a PostgreSQL server")
	}

	base, err := os.MkdirTemp("", "rcache-pg-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s := &pgServer{password: rand.Text()}
	pwfile := filepath.Join(base, "pw")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		t.Fatalf("write password file: %v", err)
	}
	var prefix []string // runs a command as the server's OS user
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and there is no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{base, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatalf("chown %s: %v", p, err)
			}
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
	if out, err := run("initdb", "-D", data, "-U", "rcache", "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--no-locale", "--encoding", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	logfile := filepath.Join(base, "log")
	// The port is free when freePort returns but another process may take
	// it before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
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

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn(s.password))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, postgresSeed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return s
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newPostgres returns an origin over the test server, closed when the test
// ends.
func newPostgres(t *testing.T, s *pgServer, cfg PostgresConfig) *Postgres {
	t.Helper()
	cfg.DSN = s.dsn(s.password)
	p, err := NewPostgres(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewPostgres(%q): %v", cfg.Query, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// checkNoSecret reports err if its text holds secret or the DSN.
func checkNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds the secret %q", err, s)
		}
	}
}

// TestPostgres runs every PostgreSQL case against one real server.
func TestPostgres(t *testing.T) {
	s := startPostgres(t)
	t.Run("Values", func(t *testing.T) { testPostgresValues(t, s) })
	t.Run("KeyTypes", func(t *testing.T) { testPostgresKeyTypes(t, s) })
	t.Run("TimeoutAndCancel", func(t *testing.T) { testPostgresTimeoutAndCancel(t, s) })
	t.Run("BadQuery", func(t *testing.T) { testPostgresBadQuery(t, s) })
	t.Run("Secrets", func(t *testing.T) { testPostgresSecrets(t, s) })
	t.Run("Concurrent", func(t *testing.T) { testPostgresConcurrent(t, s) })
	t.Run("AfterClose", func(t *testing.T) { testPostgresAfterClose(t, s) })
}

func testPostgresValues(t *testing.T, s *pgServer) {
	t.Parallel()
	scores := newPostgres(t, s, PostgresConfig{Query: "SELECT score FROM scores WHERE name = $1"})
	cols := map[string]*Postgres{}
	for _, c := range []string{"i2", "i4", "i8", "f4", "f8", "num", "txt", "ch", "bin", "b", "j", "d"} {
		cols[c] = newPostgres(t, s, PostgresConfig{Query: "SELECT " + c + " FROM vals WHERE k = $1", MaxConns: 2})
	}
	tests := []struct {
		name     string
		o        *Postgres
		key      string
		want     string
		notFound bool
	}{
		{name: "Tom", o: scores, key: "Tom", want: "630"},
		{name: "Jack", o: scores, key: "Jack", want: "589"},
		{name: "Sam", o: scores, key: "Sam", want: "567"},
		{name: "no row", o: scores, key: "Bob", notFound: true},
		{name: "quote in key", o: scores, key: "Tom' OR '1'='1", notFound: true},
		{name: "smallint", o: cols["i2"], key: "a", want: "-7"},
		{name: "integer", o: cols["i4"], key: "a", want: "630"},
		{name: "bigint", o: cols["i8"], key: "a", want: "9223372036854775807"},
		{name: "real", o: cols["f4"], key: "a", want: "1.1"},
		{name: "real nan", o: cols["f4"], key: "nan", want: "nan"},
		{name: "real inf", o: cols["f4"], key: "inf", want: "inf"},
		{name: "double", o: cols["f8"], key: "a", want: "1.5"},
		{name: "double 0.1", o: cols["f8"], key: "b", want: "0.1"},
		{name: "double 1e21", o: cols["f8"], key: "c", want: "1000000000000000000000"},
		{name: "double nan", o: cols["f8"], key: "nan", want: "nan"},
		{name: "double inf", o: cols["f8"], key: "inf", want: "inf"},
		{name: "double -inf", o: cols["f8"], key: "-inf", want: "-inf"},
		{name: "double -0", o: cols["f8"], key: "-0", want: "-0"},
		{name: "numeric", o: cols["num"], key: "a", want: "589.50"},
		{name: "numeric nan", o: cols["num"], key: "nan", want: "NaN"},
		{name: "numeric inf", o: cols["num"], key: "inf", want: "Infinity"},
		{name: "text", o: cols["txt"], key: "a", want: "héllo"},
		{name: "empty text", o: cols["txt"], key: "b", want: ""},
		{name: "char", o: cols["ch"], key: "a", want: "ab  "},
		{name: "bytea", o: cols["bin"], key: "a", want: "\x00\xff\n"},
		{name: "empty bytea", o: cols["bin"], key: "b", want: ""},
		{name: "boolean", o: cols["b"], key: "a", want: "t"},
		{name: "jsonb", o: cols["j"], key: "a", want: `{"a": 1}`},
		{name: "date", o: cols["d"], key: "a", want: "2024-05-06"},
		{name: "null", o: cols["txt"], key: "null", notFound: true},
		{name: "null bytea", o: cols["bin"], key: "null", notFound: true},
		{name: "null double", o: cols["f8"], key: "null", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.o.Get(t.Context(), tt.key)
			if tt.notFound {
				if !errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) = %q, %v, want ErrNotFound", tt.key, got, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Get(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func testPostgresKeyTypes(t *testing.T, s *pgServer) {
	t.Parallel()
	byID := newPostgres(t, s, PostgresConfig{Query: "SELECT name FROM by_id WHERE id = $1"})
	byText := newPostgres(t, s, PostgresConfig{Query: "SELECT name FROM by_id WHERE id::text = $1"})
	tests := []struct {
		name     string
		o        *Postgres
		key      string
		want     string
		notFound bool
		wantErr  bool
	}{
		{name: "integer key", o: byID, key: "1", want: "Tom"},
		{name: "integer key, no row", o: byID, key: "2", notFound: true},
		{name: "not an integer", o: byID, key: "abc", wantErr: true},
		{name: "compared as text", o: byText, key: "1", want: "Tom"},
		{name: "compared as text, not an integer", o: byText, key: "abc", notFound: true},
		{name: "NUL byte in key", o: byText, key: "a\x00b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.o.Get(t.Context(), tt.key)
			switch {
			case tt.notFound:
				if !errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) = %q, %v, want ErrNotFound", tt.key, got, err)
				}
			case tt.wantErr:
				if err == nil || errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) = %q, %v, want an error", tt.key, got, err)
				}
			case err != nil || string(got) != tt.want:
				t.Errorf("Get(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func testPostgresTimeoutAndCancel(t *testing.T, s *pgServer) {
	t.Parallel()
	const slow = "SELECT $1::text FROM pg_sleep(30)"
	tests := []struct {
		name       string
		cancelled  bool          // the ctx is cancelled before Get
		ctxTimeout time.Duration // the ctx's deadline, if any
		timeout    time.Duration // PostgresConfig.Timeout
		want       error
	}{
		{name: "cancelled ctx", cancelled: true, want: context.Canceled},
		{name: "ctx deadline mid-query", ctxTimeout: 100 * time.Millisecond, want: context.DeadlineExceeded},
		{name: "config timeout mid-query", timeout: 100 * time.Millisecond, want: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newPostgres(t, s, PostgresConfig{Query: slow, Timeout: tt.timeout, MaxConns: 1})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			if tt.ctxTimeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			got, err := o.Get(ctx, "Tom")
			if !errors.Is(err, tt.want) {
				t.Errorf("Get = %q, %v, want %v", got, err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Get took %v to give up, want well under 5s", d)
			}
		})
	}

	// The server cancelled the query rather than the connection being
	// dropped: the pool's one connection answers the next query.
	t.Run("connection survives", func(t *testing.T) {
		t.Parallel()
		cfg := PostgresConfig{DSN: s.dsn(s.password), Query: "SELECT $1::text FROM pg_sleep(CASE WHEN $1 = 'slow' THEN 30 ELSE 0 END)", Timeout: 100 * time.Millisecond, MaxConns: 1}
		o, err := NewPostgres(t.Context(), cfg)
		if err != nil {
			t.Fatalf("NewPostgres: %v", err)
		}
		defer o.Close()
		if got, err := o.Get(t.Context(), "slow"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get(%q) = %q, %v, want DeadlineExceeded", "slow", got, err)
		}
		if got, err := o.Get(t.Context(), "fast"); err != nil || string(got) != "fast" {
			t.Errorf("Get(%q) after a timeout = %q, %v, want %q", "fast", got, err, "fast")
		}
		if n := o.pool.Stat().TotalConns(); n != 1 {
			t.Errorf("pool has %d connections, want the 1 it started with", n)
		}
	})
}

func testPostgresBadQuery(t *testing.T, s *pgServer) {
	t.Parallel()
	tests := []struct {
		name, query string
		want        string // in the error
	}{
		{name: "empty", query: " ", want: "no query"},
		{name: "no placeholder", query: "SELECT score FROM scores WHERE name = 'Tom'", want: "found 0"},
		{name: "two placeholders", query: "SELECT score FROM scores WHERE name = $1 OR name = $2", want: "found 2"},
		{name: "placeholder in string only", query: "SELECT score FROM scores WHERE name = '$1'", want: "found 0"},
		{name: "$2 only", query: "SELECT score FROM scores WHERE name = $2", want: "42P18"},
		{name: "syntax error", query: "SELEC score FROM scores WHERE name = $1", want: "42601"},
		{name: "missing table", query: "SELECT score FROM nope WHERE name = $1", want: `relation "nope" does not exist`},
		{name: "missing column", query: "SELECT nope FROM scores WHERE name = $1", want: "42703"},
		{name: "two statements", query: "SELECT score FROM scores WHERE name = $1; SELECT 1", want: "42601"},
		{name: "no columns", query: "UPDATE scores SET score = score WHERE name = $1", want: "no columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := NewPostgres(t.Context(), PostgresConfig{DSN: s.dsn(s.password), Query: tt.query})
			if err == nil {
				o.Close()
				t.Fatalf("NewPostgres(%q) succeeded, want an error containing %q", tt.query, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPostgres(%q) = %v, want an error containing %q", tt.query, err, tt.want)
			}
			checkNoSecret(t, err, s.password, s.dsn(s.password))
		})
	}
}

func testPostgresSecrets(t *testing.T, s *pgServer) {
	t.Parallel()
	const query = "SELECT score FROM scores WHERE name = $1"
	wrong := "wrong-" + rand.Text()
	tests := []struct {
		name    string
		dsn     string
		secrets []string
		want    string // in the error
		wantAs  bool   // the error wraps a *pgconn.PgError
	}{
		{name: "wrong password", dsn: s.dsn(wrong), secrets: []string{wrong, s.dsn(wrong)}, want: "password authentication failed", wantAs: true},
		{name: "no server", dsn: fmt.Sprintf("postgres://rcache:%s@127.0.0.1:%d/postgres?sslmode=disable", wrong, freePort(t)), secrets: []string{wrong}, want: "connection refused"},
		{name: "no such database", dsn: strings.Replace(s.dsn(s.password), "/postgres?", "/nope?", 1), secrets: []string{s.password}, want: `database "nope" does not exist`, wantAs: true},
		{name: "bad port", dsn: "postgres://rcache:" + wrong + "@127.0.0.1:notaport/postgres", secrets: []string{wrong, "notaport"}, want: "cannot parse"},
		{name: "bad key=value", dsn: "host=127.0.0.1 password=" + wrong + " port='", secrets: []string{wrong}, want: "cannot parse"},
		{name: "password in the message", dsn: strings.Replace(s.dsn(s.password), "/postgres?", "/"+s.password+"?", 1), secrets: []string{s.password}, want: `database "xxxxx" does not exist`, wantAs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			o, err := NewPostgres(ctx, PostgresConfig{DSN: tt.dsn, Query: query})
			if err == nil {
				o.Close()
				t.Fatalf("NewPostgres succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPostgres = %v, want an error containing %q", err, tt.want)
			}
			var pgErr *pgconn.PgError
			if tt.wantAs && !errors.As(err, &pgErr) {
				t.Errorf("NewPostgres = %v, want one wrapping a *pgconn.PgError", err)
			}
			checkNoSecret(t, err, tt.secrets...)
		})
	}

	// A Get on a pool whose server went away reports that without the
	// password either: here, the password changes under a live origin.
	t.Run("get after the password changed", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		conn, err := pgx.Connect(ctx, s.dsn(s.password))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		other := "other-" + rand.Text()
		if _, err := conn.Exec(ctx, "CREATE ROLE reader LOGIN PASSWORD '"+other+"'; GRANT SELECT ON scores TO reader"); err != nil {
			t.Fatalf("create role: %v", err)
		}
		dsn := strings.Replace(s.dsn(other), "rcache:", "reader:", 1)
		o, err := NewPostgres(ctx, PostgresConfig{DSN: dsn, Query: query, MaxConns: 1})
		if err != nil {
			t.Fatalf("NewPostgres as reader: %v", err)
		}
		defer o.Close()
		if _, err := conn.Exec(ctx, "ALTER ROLE reader PASSWORD 'changed'; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'reader'"); err != nil {
			t.Fatalf("change password: %v", err)
		}
		got, err := o.Get(ctx, "Tom")
		if err == nil {
			// The pool noticed the dead connection only on this Get; the
			// next one must connect again, and fail.
			got, err = o.Get(ctx, "Tom")
		}
		if err == nil || errors.Is(err, group.ErrNotFound) {
			t.Fatalf("Get(%q) after the password changed = %q, %v, want an error", "Tom", got, err)
		}
		checkNoSecret(t, err, other, dsn)
	})
}

func testPostgresConcurrent(t *testing.T, s *pgServer) {
	t.Parallel()
	o := newPostgres(t, s, PostgresConfig{Query: "SELECT score FROM scores WHERE name = $1", MaxConns: 4})
	want := map[string]string{"Tom": "630", "Jack": "589", "Sam": "567", "Bob": ""}
	keys := []string{"Tom", "Jack", "Sam", "Bob"}
	var wg sync.WaitGroup
	for i := range 64 {
		key := keys[i%len(keys)]
		wg.Go(func() {
			for range 10 {
				got, err := o.Get(t.Context(), key)
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
	if n := o.pool.Stat().TotalConns(); n > 4 {
		t.Errorf("pool has %d connections, want at most MaxConns = 4", n)
	}
}

func testPostgresAfterClose(t *testing.T, s *pgServer) {
	t.Parallel()
	o, err := NewPostgres(t.Context(), PostgresConfig{DSN: s.dsn(s.password), Query: "SELECT score FROM scores WHERE name = $1"})
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	o.Close()
	if got, err := o.Get(t.Context(), "Tom"); err == nil || errors.Is(err, group.ErrNotFound) {
		t.Errorf("Get after Close = %q, %v, want an error", got, err)
	}
}

func TestPostgresConfigValidate(t *testing.T) {
	t.Parallel()
	const dsn = "postgres://u:hunter2@db/app"
	tests := []struct {
		name string
		cfg  PostgresConfig
		ok   bool
	}{
		{name: "ok", cfg: PostgresConfig{DSN: dsn, Query: "SELECT v FROM t WHERE k = $1"}, ok: true},
		{name: "no DSN", cfg: PostgresConfig{Query: "SELECT v FROM t WHERE k = $1"}},
		{name: "no query", cfg: PostgresConfig{DSN: dsn}},
		{name: "negative conns", cfg: PostgresConfig{DSN: dsn, Query: "SELECT $1", MaxConns: -1}},
		{name: "negative timeout", cfg: PostgresConfig{DSN: dsn, Query: "SELECT $1", Timeout: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			checkNoSecret(t, err, "hunter2")
		})
	}
}
