// Package config reads an rcache configuration file: the node's addresses,
// peers, password and memory budget, and its groups with their origins, in
// YAML.
//
// Reading is strict: an unknown key, a repeated key, a value of the wrong
// kind, a bad size or duration, and a setting that cannot work (a group
// with two origins, an HTTP URL without {key}, …) are errors that name the
// file and the line, never silent defaults. A key that is left out, or left
// empty, is unset: cmd/rcache uses its flag's value (the default, unless the
// flag is given) for it.
//
// The package reads only the file it is given. Settings that name an
// environment variable (requirepass_env, dsn_env, a header's env) hold the
// variable's name; cmd/rcache looks it up.
//
// An example, with every key:
//
//	addr: 127.0.0.1:6380          # for Redis clients
//	peer_addr: 127.0.0.1:8001     # for the peer protocol (HTTP)
//	self: http://127.0.0.1:8001   # this node as its peers reach it; default http://<peer_addr>
//	peers: [http://127.0.0.1:8001, http://127.0.0.1:8002]
//	requirepass_env: RCACHE_PASSWORD   # or requirepass: a literal (the environment is preferred)
//	max_memory: 64mb              # the default group's budget, and each group's unless it sets one
//	log_level: info
//	groups:
//	  - name: scores
//	    max_memory: 16mb
//	    ttl: 10m
//	    load_timeout: 5s
//	    max_origin_calls: 64
//	    origin:                   # exactly one of demo, http, sqlite, postgres and file
//	      sqlite: {path: scores.db, query: "SELECT score FROM scores WHERE name = ?"}
//	      # http: {url: "http://127.0.0.1:9000/scores/{key}", timeout: 2s, max_body_bytes: 1mb,
//	      #        headers: {Authorization: {env: API_TOKEN}, X-Team: {value: cache}}}
//	      # postgres: {dsn_env: RCACHE_PG_DSN, query: "SELECT score FROM scores WHERE name = $1", max_conns: 8}
//	      # file: {dir: files, max_file_bytes: 16mb}
//	      # demo: {}
//
// Relative paths (an sqlite path, a file dir) are relative to the directory
// of the configuration file, not to the working directory.
package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultGroup is the name of the plain cache that holds every key without
// a configured group prefix. No configured group may take it.
const DefaultGroup = "default"

// File is a configuration file. Its empty fields are unset. A File returned
// by Load or Parse is valid; one built by hand can be checked with Validate.
// A File is not safe for concurrent use while it is being changed.
type File struct {
	// Addr ("addr") is the host:port for Redis clients.
	Addr string

	// PeerAddr ("peer_addr") is the host:port for the peer protocol.
	PeerAddr string

	// Self ("self") is this node's URL as its peers reach it; unset means
	// http://<peer_addr>.
	Self string

	// Peers ("peers") are the URLs of every node, this one included; unset
	// means this node alone.
	Peers []string

	// RequirePass ("requirepass") is the password clients must AUTH with,
	// written in the file. RequirePassEnv is preferred: it keeps the secret
	// out of the file. At most one of the two may be set.
	RequirePass string

	// RequirePassEnv ("requirepass_env") names the environment variable that
	// holds the password clients must AUTH with.
	RequirePassEnv string

	// MaxMemory ("max_memory") is the memory budget of the default group and
	// of each group that does not set its own; nil means unset, and 0 means
	// no limit.
	MaxMemory *Bytes

	// LogLevel ("log_level") is debug, info, warn or error.
	LogLevel string

	// Groups ("groups") are the groups the node serves, in file order.
	Groups []Group

	name string // the file's name, for errors
	place
}

