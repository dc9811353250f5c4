package origin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rcache/rcache/engine/group"
)

// PostgresConfig describes a PostgreSQL origin. Zero fields select the
// defaults.
type PostgresConfig struct {
	// DSN is the connection string, as a URL
	// ("postgres://rcache:pw@db:5432/app?sslmode=verify-full") or as
	// key=value pairs. Required. It may hold a password, so it never appears
	// in an error or a log line; cmd/rcache reads it from an environment
	// variable rather than a flag, to keep it out of the process list. As
	// with libpq, pgx fills in what the DSN leaves out from the PG*
	// environment variables and ~/.pgpass.
	DSN string

	// Query selects the value of a key, with $1 standing for the key, e.g.
	// "SELECT score FROM scores WHERE name = $1". Required. It must take
	// exactly one parameter and return at least one column; NewPostgres has
	// the server check both. The key is sent as text and the server converts
	// it to $1's type: a key it cannot convert (say "abc" for an integer)
	// fails the Get, so compare as text ("WHERE id::text = $1") when keys
	// come from untrusted clients. Only the first row is used, but the
	// server sends them all: add LIMIT 1 if the query can match many.
	Query string

	// MaxConns bounds the connections in the origin's pool; zero selects 8.
	MaxConns int32

	// Timeout bounds one query; zero selects 10s. The load's own context may
	// end it sooner. The server is asked to cancel a query that runs past it.
	Timeout time.Duration
}

// Validate reports what is wrong with c, if anything. It never quotes DSN.
func (c *PostgresConfig) Validate() error {
	switch {
	case c.DSN == "":
		return errors.New("origin: postgres: no DSN")
	case strings.TrimSpace(c.Query) == "":
		return errors.New("origin: postgres: no query")
	case c.MaxConns < 0 || c.Timeout < 0:
		return errors.New("origin: postgres: negative connection limit or timeout")
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c PostgresConfig) withDefaults() PostgresConfig {
	if c.MaxConns == 0 {
		c.MaxConns = 8
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	return c
}

// Postgres is an origin that runs one query per key on a PostgreSQL server,
// through a pgx connection pool.
//
// The first column of the first row is the value: text and bytea as their
// bytes; integers in decimal; real and double precision as Redis renders a
// double ("1.5", "nan", "inf", "-inf"); numeric, and any other type, as
// PostgreSQL's text output ("589.50", "t", a timestamp in the server's
// DateStyle). NULL, and no row, are not found.
//
// Errors name the operation and carry the server's message, never the DSN
// or its password.
//
// Postgres is safe for concurrent use.
type Postgres struct {
	cfg      PostgresConfig
	pool     *pgxpool.Pool
	password string // the DSN's password, scrubbed from error text
}

// postgresFormats asks for the binary form of the types whose bytes Get
// renders itself, and the text form of the rest.
var postgresFormats = pgx.QueryResultFormatsByOID{
	pgtype.ByteaOID:  pgx.BinaryFormatCode,
	pgtype.Float4OID: pgx.BinaryFormatCode,
	pgtype.Float8OID: pgx.BinaryFormatCode,
}

// NewPostgres connects to the server cfg.DSN names, has it check cfg.Query,
// and returns the origin. ctx bounds the connection and the check.
func NewPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's message quotes the DSN, with the password masked only on a
		// best-effort basis: keep none of it.
		return nil, errors.New("origin: postgres: cannot parse the DSN")
	}
	pcfg.MaxConns = cfg.MaxConns
	pcfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		// When a query's ctx ends, ask the server to cancel it, so that it
		// does not run on; if the server has not answered within a second,
		// break the connection instead.
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	p := &Postgres{cfg: cfg, password: pcfg.ConnConfig.Password}
	if p.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return nil, p.errorf(ctx, "connect", err)
	}
	if err := p.checkQuery(ctx); err != nil {
		p.pool.Close()
		return nil, err
	}
	return p, nil
}

