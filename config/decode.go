package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decode reads data into a File without validating it. It walks the YAML
// node tree by hand rather than decoding into the structs, so that an
// unknown or repeated key, and a value of the wrong kind, is an error with
// the file and line, and so that it can list every problem at once.
func decode(name string, data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return &File{name: name}, nil // an empty file sets nothing
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &lineError{file: name, line: next.Line, msg: "a second YAML document: want one"}
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d := &decoder{name: name}
	f := &File{name: name}
	if len(doc.Content) > 0 {
		d.file(f, doc.Content[0])
	}
	if err := errors.Join(d.errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// decoder collects the problems found while walking a file.
type decoder struct {
	name string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &lineError{file: d.name, line: n.Line, msg: fmt.Sprintf(format, args...)})
}

// Keys of each mapping, in the order the error for an unknown key lists them.
var (
	fileKeys     = []string{"addr", "peer_addr", "self", "peers", "requirepass", "requirepass_env", "max_memory", "log_level", "groups"}
	groupKeys    = []string{"name", "max_memory", "ttl", "ttl_jitter", "negative_ttl", "hot_ttl", "hot_probability", "hot_on_repeat", "max_stale", "load_timeout", "max_origin_calls", "origin"}
	originKeys   = []string{"demo", "http", "sqlite", "postgres", "file"}
	httpKeys     = []string{"url", "timeout", "max_body_bytes", "headers"}
	headerKeys   = []string{"value", "env"}
	sqliteKeys   = []string{"path", "query", "max_open_conns", "timeout"}
	postgresKeys = []string{"dsn", "dsn_env", "query", "max_conns", "timeout"}
	fileDirKeys  = []string{"dir", "max_file_bytes"}
)

func (d *decoder) file(f *File, n *yaml.Node) {
	f.place = d.mapping(n, 0, "the file", fileKeys, func(k string, _ int, v *yaml.Node) {
		switch k {
		case "addr":
			f.Addr = d.str(k, v)
		case "peer_addr":
			f.PeerAddr = d.str(k, v)
		case "self":
			f.Self = d.str(k, v)
		case "peers":
			f.Peers = d.strs(k, v)
		case "requirepass":
			f.RequirePass = d.str(k, v)
		case "requirepass_env":
			f.RequirePassEnv = d.str(k, v)
		case "max_memory":
			f.MaxMemory = d.bytesPtr(k, v)
		case "log_level":
			f.LogLevel = d.str(k, v)
		case "groups":
			v = deref(v)
			if isNull(v) {
				return
			}
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "groups: want a list of groups, got %s", describe(v))
				return
			}
			for _, gn := range v.Content {
				f.Groups = append(f.Groups, d.group(gn))
			}
		}
	})
}

func (d *decoder) group(n *yaml.Node) Group {
	g := Group{file: d.name}
	g.place = d.mapping(n, 0, "group", groupKeys, func(k string, line int, v *yaml.Node) {
		switch k {
		case "name":
			g.Name = d.str(k, v)
		case "max_memory":
			g.MaxMemory = d.bytesPtr(k, v)
		case "ttl":
			g.TTL = d.duration(k, v)
		case "ttl_jitter":
			g.TTLJitter = d.fraction(k, v)
		case "negative_ttl":
			g.NegativeTTL = d.durationPtr(k, v)
		case "hot_ttl":
			g.HotTTL = d.duration(k, v)
		case "max_stale":
			g.MaxStale = d.duration(k, v)
		case "hot_probability":
			g.HotProbability = d.probability(k, v)
		case "hot_on_repeat":
			g.HotOnRepeat = d.boolPtr(k, v)
		case "load_timeout":
			g.LoadTimeout = d.duration(k, v)
		case "max_origin_calls":
			g.MaxOriginCalls = d.int(k, v)
		case "origin":
			d.origin(&g.Origin, line, v)
		}
	})
	return g
}

