package main

import (
	"strings"
	"testing"

	"github.com/rcache/rcache/config"
)

func TestParseSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, source string
		check        func(config.Origin) bool
	}{
		{"demo", "demo", func(o config.Origin) bool { return o.Demo != nil && o.Kind() == "demo" }},
		{"http", "http://127.0.0.1:9000/scores/{key}", func(o config.Origin) bool {
			return o.HTTP != nil && o.HTTP.URL == "http://127.0.0.1:9000/scores/{key}"
		}},
		{"https", "https://api.example/{group}/{key}", func(o config.Origin) bool {
			return o.HTTP != nil && o.HTTP.URL == "https://api.example/{group}/{key}"
		}},
		{"sqlite, query escaped", "sqlite:examples/scores.db?query=SELECT%20score%20FROM%20scores%20WHERE%20name%20%3D%20%3F", func(o config.Origin) bool {
			return o.SQLite != nil && o.SQLite.Path == "examples/scores.db" && o.SQLite.Query == "SELECT score FROM scores WHERE name = ?"
		}},
		{"sqlite, query with + and a bare ?", "sqlite:/var/db/s.db?query=SELECT+score+FROM+scores+WHERE+name=?", func(o config.Origin) bool {
			return o.SQLite != nil && o.SQLite.Path == "/var/db/s.db" && o.SQLite.Query == "SELECT score FROM scores WHERE name=?"
		}},
		{"file", "file:/srv/data", func(o config.Origin) bool { return o.File != nil && o.File.Dir == "/srv/data" }},
		{"postgres", "postgres://rcache@db:5432/app?sslmode=disable&query=SELECT+score+FROM+scores+WHERE+name+%3D+%241", func(o config.Origin) bool {
			return o.Postgres != nil && o.Postgres.DSN == "postgres://rcache@db:5432/app?sslmode=disable" &&
				o.Postgres.Query == "SELECT score FROM scores WHERE name = $1"
		}},
		{"postgresql", "postgresql:///app?query=SELECT+1+WHERE+%241+IS+NOT+NULL", func(o config.Origin) bool {
			return o.Postgres != nil && o.Postgres.DSN == "postgresql:///app" && o.Postgres.Query == "SELECT 1 WHERE $1 IS NOT NULL"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseSource(tt.source)
			if err != nil || !tt.check(o) {
				t.Errorf("parseSource(%q) = %+v, %v", tt.source, o, err)
			}
		})
	}
}

func TestParseSourceErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, source, want string
	}{
		{"unknown", "mysql://h/db", "unknown source"},
		{"sqlite without query", "sqlite:scores.db", "no query"},
		{"sqlite without path", "sqlite:?query=SELECT+1", "want sqlite:PATH?query=QUERY"},
		{"sqlite unknown parameter", "sqlite:s.db?query=x&mode=rw", `unknown parameter "mode"`},
		{"sqlite bad escape", "sqlite:s.db?query=%zz", "URL-encoded"},
		{"file without dir", "file:", "want file:DIR"},
		{"postgres without query", "postgres://rcache@db/app", "no query: add ?query=QUERY"},
		{"postgres with password", "postgres://rcache:hunter2@db/app?query=SELECT+%241", "holds a password"},
		{"postgres with password parameter", "postgres://db/app?password=hunter2&query=SELECT+%241", "holds a password"},
		{"postgres that does not parse", "postgres://rcache:hunter2@db:port/app", "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseSource(tt.source)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseSource(%q) = %v, want an error containing %q", tt.source, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("parseSource(%q) = %v, which quotes the password", tt.source, err)
			}
		})
	}
}
