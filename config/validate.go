package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strings"

	"github.com/rcache/rcache/origin"
)

// Validate reports what is wrong with f, if anything, as far as can be told
// without the environment or the network: every problem, one a line, each
// naming the line of the setting at fault when f was read from a file.
// Whether an environment variable is set, a file exists or a query
// compiles is for cmd/rcache to find out when it opens the origins.
func (f *File) Validate() error {
	c := &checker{file: f.name}
	if f.Addr != "" {
		if _, _, err := net.SplitHostPort(f.Addr); err != nil {
			c.errorf(f.at("addr"), "addr %q: want host:port", f.Addr)
		}
	}
	if f.PeerAddr != "" {
		if _, _, err := net.SplitHostPort(f.PeerAddr); err != nil {
			c.errorf(f.at("peer_addr"), "peer_addr %q: want host:port", f.PeerAddr)
		}
	}
	if f.Self != "" {
		if err := CheckPeerURL(f.Self); err != nil {
			c.errorf(f.at("self"), "self: %v", err)
		}
	}
	for _, p := range f.Peers {
		if err := CheckPeerURL(p); err != nil {
			c.errorf(f.at("peers"), "peers: %v", err)
		}
	}
	if f.Self != "" && len(f.Peers) > 0 && !containsURL(f.Peers, f.Self) {
		c.errorf(f.at("peers"), "peers must include self (%s)", f.Self)
	}
	if f.RequirePass != "" && f.RequirePassEnv != "" {
		c.errorf(f.at("requirepass"), "requirepass and requirepass_env both set: want one")
	}
	c.envName(f.at("requirepass_env"), "requirepass_env", f.RequirePassEnv)
	if f.LogLevel != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(f.LogLevel)); err != nil {
			c.errorf(f.at("log_level"), "log_level %q: want debug, info, warn or error", f.LogLevel)
		}
	}
	first := make(map[string]int) // group name -> line
	for i := range f.Groups {
		g := &f.Groups[i]
		if err := CheckGroupName(g.Name); err != nil {
			c.errorf(g.at("name"), "%v", err)
		} else if line, dup := first[g.Name]; dup {
			c.errorf(g.at("name"), "group %q defined twice (first at line %d)", g.Name, line)
		} else {
			first[g.Name] = g.at("name")
		}
		c.origin(g)
	}
	return errors.Join(c.errs...)
}

// CheckGroupName reports what is wrong with name as the name of a group, if
// anything: it must not be empty or DefaultGroup, and may not hold a colon
// (keys are "group:key") or white space.
func CheckGroupName(name string) error {
	switch {
	case name == "":
		return errors.New("group has no name")
	case name == DefaultGroup:
		return fmt.Errorf("group name %q is reserved for the plain cache", name)
	case strings.ContainsAny(name, ": \t\r\n"):
		return fmt.Errorf("group name %q: may not contain ':' or white space", name)
	}
	return nil
}

// CheckPeerURL reports what is wrong with s as the URL of a node, if
// anything: it must be http:// or https:// with a host.
func CheckPeerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q: want http://host:port", s)
	}
	return nil
}

// containsURL reports whether list holds u, ignoring a trailing slash.
func containsURL(list []string, u string) bool {
	for _, x := range list {
		if strings.TrimSuffix(x, "/") == strings.TrimSuffix(u, "/") {
			return true
		}
	}
	return false
}

// checker collects the problems Validate finds.
type checker struct {
	file string
	errs []error
}

func (c *checker) errorf(line int, format string, args ...any) {
	c.errs = append(c.errs, &lineError{file: c.file, line: line, msg: fmt.Sprintf(format, args...)})
}

// envName checks the name of an environment variable, when one is given.
func (c *checker) envName(line int, key, name string) {
	if strings.ContainsAny(name, "=\x00") {
		c.errorf(line, "%s %q: not the name of an environment variable", key, name)
	}
}