func (d *decoder) origin(o *Origin, line int, n *yaml.Node) {
	o.place = d.mapping(n, line, "origin", originKeys, func(k string, kindLine int, v *yaml.Node) {
		switch k {
		case "demo":
			o.Demo = &DemoOrigin{}
			d.mapping(v, kindLine, "demo origin", nil, nil)
		case "http":
			o.HTTP = d.http(kindLine, v)
		case "sqlite":
			s := &SQLiteOrigin{}
			s.place = d.mapping(v, kindLine, "sqlite origin", sqliteKeys, func(k string, _ int, v *yaml.Node) {
				switch k {
				case "path":
					s.Path = d.str(k, v)
				case "query":
					s.Query = d.str(k, v)
				case "max_open_conns":
					s.MaxOpenConns = d.int(k, v)
				case "timeout":
					s.Timeout = d.duration(k, v)
				}
			})
			o.SQLite = s
		case "postgres":
			p := &PostgresOrigin{}
			p.place = d.mapping(v, kindLine, "postgres origin", postgresKeys, func(k string, _ int, v *yaml.Node) {
				switch k {
				case "dsn":
					p.DSN = d.str(k, v)
				case "dsn_env":
					p.DSNEnv = d.str(k, v)
				case "query":
					p.Query = d.str(k, v)
				case "max_conns":
					p.MaxConns = d.int(k, v)
				case "timeout":
					p.Timeout = d.duration(k, v)
				}
			})
			o.Postgres = p
		case "file":
			f := &FileOrigin{}
			f.place = d.mapping(v, kindLine, "file origin", fileDirKeys, func(k string, _ int, v *yaml.Node) {
				switch k {
				case "dir":
					f.Dir = d.str(k, v)
				case "max_file_bytes":
					f.MaxFileBytes = d.bytes(k, v)
				}
			})
			o.File = f
		}
	})
}

func (d *decoder) http(line int, n *yaml.Node) *HTTPOrigin {
	h := &HTTPOrigin{}
	h.place = d.mapping(n, line, "http origin", httpKeys, func(k string, _ int, v *yaml.Node) {
		switch k {
		case "url":
			h.URL = d.str(k, v)
		case "timeout":
			h.Timeout = d.duration(k, v)
		case "max_body_bytes":
			h.MaxBodyBytes = d.bytes(k, v)
		case "headers":
			h.Headers = d.headers(v)
		}
	})
	return h
}

// headers decodes a mapping from header names to {value: …} or {env: …}.
// Header names are case-insensitive, so two that differ only in case are
// the same header given twice.
func (d *decoder) headers(n *yaml.Node) []Header {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "headers: want a mapping from header names to {value: …} or {env: …}, got %s", describe(n))
		return nil
	}
	var hs []Header
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(k, "headers: want a header name, got %s", describe(k))
			continue
		}
		canon := textproto.CanonicalMIMEHeaderKey(k.Value)
		if line, dup := seen[canon]; dup {
			d.errorf(k, "header %q given twice (first at line %d)", k.Value, line)
			continue
		}
		seen[canon] = k.Line
		h := Header{Name: k.Value}
		if vv := deref(v); vv.Kind == yaml.ScalarNode && !isNull(vv) {
			d.errorf(vv, "header %q: want {value: …} or {env: VARIABLE}, got a bare string", k.Value)
			continue
		}
		h.place = d.mapping(v, k.Line, "header "+k.Value, headerKeys, func(key string, _ int, v *yaml.Node) {
			switch key {
			case "value":
				h.Value = d.str(key, v)
			case "env":
				h.Env = d.str(key, v)
			}
		})
		hs = append(hs, h)
	}
	return hs
}

