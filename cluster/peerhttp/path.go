package peerhttp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// escapeSegment escapes s for use as one path segment: url.PathEscape, which
// escapes "/", "?", "#", "%", spaces and every byte outside ASCII, plus the
// dots of a "." or ".." segment, which a ServeMux in front of the Pool would
// otherwise clean away with a redirect.
func escapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// route is what a request path names: a group, and a key unless the path
// ends at the group (a GetMany).
type route struct {
	group  string
	key    string
	hasKey bool
}

// errOutsideBase is returned by parsePath for a path that does not begin
// with the base path; the handler answers 404.
var errOutsideBase = errors.New("path outside base path")

// parsePath splits the escaped path of a request, {base}{group} or
// {base}{group}/{key}, and unescapes each part. It works on the escaped
// path because the decoded one cannot tell a "/" inside a group name from
// the one after it. Everything after the first "/" that follows the group is
// the key, so a key whose slashes were not escaped still arrives whole.
func parsePath(base, escaped string) (route, error) {
	rest, ok := strings.CutPrefix(escaped, base)
	if !ok {
		return route{}, errOutsideBase
	}
	g, k, hasKey := strings.Cut(rest, "/")
	if g == "" {
		return route{}, errors.New("empty group")
	}
	var r route
	var err error
	if r.group, err = url.PathUnescape(g); err != nil {
		return route{}, fmt.Errorf("group: %w", err)
	}
	if !hasKey {
		return r, nil
	}
	if k == "" {
		return route{}, errors.New("empty key")
	}
	if r.key, err = url.PathUnescape(k); err != nil {
		return route{}, fmt.Errorf("key: %w", err)
	}
	r.hasKey = true
	return r, nil
}