// Group is one entry of groups: a named cache and the origin it loads from.
type Group struct {
	// Name ("name") is the group's name, the prefix of its keys
	// ("scores" in "scores:Tom"). Required; see CheckGroupName.
	Name string

	// MaxMemory ("max_memory") is the group's memory budget; nil selects the
	// file's max_memory (or its default), and 0 means no limit.
	MaxMemory *Bytes

	// TTL ("ttl") is how long a loaded value stays cached; zero means until
	// evicted.
	TTL Duration

	// TTLJitter ("ttl_jitter") spreads ttl by this fraction either way so
	// that keys loaded together do not expire together; nil selects the
	// group's default (0.1) and 0 turns it off.
	TTLJitter *float64

	// NegativeTTL ("negative_ttl") is how long a "not found" from the
	// origin is remembered; nil selects the group's default (5s) and 0
	// turns it off.
	NegativeTTL *Duration

	// HotTTL ("hot_ttl") bounds how long a copy of another node's value is
	// served without asking it again, and so how stale a copy can be when
	// an invalidation is lost; zero selects the group's default (5s).
	HotTTL Duration

	// HotProbability ("hot_probability") is the chance that a value
	// fetched from its owner is kept as a hot copy (one fetched again within
	// hot_ttl is kept anyway, unless hot_on_repeat is false); nil selects
	// the group's default (0.1), 0 turns hot copies off and 1 keeps every
	// one.
	HotProbability *float64

	// HotOnRepeat ("hot_on_repeat") keeps a hot copy of every value fetched
	// from its owner a second time within one to two hot_ttl, whatever
	// hot_probability says; nil selects the default (true), false keeps
	// copies only by chance, as groupcache does.
	HotOnRepeat *bool

	// MaxStale ("max_stale") lets an expired value be served this long
	// while the origin fails; zero (the default) never serves stale values.
	MaxStale Duration

	// LoadTimeout ("load_timeout") bounds one load; zero selects the
	// group's default (10s).
	LoadTimeout Duration

	// MaxOriginCalls ("max_origin_calls") caps the origin calls the node
	// runs at once for the group; zero selects the group's default (64).
	MaxOriginCalls int

	// Origin ("origin") is where the group loads values from. Required.
	Origin Origin

	file string // the file's name, for Pos
	place
}

// Pos returns where g starts, as "file:line", for errors about it that come
// after the file is read (an origin that fails to open, say). It is empty
// for a Group that was not read from a file.
func (g *Group) Pos() string {
	if g.file == "" || g.line == 0 {
		return g.file
	}
	return fmt.Sprintf("%s:%d", g.file, g.line)
}

// Origin holds the settings of a group's origin: exactly one field is set,
// and its key ("demo", "http", "sqlite", "postgres" or "file") is the kind
// of origin. The zero values of the settings select the origin's defaults
// (see package origin).
type Origin struct {
	// Demo ("demo") selects the embedded demo scores.
	Demo *DemoOrigin

	// HTTP ("http") selects an HTTP service.
	HTTP *HTTPOrigin

	// SQLite ("sqlite") selects an SQLite database.
	SQLite *SQLiteOrigin

	// Postgres ("postgres") selects a PostgreSQL database.
	Postgres *PostgresOrigin

	// File ("file") selects a directory of files.
	File *FileOrigin

	place
}

// Kind returns the key of o's origin ("sqlite", …), the kinds joined with
// "+" when there are several, or "" when there is none. It is what logs
// show of an origin: never its settings, which may hold secrets.
func (o *Origin) Kind() string {
	var k string
	add := func(set bool, name string) {
		switch {
		case !set:
		case k == "":
			k = name
		default:
			k += "+" + name
		}
	}
	add(o.Demo != nil, "demo")
	add(o.HTTP != nil, "http")
	add(o.SQLite != nil, "sqlite")
	add(o.Postgres != nil, "postgres")
	add(o.File != nil, "file")
	return k
}

// DemoOrigin selects the embedded demo scores ("demo: {}"). It has no
// settings.
type DemoOrigin struct{}

// HTTPOrigin holds the settings of an HTTP origin ("http"): each key is a
// GET of URL; 200 is the value, 404 not found, and any other status an
// error naming it.
type HTTPOrigin struct {
	// URL ("url") is the template of the URL to GET: {key} is replaced by
	// the escaped key and {group} by the escaped group name. Required, with
	// {key}.
	URL string

	// Timeout ("timeout") bounds one request; zero selects 10s.
	Timeout Duration

	// MaxBodyBytes ("max_body_bytes") bounds a value; a larger body is an
	// error. Zero selects 64 MiB.
	MaxBodyBytes Bytes

	// Headers ("headers") are sent with every request, in file order. In
	// the file they are a mapping from the header's name to {value: …} or
	// {env: …}: "headers: {Authorization: {env: API_TOKEN}}".
	Headers []Header

	place
}