// mapping walks the mapping n, calling field for each key in known with the
// key's line and value, and reports any other key, a repeated key, and a
// value that is not a mapping (nothing, as in "demo:", is an empty
// mapping). what names the mapping in errors. It returns where the keys
// are, and line as where the mapping is (n's own line when line is 0): the
// line of the key that holds it, which is where a missing key is reported.
func (d *decoder) mapping(n *yaml.Node, line int, what string, known []string, field func(key string, line int, v *yaml.Node)) place {
	n = deref(n)
	if line == 0 {
		line = n.Line
	}
	p := place{line: line, keys: make(map[string]int)}
	if isNull(n) {
		return p
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping of keys, got %s", what, describe(n))
		return p
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.Tag == "!!merge":
			d.errorf(k, "%s: want a plain key, got %s", what, describe(k))
		case !slices.Contains(known, k.Value):
			if len(known) == 0 {
				d.errorf(k, "unknown key %q in %s (it has no settings)", k.Value, what)
			} else {
				d.errorf(k, "unknown key %q in %s (want one of %s)", k.Value, what, strings.Join(known, ", "))
			}
		case p.keys[k.Value] != 0:
			d.errorf(k, "key %q given twice in %s (first at line %d)", k.Value, what, p.keys[k.Value])
		default:
			p.keys[k.Value] = k.Line
			field(k.Value, k.Line, v)
		}
	}
	return p
}

// str decodes a string; a number or a boolean is taken as written.
func (d *decoder) str(key string, n *yaml.Node) string {
	n = deref(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: want a string, got %s", key, describe(n))
		return ""
	}
	return n.Value
}

// strs decodes a list of strings.
func (d *decoder) strs(key string, n *yaml.Node) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", key, describe(n))
		return nil
	}
	var ss []string
	for _, e := range n.Content {
		if s := d.str(key, e); s != "" {
			ss = append(ss, s)
		}
	}
	return ss
}

// int decodes a whole number that is not negative.
func (d *decoder) int(key string, n *yaml.Node) int {
	n = deref(n)
	if isNull(n) {
		return 0
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil || v < 0 {
		d.errorf(n, "%s: want a whole number, 0 or more, got %s", key, describe(n))
		return 0
	}
	return v
}

func (d *decoder) bytes(key string, n *yaml.Node) Bytes {
	n = deref(n)
	if isNull(n) {
		return 0
	}
	v, err := bytesOf(n)
	if err != nil {
		d.errorf(n, "%s: %v", key, err)
	}
	return v
}

// bytesPtr decodes a size that may be unset (nil) as well as 0.
func (d *decoder) bytesPtr(key string, n *yaml.Node) *Bytes {
	if isNull(deref(n)) {
		return nil
	}
	v := d.bytes(key, n)
	return &v
}

func (d *decoder) duration(key string, n *yaml.Node) Duration {
	n = deref(n)
	if isNull(n) {
		return 0
	}
	v, err := durationOf(n)
	if err != nil {
		d.errorf(n, "%s: %v", key, err)
	}
	return v
}

// durationPtr decodes a duration that may be unset (nil) as well as 0.
func (d *decoder) durationPtr(key string, n *yaml.Node) *Duration {
	if isNull(deref(n)) {
		return nil
	}
	v := d.duration(key, n)
	return &v
}

// fraction decodes a number in [0, 1) that may be unset (nil).
func (d *decoder) fraction(key string, n *yaml.Node) *float64 {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	var f float64
	if err := n.Decode(&f); err != nil || f < 0 || f >= 1 {
		d.errorf(n, "%s: want a fraction from 0 to below 1, such as 0.1", key)
		return nil
	}
	return &f
}

// probability decodes a number in [0, 1] that may be unset (nil).
func (d *decoder) probability(key string, n *yaml.Node) *float64 {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	var f float64
	if err := n.Decode(&f); err != nil || f < 0 || f > 1 {
		d.errorf(n, "%s: want a probability from 0 to 1, such as 0.1", key)
		return nil
	}
	return &f
}

// boolPtr decodes true or false, which may be unset (nil).
func (d *decoder) boolPtr(key string, n *yaml.Node) *bool {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(n, "%s: want true or false", key)
		return nil
	}
	return &b
}

// deref returns the node an alias (*name) stands for, or n itself.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n holds nothing ("key:", "key: ~", "key: null").
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
