package origin_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/origin"
)

// sqliteSeed creates the test database: the design document's scores, plus
// a table whose untyped column holds one value of each storage class.
const sqliteSeed = `
CREATE TABLE scores (name TEXT PRIMARY KEY, score INTEGER);
INSERT INTO scores VALUES ('Tom', 630), ('Jack', 589), ('Sam', 567);

CREATE TABLE vals (k TEXT PRIMARY KEY, v);
INSERT INTO vals VALUES
	('int', 42), ('neg', -7), ('big', 9223372036854775807),
	('real', 1.5), ('whole', 2.0), ('tiny', 0.0000001), ('huge', 1e21),
	('inf', 9e999), ('-inf', -9e999),
	('text', 'hello'), ('empty', ''), ('utf8', 'héllo'),
	('blob', x'00ff0a'), ('null', NULL);

CREATE TABLE events (k TEXT PRIMARY KEY, at DATETIME);
INSERT INTO events VALUES ('launch', '2024-05-06 07:08:09');
`

// newSQLiteDB writes a database seeded with sqliteSeed and returns its path.
func newSQLiteDB(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	if _, err := db.Exec(sqliteSeed); err != nil {
		t.Fatalf("seed %s: %v", path, err)
	}
	return path
}

// newSQLite returns an origin over path, closed when the test ends.
func newSQLite(t testing.TB, cfg origin.SQLiteConfig) *origin.SQLite {
	t.Helper()
	o, err := origin.NewSQLite(cfg)
	if err != nil {
		t.Fatalf("NewSQLite(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return o
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	path := newSQLiteDB(t)
	scores := newSQLite(t, origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = ?"})
	vals := newSQLite(t, origin.SQLiteConfig{Path: path, Query: "SELECT v FROM vals WHERE k = ?"})
	events := newSQLite(t, origin.SQLiteConfig{Path: path, Query: "SELECT at FROM events WHERE k = ?"})
	eventText := newSQLite(t, origin.SQLiteConfig{Path: path, Query: "SELECT CAST(at AS TEXT) FROM events WHERE k = ?"})
	tests := []struct {
		name     string
		o        *origin.SQLite
		key      string
		want     string
		notFound bool
	}{
		{name: "Tom", o: scores, key: "Tom", want: "630"},
		{name: "Jack", o: scores, key: "Jack", want: "589"},
		{name: "Sam", o: scores, key: "Sam", want: "567"},
		{name: "no row", o: scores, key: "Bob", notFound: true},
		{name: "case matters", o: scores, key: "tom", notFound: true},
		{name: "quote in key", o: scores, key: "Tom' OR '1'='1", notFound: true},
		{name: "integer", o: vals, key: "int", want: "42"},
		{name: "negative", o: vals, key: "neg", want: "-7"},
		{name: "int64 max", o: vals, key: "big", want: "9223372036854775807"},
		{name: "real", o: vals, key: "real", want: "1.5"},
		{name: "whole real", o: vals, key: "whole", want: "2"},
		{name: "tiny real", o: vals, key: "tiny", want: "0.0000001"},
		{name: "huge real", o: vals, key: "huge", want: "1000000000000000000000"},
		{name: "inf", o: vals, key: "inf", want: "inf"},
		{name: "-inf", o: vals, key: "-inf", want: "-inf"},
		{name: "text", o: vals, key: "text", want: "hello"},
		{name: "empty text", o: vals, key: "empty", want: ""},
		{name: "utf8 text", o: vals, key: "utf8", want: "héllo"},
		{name: "blob", o: vals, key: "blob", want: "\x00\xff\n"},
		{name: "null", o: vals, key: "null", notFound: true},
		{name: "datetime", o: events, key: "launch", want: "2024-05-06T07:08:09Z"},
		{name: "datetime as text", o: eventText, key: "launch", want: "2024-05-06 07:08:09"},
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

func TestSQLiteReadOnly(t *testing.T) {
	t.Parallel()
	const update = "UPDATE scores SET score = 0 WHERE name = ? RETURNING score"
	tests := []struct {
		name      string
		readWrite bool
		wantErr   bool
		wantAfter string // Tom's score afterwards
	}{
		{name: "read-only by default", wantErr: true, wantAfter: "630"},
		{name: "read-write when asked", readWrite: true, wantAfter: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := newSQLiteDB(t)
			o := newSQLite(t, origin.SQLiteConfig{Path: path, Query: update, ReadWrite: tt.readWrite})
			got, err := o.Get(t.Context(), "Tom")
			if (err != nil) != tt.wantErr || errors.Is(err, group.ErrNotFound) {
				t.Errorf("Get(%q) through %q = %q, %v, want error %v", "Tom", update, got, err, tt.wantErr)
			}
			check := newSQLite(t, origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = ?"})
			if got, err := check.Get(t.Context(), "Tom"); err != nil || string(got) != tt.wantAfter {
				t.Errorf("after the update, Get(%q) = %q, %v, want %q", "Tom", got, err, tt.wantAfter)
			}
		})
	}
}

// slowSQLiteQuery counts to 10^12 before answering: far longer than any test.
const slowSQLiteQuery = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000)
SELECT count(*) FROM c WHERE ? IS NOT NULL`

func TestSQLiteTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	path := newSQLiteDB(t)
	tests := []struct {
		name       string
		cancelled  bool          // the ctx is cancelled before Get
		ctxTimeout time.Duration // the ctx's deadline, if any
		timeout    time.Duration // SQLiteConfig.Timeout
		want       error
	}{
		{name: "cancelled ctx", cancelled: true, want: context.Canceled},
		{name: "ctx deadline mid-query", ctxTimeout: 50 * time.Millisecond, want: context.DeadlineExceeded},
		{name: "config timeout mid-query", timeout: 50 * time.Millisecond, want: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newSQLite(t, origin.SQLiteConfig{Path: path, Query: slowSQLiteQuery, Timeout: tt.timeout})
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
}

func TestNewSQLiteErrors(t *testing.T) {
	t.Parallel()
	path := newSQLiteDB(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  origin.SQLiteConfig
		want string // in the error
	}{
		{name: "no path", cfg: origin.SQLiteConfig{Query: "SELECT 1 WHERE ? = 1"}, want: "no database path"},
		{name: "missing file", cfg: origin.SQLiteConfig{Path: filepath.Join(dir, "nope.db"), Query: "SELECT ?"}, want: "nope.db"},
		{name: "missing file read-write", cfg: origin.SQLiteConfig{Path: filepath.Join(dir, "nope.db"), Query: "SELECT ?", ReadWrite: true}, want: "nope.db"},
		{name: "directory", cfg: origin.SQLiteConfig{Path: dir, Query: "SELECT ?"}, want: "open"},
		{name: "no query", cfg: origin.SQLiteConfig{Path: path}, want: "no query"},
		{name: "no placeholder", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = 'Tom'"}, want: "found 0"},
		{name: "two placeholders", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = ? OR name = ?"}, want: "found 2"},
		{name: "placeholder in string only", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = '?'"}, want: "found 0"},
		{name: "placeholder in comment only", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores -- WHERE name = ?\n"}, want: "found 0"},
		{name: "numbered", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = ?1"}, want: "named"},
		{name: "named", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = :name"}, want: "named"},
		{name: "two statements", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = ?; DELETE FROM scores"}, want: "more than one statement"},
		{name: "syntax error", cfg: origin.SQLiteConfig{Path: path, Query: "SELEC score FROM scores WHERE name = ?"}, want: "syntax error"},
		{name: "missing table", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT score FROM nope WHERE name = ?"}, want: "no such table"},
		{name: "missing column", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT nope FROM scores WHERE name = ?"}, want: "no such column"},
		{name: "negative timeout", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT ?", Timeout: -1}, want: "negative"},
		{name: "negative conns", cfg: origin.SQLiteConfig{Path: path, Query: "SELECT ?", MaxOpenConns: -1}, want: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := origin.NewSQLite(tt.cfg)
			if err == nil {
				o.Close()
				t.Fatalf("NewSQLite(%+v) succeeded, want an error containing %q", tt.cfg, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSQLite(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nope.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after NewSQLite of a missing file, Stat = %v, want ErrNotExist (no file created)", err)
	}
}

func TestSQLiteQueriesAccepted(t *testing.T) {
	t.Parallel()
	path := newSQLiteDB(t)
	tests := []struct{ name, query string }{
		{name: "plain", query: "SELECT score FROM scores WHERE name = ?"},
		{name: "trailing semicolon and comment", query: "SELECT score FROM scores WHERE name = ?; -- done\n"},
		{name: "doubled quote in string", query: "SELECT score FROM scores WHERE name = ? AND 'it''s ?' <> ''"},
		{name: "quoted identifiers", query: `SELECT "score" FROM [scores] WHERE ` + "`name`" + ` = ?`},
		{name: "dollar inside identifier", query: "SELECT score AS a$b FROM scores WHERE name = ?"},
		{name: "block comment", query: "SELECT /* ? :x */ score FROM scores WHERE name = ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newSQLite(t, origin.SQLiteConfig{Path: path, Query: tt.query})
			if got, err := o.Get(t.Context(), "Tom"); err != nil || string(got) != "630" {
				t.Errorf("Get(%q) through %q = %q, %v, want %q", "Tom", tt.query, got, err, "630")
			}
		})
	}
}

func TestSQLiteOddPath(t *testing.T) {
	t.Parallel()
	// '?', '#' and '%' mean something in a file: URI; the origin escapes them.
	path := filepath.Join(t.TempDir(), "a?b#c%20d.db")
	if err := os.Rename(newSQLiteDB(t), path); err != nil {
		t.Fatalf("rename: %v", err)
	}
	o := newSQLite(t, origin.SQLiteConfig{Path: path, Query: "SELECT score FROM scores WHERE name = ?"})
	if got, err := o.Get(t.Context(), "Tom"); err != nil || string(got) != "630" {
		t.Errorf("Get(%q) = %q, %v, want %q", "Tom", got, err, "630")
	}
}

func TestSQLiteConcurrentGets(t *testing.T) {
	t.Parallel()
	o := newSQLite(t, origin.SQLiteConfig{Path: newSQLiteDB(t), Query: "SELECT score FROM scores WHERE name = ?", MaxOpenConns: 4})
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
}

func TestSQLiteGetAfterClose(t *testing.T) {
	t.Parallel()
	o, err := origin.NewSQLite(origin.SQLiteConfig{Path: newSQLiteDB(t), Query: "SELECT score FROM scores WHERE name = ?"})
	if err != nil {
		t.Fatalf("NewSQLite: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, err := o.Get(t.Context(), "Tom"); err == nil || errors.Is(err, group.ErrNotFound) {
		t.Errorf("Get after Close = %q, %v, want an error", got, err)
	}
}

func ExampleNewSQLite() {
	// A database with the scores table; in production it already exists.
	dir, err := os.MkdirTemp("", "rcache-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scores.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = db.Exec(`CREATE TABLE scores (name TEXT PRIMARY KEY, score INTEGER);
		INSERT INTO scores VALUES ('Tom', 630), ('Jack', 589), ('Sam', 567)`)
	db.Close()
	if err != nil {
		fmt.Println(err)
		return
	}

	scores, err := origin.NewSQLite(origin.SQLiteConfig{
		Path:  path,
		Query: "SELECT score FROM scores WHERE name = ?",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer scores.Close()

	g := group.NewRegistry().NewGroup("scores", 1<<20, scores)
	v, err := g.Get(context.Background(), "Tom")
	fmt.Println(v, err)
	_, err = g.Get(context.Background(), "Bob")
	fmt.Println(errors.Is(err, group.ErrNotFound))
	// Output:
	// 630 <nil>
	// true
}