// Header is a request header of an HTTP origin. Exactly one of Value and
// Env is set.
type Header struct {
	// Name is the header's name, e.g. "Authorization": the key of its entry
	// in headers.
	Name string

	// Value ("value") is the header's value, written in the file.
	Value string

	// Env ("env") names the environment variable that holds the header's
	// value; use it for secrets such as tokens.
	Env string

	place
}

// SQLiteOrigin holds the settings of an SQLite origin ("sqlite"). The
// database is opened read-only.
type SQLiteOrigin struct {
	// Path ("path") is the database file, relative to the configuration
	// file's directory unless absolute. Required; it must exist.
	Path string

	// Query ("query") selects a key's value, with one ? for the key, e.g.
	// "SELECT score FROM scores WHERE name = ?". Required.
	Query string

	// MaxOpenConns ("max_open_conns") bounds the connections; zero selects 8.
	MaxOpenConns int

	// Timeout ("timeout") bounds one query; zero selects 10s.
	Timeout Duration

	place
}

// PostgresOrigin holds the settings of a PostgreSQL origin ("postgres").
// Exactly one of DSN and DSNEnv is set.
type PostgresOrigin struct {
	// DSN ("dsn") is the connection string, written in the file. It may not
	// hold a password: use DSNEnv for a DSN that does (or a password file,
	// ~/.pgpass).
	DSN string

	// DSNEnv ("dsn_env") names the environment variable that holds the
	// connection string.
	DSNEnv string

	// Query ("query") selects a key's value, with $1 for the key, e.g.
	// "SELECT score FROM scores WHERE name = $1". Required.
	Query string

	// MaxConns ("max_conns") bounds the connections; zero selects 8.
	MaxConns int

	// Timeout ("timeout") bounds one query; zero selects 10s.
	Timeout Duration

	place
}

// FileOrigin holds the settings of a file origin ("file"): the key is a
// path under Dir, the file's contents the value.
type FileOrigin struct {
	// Dir ("dir") is the directory, relative to the configuration file's
	// directory unless absolute. Required; it must exist.
	Dir string

	// MaxFileBytes ("max_file_bytes") bounds a value; a larger file is an
	// error. Zero selects 64 MiB.
	MaxFileBytes Bytes

	place
}

// place records where a mapping and its keys are in the file, so that
// Validate can name the line of what it finds wrong.
type place struct {
	line int            // the mapping's line; 0 when not read from a file
	keys map[string]int // the line of each key present
}

// at returns the line of key, or of the mapping when key is absent.
func (p *place) at(key string) int {
	if l, ok := p.keys[key]; ok {
		return l
	}
	return p.line
}

// Load reads and validates the configuration file at path. See Parse.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration file. name is the file's
// path: errors begin with it ("rcache.yaml:7: unknown key \"ttll\" in
// group"), and the relative paths the file holds (an sqlite path, a file
// dir) are made relative to its directory, so that they name the same file
// whatever the working directory. The error, if any, lists every problem
// found, one a line.
func Parse(name string, data []byte) (*File, error) {
	f, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	for i := range f.Groups {
		o := &f.Groups[i].Origin
		if o.SQLite != nil {
			o.SQLite.Path = relativeTo(dir, o.SQLite.Path)
		}
		if o.File != nil {
			o.File.Dir = relativeTo(dir, o.File.Dir)
		}
	}
	return f, nil
}

// relativeTo returns path joined to dir, unless it is absolute.
func relativeTo(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// lineError is a problem at a line of a file.
type lineError struct {
	file string // "" when unknown
	line int    // 0 when unknown
	msg  string
}

func (e *lineError) Error() string {
	switch {
	case e.file != "" && e.line > 0:
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	case e.file != "":
		return e.file + ": " + e.msg
	case e.line > 0:
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return e.msg
}