// origin checks g's origin.
func (c *checker) origin(g *Group) {
	o := &g.Origin
	line := g.at("origin")
	kind := o.Kind()
	switch {
	case kind == "":
		c.errorf(line, "group %q: no origin (want one of %s)", g.Name, strings.Join(originKeys, ", "))
		return
	case strings.Contains(kind, "+"):
		c.errorf(line, "group %q: more than one origin (%s): want one", g.Name, strings.ReplaceAll(kind, "+", ", "))
		return
	}
	switch {
	case o.HTTP != nil:
		c.http(g.Name, o.HTTP)
	case o.SQLite != nil:
		s := o.SQLite
		if s.Path == "" {
			c.errorf(s.at("path"), "group %q: sqlite origin has no path", g.Name)
		}
		if strings.TrimSpace(s.Query) == "" {
			c.errorf(s.at("query"), "group %q: sqlite origin has no query", g.Name)
		} else if !strings.Contains(s.Query, "?") {
			c.errorf(s.at("query"), "group %q: sqlite query has no ? for the key", g.Name)
		}
	case o.Postgres != nil:
		c.postgres(g.Name, o.Postgres)
	case o.File != nil:
		if o.File.Dir == "" {
			c.errorf(o.File.at("dir"), "group %q: file origin has no dir", g.Name)
		}
	}
}

func (c *checker) http(group string, h *HTTPOrigin) {
	// Check the URL as origin.NewHTTP will, but never quote a password.
	u, err := url.Parse(strings.NewReplacer("{key}", "k", "{group}", "g").Replace(h.URL))
	switch {
	case h.URL == "":
		c.errorf(h.at("url"), "group %q: http origin has no url", group)
	case err != nil:
		c.errorf(h.at("url"), "group %q: http url does not parse", group)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		c.errorf(h.at("url"), "group %q: http url %q: want http:// or https:// and a host", group, u.Redacted())
	case !strings.Contains(h.URL, "{key}"):
		c.errorf(h.at("url"), "group %q: http url %q has no {key}", group, u.Redacted())
	}
	for _, hd := range h.Headers {
		line := hd.line
		switch {
		case !origin.ValidHeaderName(hd.Name):
			c.errorf(line, "group %q: header %q: not a valid header name", group, hd.Name)
		case hd.Value != "" && hd.Env != "":
			c.errorf(line, "group %q: header %s: both value and env set: want one", group, hd.Name)
		case hd.Value == "" && hd.Env == "":
			c.errorf(line, "group %q: header %s: want {value: …} or {env: VARIABLE}", group, hd.Name)
		case strings.ContainsAny(hd.Value, "\r\n\x00"):
			// The value may be a secret: say what is wrong, not what it is.
			c.errorf(hd.at("value"), "group %q: header %s: the value holds a line break or NUL", group, hd.Name)
		}
		c.envName(hd.at("env"), "env", hd.Env)
	}
}

func (c *checker) postgres(group string, p *PostgresOrigin) {
	switch {
	case p.DSN != "" && p.DSNEnv != "":
		c.errorf(p.at("dsn"), "group %q: postgres origin has both dsn and dsn_env: want one", group)
	case p.DSN == "" && p.DSNEnv == "":
		c.errorf(p.line, "group %q: postgres origin has no dsn_env (or dsn)", group)
	case p.DSN != "" && dsnHasPassword(p.DSN):
		// Never quote the DSN: it holds a password.
		c.errorf(p.at("dsn"), "group %q: the postgres dsn holds a password: put the DSN in an environment variable and name it in dsn_env", group)
	}
	c.envName(p.at("dsn_env"), "dsn_env", p.DSNEnv)
	if strings.TrimSpace(p.Query) == "" {
		c.errorf(p.at("query"), "group %q: postgres origin has no query", group)
	} else if !strings.Contains(p.Query, "$1") {
		c.errorf(p.at("query"), "group %q: postgres query has no $1 for the key", group)
	}
	if p.MaxConns > math.MaxInt32 {
		c.errorf(p.at("max_conns"), "group %q: max_conns %d too large", group, p.MaxConns)
	}
}

// dsnHasPassword reports whether a PostgreSQL connection string, as a URL
// or as key=value pairs, holds a password.
func dsnHasPassword(dsn string) bool {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return true // cannot tell: err on the side of the secret
		}
		_, set := u.User.Password()
		return set || u.Query().Has("password")
	}
	// key=value pairs: "password" (or "sslpassword"), spaces, then "=".
	for rest := dsn; ; {
		i := strings.Index(rest, "password")
		if i < 0 {
			return false
		}
		rest = rest[i+len("password"):]
		if strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=") {
			return true
		}
	}
}
