package origin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rcache/rcache/engine/group"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// SQLiteConfig describes an SQLite origin. Zero fields select the defaults.
type SQLiteConfig struct {
	// Path is the database file. Required; the file must exist: the origin
	// never creates one.
	Path string

	// Query selects the value of a key, with exactly one ? standing for the
	// key (bound as TEXT), e.g. "SELECT score FROM scores WHERE name = ?".
	// Required. Numbered (?1) and named (:k, @k, $k) parameters, and more
	// than one statement, are refused.
	Query string

	// ReadWrite opens the database read-write. The default, false, opens it
	// read-only (mode=ro and PRAGMA query_only), so that no Query can change
	// it.
	ReadWrite bool

	// MaxOpenConns bounds the connections of the origin's one shared handle;
	// zero selects 8.
	MaxOpenConns int

	// Timeout bounds one query, and how long it waits for a lock held by a
	// writer; zero selects 10s. The load's own context may end it sooner.
	Timeout time.Duration
}

// Validate reports what is wrong with c, if anything. It checks Query's
// placeholders; NewSQLite also has SQLite compile it.
func (c *SQLiteConfig) Validate() error {
	if c.Path == "" {
		return errors.New("origin: sqlite: no database path")
	}
	if strings.TrimSpace(c.Query) == "" {
		return fmt.Errorf("origin: sqlite %s: no query", c.Path)
	}
	if c.MaxOpenConns < 0 || c.Timeout < 0 {
		return fmt.Errorf("origin: sqlite %s: negative connection limit or timeout", c.Path)
	}
	return checkSQLiteQuery(c.Query)
}

// withDefaults returns c with its zero fields set to their defaults.
func (c SQLiteConfig) withDefaults() SQLiteConfig {
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 8
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	return c
}

// SQLite is an origin that runs one query per key against an SQLite
// database, through the pure-Go modernc.org/sqlite driver.
//
// The first column of the first row is the value: TEXT and BLOB as their
// bytes, INTEGER in decimal, REAL as Redis renders a double ("1.5", "inf",
// "-inf"). NULL, and no row, are not found. A column declared DATE,
// DATETIME or TIMESTAMP is parsed by the driver and rendered in RFC 3339;
// select CAST(col AS TEXT) to get the stored text unchanged.
//
// SQLite is safe for concurrent use: its queries share one bounded pool of
// connections.
type SQLite struct {
	cfg  SQLiteConfig
	db   *sql.DB
	stmt *sql.Stmt // cfg.Query, prepared once; database/sql re-prepares it per connection
}

// minCheckTimeout is the least time NewSQLite gives its checks.
const minCheckTimeout = 5 * time.Second

// NewSQLite opens the database at cfg.Path, checks that it can be read and
// that cfg.Query compiles against it, and returns the origin. A missing file,
// a missing table or a query that does not compile is an error here, not at
// the first Get. The checks take at most cfg.Timeout, or minCheckTimeout
// when that is longer: a tight per-query timeout must not fail the start-up
// of a busy machine.
func NewSQLite(cfg SQLiteConfig) (*SQLite, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dsn, err := sqliteDSN(cfg)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("origin: sqlite open %s: %w", cfg.Path, err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxOpenConns)
	ctx, cancel := context.WithTimeout(context.Background(), max(cfg.Timeout, minCheckTimeout))
	defer cancel()
	// SQLite opens the file lazily: Ping makes a missing file an error now.
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("origin: sqlite open %s: %w", cfg.Path, err)
	}
	stmt, err := db.PrepareContext(ctx, cfg.Query)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("origin: sqlite %s: prepare query: %w", cfg.Path, err)
	}
	return &SQLite{cfg: cfg, db: db, stmt: stmt}, nil
}

// sqliteDSN returns the driver's data source name for cfg: a file: URI,
// so that SQLite itself honours mode=ro (and never creates the file), with
// the driver's _pragma parameters.
func sqliteDSN(cfg SQLiteConfig) (string, error) {
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return "", fmt.Errorf("origin: sqlite open %s: %w", cfg.Path, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.Timeout.Milliseconds()))
	if cfg.ReadWrite {
		q.Set("mode", "rw")
	} else {
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	}
	// url.URL escapes '?', '#' and '%' in the path; SQLite decodes them.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String(), nil
}

