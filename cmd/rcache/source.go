package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/rcache/rcache/config"
)

// parseSource turns the SOURCE of a --group NAME=SOURCE into the origin
// settings it stands for, as a config file would hold them. It checks the
// form only: whether the file exists, the URL answers or the query compiles
// is found out when the origin opens. Its errors never quote a PostgreSQL
// URL, which may hold a password.
func parseSource(source string) (config.Origin, error) {
	switch {
	case source == "demo":
		return config.Origin{Demo: &config.DemoOrigin{}}, nil

	case strings.HasPrefix(source, "http://"), strings.HasPrefix(source, "https://"):
		return config.Origin{HTTP: &config.HTTPOrigin{URL: source}}, nil

	case strings.HasPrefix(source, "sqlite:"):
		// sqlite:PATH?query=QUERY. PATH is taken as written, up to the first
		// '?', and relative to the working directory.
		path, rawQuery, _ := strings.Cut(strings.TrimPrefix(source, "sqlite:"), "?")
		params, err := url.ParseQuery(rawQuery)
		if err != nil {
			return config.Origin{}, fmt.Errorf("source %q: the query does not parse as URL-encoded: %w", source, err)
		}
		if err := onlyParam(params, "query"); err != nil {
			return config.Origin{}, fmt.Errorf("source %q: %w", source, err)
		}
		switch {
		case path == "":
			return config.Origin{}, fmt.Errorf("source %q: want sqlite:PATH?query=QUERY", source)
		case params.Get("query") == "":
			return config.Origin{}, fmt.Errorf("source %q: no query: want sqlite:PATH?query=QUERY, QUERY URL-encoded with one ? for the key", source)
		}
		return config.Origin{SQLite: &config.SQLiteOrigin{Path: path, Query: params.Get("query")}}, nil

	case strings.HasPrefix(source, "file:"):
		dir := strings.TrimPrefix(source, "file:")
		if dir == "" {
			return config.Origin{}, errors.New("source \"file:\": want file:DIR")
		}
		return config.Origin{File: &config.FileOrigin{Dir: dir}}, nil

	case strings.HasPrefix(source, "postgres://"), strings.HasPrefix(source, "postgresql://"):
		return postgresSource(source)
	}
	return config.Origin{}, fmt.Errorf("unknown source %q (want demo, an http(s) URL with {key}, sqlite:PATH?query=…, file:DIR or postgres://…?query=…)", source)
}

// postgresSource parses postgres://…?query=QUERY: the query parameter is
// the query, and the URL without it the DSN. A DSN with a password is
// refused, so that no password sits in the process list.
func postgresSource(source string) (config.Origin, error) {
	u, err := url.Parse(source)
	if err != nil {
		// url.Parse's error quotes the URL, password and all.
		return config.Origin{}, errors.New("postgres source: the URL does not parse")
	}
	if _, set := u.User.Password(); set || u.Query().Has("password") {
		return config.Origin{}, errors.New("postgres source: the URL holds a password; give it in PGPASSWORD or ~/.pgpass, " +
			"or use a config file whose dsn_env names an environment variable holding the DSN")
	}
	q := u.Query()
	query := q.Get("query")
	if query == "" {
		return config.Origin{}, fmt.Errorf("postgres source %q: no query: add ?query=QUERY, URL-encoded with $1 for the key, or use a config file", u.Redacted())
	}
	q.Del("query")
	u.RawQuery = q.Encode()
	return config.Origin{Postgres: &config.PostgresOrigin{DSN: u.String(), Query: query}}, nil
}

// onlyParam reports a parameter other than name.
func onlyParam(params url.Values, name string) error {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k != name {
			return fmt.Errorf("unknown parameter %q (want only %s)", k, name)
		}
	}
	return nil
}