// checkQuery has the server parse cfg.Query and checks that it takes one
// parameter and returns a column.
func (p *Postgres) checkQuery(ctx context.Context) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return p.errorf(ctx, "connect", err)
	}
	defer conn.Release()
	sd, err := conn.Conn().PgConn().Prepare(ctx, "", p.cfg.Query, nil)
	if err != nil {
		return p.errorf(ctx, "prepare query", err)
	}
	switch {
	case len(sd.ParamOIDs) != 1:
		return fmt.Errorf("origin: postgres: query: want exactly one parameter, $1, for the key, found %d", len(sd.ParamOIDs))
	case len(sd.Fields) == 0:
		return errors.New("origin: postgres: query returns no columns")
	}
	return nil
}

// Get runs the query for key. It ends with ctx or after the configured
// timeout, whichever comes first.
func (p *Postgres) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	op := fmt.Sprintf("get %q", key)
	rows, err := p.pool.Query(ctx, p.cfg.Query, postgresFormats, key)
	if err != nil {
		return nil, p.errorf(ctx, op, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, p.errorf(ctx, op, err)
		}
		return nil, fmt.Errorf("origin: postgres %s: %w", op, group.ErrNotFound)
	}
	raw := rows.RawValues()[0]
	if raw == nil {
		return nil, fmt.Errorf("origin: postgres %s: value is NULL: %w", op, group.ErrNotFound)
	}
	switch oid := rows.FieldDescriptions()[0].DataTypeOID; oid {
	case pgtype.Float4OID:
		if len(raw) != 4 {
			return nil, fmt.Errorf("origin: postgres %s: real of %d bytes", op, len(raw))
		}
		return []byte(formatFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(raw))), 32)), nil
	case pgtype.Float8OID:
		if len(raw) != 8 {
			return nil, fmt.Errorf("origin: postgres %s: double of %d bytes", op, len(raw))
		}
		return []byte(formatFloat(math.Float64frombits(binary.BigEndian.Uint64(raw)), 64)), nil
	}
	// raw is pgx's buffer, reused by the next row: copy it out.
	return append([]byte(nil), raw...), nil
}

// errorf returns the error for op failing with err. When ctx has ended it
// wraps ctx's cause instead of the driver's report of the cancelled query.
// Otherwise it keeps err in the chain for errors.As, but its text is only
// what is safe to show: the server's message for a PgError, the network
// operation for a net.OpError, and pgx's text with the password removed
// otherwise. pgx's connection errors name the user, database and host, and
// are cut down to their cause.
func (p *Postgres) errorf(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("origin: postgres %s: %w", op, context.Cause(ctx))
	}
	var (
		pgErr   *pgconn.PgError
		opErr   *net.OpError
		connErr *pgconn.ConnectError
		msg     string
	)
	switch {
	case errors.As(err, &pgErr):
		msg = fmt.Sprintf("%s: %s (SQLSTATE %s)", strings.ToLower(pgErr.Severity), pgErr.Message, pgErr.Code)
	case errors.As(err, &opErr):
		msg = opErr.Op + ": " + opErr.Err.Error()
	case errors.As(err, &connErr):
		inner := connErr.Unwrap()
		for next := errors.Unwrap(inner); next != nil; next = errors.Unwrap(inner) {
			inner = next
		}
		msg = "connect: " + inner.Error()
	default:
		msg = err.Error()
	}
	if p.password != "" {
		msg = strings.ReplaceAll(msg, p.password, "xxxxx")
	}
	return fmt.Errorf("origin: postgres %s: %w", op, &redactedError{msg: msg, err: err})
}

// redactedError is err shown as msg: an error whose own text may not be
// shown, kept for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

// Error returns the safe text.
func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *redactedError) Unwrap() error { return e.err }

// Close closes the pool's connections, waiting for the ones in use to be
// released. Gets after Close fail. It always returns nil.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}