// Get runs the query for key. It ends with ctx or after the configured
// timeout, whichever comes first, interrupting SQLite mid-query.
func (s *SQLite) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	rows, err := s.stmt.QueryContext(ctx, key)
	if err != nil {
		return nil, sqliteError(ctx, key, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, sqliteError(ctx, key, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("origin: sqlite get %q: query returns no columns", key)
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, sqliteError(ctx, key, err)
		}
		return nil, fmt.Errorf("origin: sqlite get %q: %w", key, group.ErrNotFound)
	}
	var v any
	dest := make([]any, len(cols))
	dest[0] = &v
	for i := 1; i < len(dest); i++ {
		dest[i] = new(any)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, sqliteError(ctx, key, err)
	}
	switch v := v.(type) {
	case nil:
		return nil, fmt.Errorf("origin: sqlite get %q: value is NULL: %w", key, group.ErrNotFound)
	case []byte:
		return v, nil // Scan into *any copied it out of the driver's buffer
	case string:
		return []byte(v), nil
	case int64:
		return strconv.AppendInt(nil, v, 10), nil
	case float64:
		return []byte(formatFloat(v, 64)), nil
	case time.Time:
		return v.AppendFormat(nil, time.RFC3339Nano), nil
	default:
		return nil, fmt.Errorf("origin: sqlite get %q: unexpected value type %T", key, v)
	}
}

// sqliteError wraps err from the query for key, or, when the query's ctx
// ended, ctx's cause: the driver reports an interrupted query as its own
// "interrupted" error.
func sqliteError(ctx context.Context, key string, err error) error {
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return fmt.Errorf("origin: sqlite get %q: %w", key, err)
}

// Close closes the database handle. Gets after Close fail.
func (s *SQLite) Close() error {
	s.stmt.Close()
	return s.db.Close()
}

// formatFloat renders f as Redis renders a double: the shortest decimal
// that reads back as f, without an exponent, and "nan", "inf" or "-inf".
// bits is 32 for a float4 read from PostgreSQL, so that 1.1 stays "1.1".
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// checkSQLiteQuery reports whether q holds exactly one statement with
// exactly one bare ? parameter. It follows SQLite's tokenizer as far as
// that matters: string literals ('…', with ” inside), quoted identifiers
// ("…", `…`, […]) and comments (-- and /* */) hold no parameters, and a $
// inside a word is part of an identifier.
func checkSQLiteQuery(q string) error {
	var marks, others int
	var semi, trailing bool
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			i = skipPast(q, i+2, "\n")
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipPast(q, i+2, "*/")
			continue
		case c == ';':
			semi = true
			i++
			continue
		}
		if semi {
			trailing = true
		}
		switch {
		case c == '\'' || c == '"' || c == '`':
			// A doubled quote inside reads as one: skipping past the first
			// closing quote and going round again lands in the same place.
			i = skipPast(q, i+1, string(c))
		case c == '[':
			i = skipPast(q, i+1, "]")
		case c == '?':
			j := i + 1
			for j < len(q) && '0' <= q[j] && q[j] <= '9' {
				j++
			}
			if j == i+1 {
				marks++
			} else {
				others++
			}
			i = j
		case c == ':' || c == '@' || c == '$':
			j := i + 1
			for j < len(q) && isSQLiteWordByte(q[j]) {
				j++
			}
			if j > i+1 {
				others++
			}
			i = j
		case isSQLiteWordByte(c):
			for i < len(q) && isSQLiteWordByte(q[i]) {
				i++
			}
		default:
			i++
		}
	}
	switch {
	case trailing:
		return errors.New("origin: sqlite query: more than one statement")
	case others > 0:
		return errors.New("origin: sqlite query: use one ? for the key, not numbered or named parameters")
	case marks != 1:
		return fmt.Errorf("origin: sqlite query: want exactly one ? for the key, found %d", marks)
	}
	return nil
}

// skipPast returns the index just past the first end at or after i in q,
// or len(q) when there is none.
func skipPast(q string, i int, end string) int {
	j := strings.Index(q[i:], end)
	if j < 0 {
		return len(q)
	}
	return i + j + len(end)
}

// isSQLiteWordByte reports whether c can continue an SQLite identifier or
// number: letters, digits, _, $ and any byte of a non-ASCII character.
func isSQLiteWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '$' || c >= 0x80
}
