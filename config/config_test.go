package config

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestExamples loads every configuration in examples/, so that an example
// that stops parsing, or stops being valid, fails here.
func TestExamples(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("glob examples: %v, %d files", err, len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			f, err := Load(path)
			if err != nil {
				t.Fatalf("Load(%s): %v", path, err)
			}
			if len(f.Groups) == 0 {
				t.Errorf("Load(%s): no groups", path)
			}
			for _, g := range f.Groups {
				if k := g.Origin.Kind(); k == "" || strings.Contains(k, "+") {
					t.Errorf("Load(%s): group %q has origin kind %q", path, g.Name, k)
				}
			}
		})
	}
}

// TestExamplePaths checks that relative paths resolve against the file's
// directory: examples/sqlite.yaml names scores.db, which is
// examples/scores.db from the repository's root.
func TestExamplePaths(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"../examples/sqlite.yaml": filepath.Join("..", "examples", "scores.db"),
		"../examples/files.yaml":  filepath.Join("..", "examples", "files"),
	} {
		f, err := Load(path)
		if err != nil {
			t.Fatalf("Load(%s): %v", path, err)
		}
		o := f.Groups[0].Origin
		got := ""
		switch {
		case o.SQLite != nil:
			got = o.SQLite.Path
		case o.File != nil:
			got = o.File.Dir
		}
		if got != want {
			t.Errorf("Load(%s): path %q, want %q", path, got, want)
		}
	}
}

const full = `# every key
addr: 127.0.0.1:6390
peer_addr: 127.0.0.1:8090
self: http://127.0.0.1:8090
peers: [http://127.0.0.1:8090, http://127.0.0.1:8091]
requirepass_env: RCACHE_PASSWORD
max_memory: 64mb
log_level: debug
groups:
  - name: scores
    max_memory: 0
    ttl: 10m
    load_timeout: 250ms
    max_origin_calls: 7
    origin:
      sqlite: {path: db/scores.db, query: "SELECT score FROM scores WHERE name = ?", max_open_conns: 2, timeout: 1s}
  - name: api
    origin:
      http:
        url: "http://127.0.0.1:9000/{group}/{key}"
        timeout: 2s
        max_body_bytes: 1mb
        headers:
          Authorization: {env: API_TOKEN}
          X-Team: {value: cache}
  - name: pg
    origin:
      postgres: {dsn_env: RCACHE_PG_DSN, query: "SELECT score FROM scores WHERE name = $1", max_conns: 8}
  - name: files
    origin:
      file: {dir: /srv/data, max_file_bytes: 16mb}
  - name: demo
    origin:
      demo:
`

func TestParse(t *testing.T) {
	t.Parallel()
	f, err := Parse("conf/rcache.yaml", []byte(full))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if f.Addr != "127.0.0.1:6390" || f.PeerAddr != "127.0.0.1:8090" || f.Self != "http://127.0.0.1:8090" ||
		f.RequirePassEnv != "RCACHE_PASSWORD" || f.LogLevel != "debug" {
		t.Errorf("node settings = %q %q %q %q %q", f.Addr, f.PeerAddr, f.Self, f.RequirePassEnv, f.LogLevel)
	}
	if !slices.Equal(f.Peers, []string{"http://127.0.0.1:8090", "http://127.0.0.1:8091"}) {
		t.Errorf("Peers = %q", f.Peers)
	}
	if f.MaxMemory == nil || *f.MaxMemory != 64<<20 {
		t.Errorf("MaxMemory = %v, want 64 MiB", f.MaxMemory)
	}
	if len(f.Groups) != 5 {
		t.Fatalf("%d groups, want 5", len(f.Groups))
	}

	g := f.Groups[0]
	if g.Name != "scores" || g.MaxMemory == nil || *g.MaxMemory != 0 || time.Duration(g.TTL) != 10*time.Minute ||
		time.Duration(g.LoadTimeout) != 250*time.Millisecond || g.MaxOriginCalls != 7 || g.Pos() != "conf/rcache.yaml:10" {
		t.Errorf("group 0 = %+v at %s", g, g.Pos())
	}
	if s := g.Origin.SQLite; s == nil || g.Origin.Kind() != "sqlite" ||
		s.Path != filepath.Join("conf", "db", "scores.db") || s.Query != "SELECT score FROM scores WHERE name = ?" ||
		s.MaxOpenConns != 2 || time.Duration(s.Timeout) != time.Second {
		t.Errorf("sqlite origin = %+v", s)
	}

	g = f.Groups[1]
	if g.MaxMemory != nil || g.TTL != 0 {
		t.Errorf("group 1: MaxMemory %v TTL %v, want unset", g.MaxMemory, g.TTL)
	}
	h := g.Origin.HTTP
	if h == nil || h.URL != "http://127.0.0.1:9000/{group}/{key}" || time.Duration(h.Timeout) != 2*time.Second || h.MaxBodyBytes != 1<<20 {
		t.Fatalf("http origin = %+v", h)
	}
	if len(h.Headers) != 2 || h.Headers[0].Name != "Authorization" || h.Headers[0].Env != "API_TOKEN" ||
		h.Headers[1].Name != "X-Team" || h.Headers[1].Value != "cache" {
		t.Errorf("headers = %+v", h.Headers)
	}

	if p := f.Groups[2].Origin.Postgres; p == nil || p.DSNEnv != "RCACHE_PG_DSN" || p.MaxConns != 8 || !strings.Contains(p.Query, "$1") {
		t.Errorf("postgres origin = %+v", p)
	}
	if d := f.Groups[3].Origin.File; d == nil || d.Dir != "/srv/data" || d.MaxFileBytes != 16<<20 {
		t.Errorf("file origin = %+v", d)
	}
	if f.Groups[4].Origin.Kind() != "demo" {
		t.Errorf("group 4 origin kind = %q, want demo", f.Groups[4].Origin.Kind())
	}
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, data := range []string{"", "# nothing\n", "---\n"} {
		f, err := Parse("empty.yaml", []byte(data))
		if err != nil || f.Addr != "" || len(f.Groups) != 0 || f.MaxMemory != nil {
			t.Errorf("Parse(%q) = %+v, %v, want an empty File", data, f, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	// group prefixes a group whose origin is the lines that follow it.
	const group = "groups:\n  - name: scores\n    origin:\n"
	tests := []struct {
		name, data string
		want       []string // each must be in the error
	}{
		{"unknown top-level key", "addr: 127.0.0.1:1\nadr: x\n",
			[]string{`rcache.yaml:2: unknown key "adr" in the file (want one of addr, peer_addr,`}},
		{"unknown group key", "groups:\n  - name: scores\n    ttll: 5m\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:3: unknown key "ttll" in group`}},
		{"unknown origin kind", group + "      mysql: {}\n",
			[]string{`rcache.yaml:4: unknown key "mysql" in origin (want one of demo, http, sqlite, postgres, file)`}},
		{"unknown sqlite key", group + "      sqlite:\n        path: a.db\n        qeury: SELECT 1 WHERE ?\n",
			[]string{`rcache.yaml:6: unknown key "qeury" in sqlite origin`}},
		{"unknown header key", group + "      http:\n        url: http://h/{key}\n        headers:\n          A: {vaule: x}\n",
			[]string{`rcache.yaml:7: unknown key "vaule" in header A`}},
		{"demo has no settings", group + "      demo: {delay: 1s}\n",
			[]string{`rcache.yaml:4: unknown key "delay" in demo origin`}},
		{"repeated key", "addr: 127.0.0.1:1\naddr: 127.0.0.1:2\n",
			[]string{`rcache.yaml:2: key "addr" given twice in the file (first at line 1)`}},
		{"bad size", "max_memory: lots\n",
			[]string{`rcache.yaml:1: max_memory: bad size "lots"`}},
		{"negative size", "max_memory: -1mb\n",
			[]string{`rcache.yaml:1: max_memory: bad size "-1mb"`}},
		{"bad duration", "groups:\n  - name: scores\n    ttl: 5 minutes\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:3: ttl: bad duration "5 minutes"`}},
		{"duration without unit", "groups:\n  - name: scores\n    load_timeout: 300\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:3: load_timeout: bad duration "300"`}},
		{"negative duration", "groups:\n  - name: scores\n    ttl: -5s\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:3: ttl: negative duration`}},
		{"bad number", "groups:\n  - name: scores\n    max_origin_calls: many\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:3: max_origin_calls: want a whole number, 0 or more, got "many"`}},
		{"list for a string", "addr: [a, b]\n",
			[]string{`rcache.yaml:1: addr: want a string, got a list`}},
		{"groups not a list", "groups: {name: scores}\n",
			[]string{`rcache.yaml:1: groups: want a list of groups, got a mapping`}},
		{"bare header value", group + "      http:\n        url: http://h/{key}\n        headers: {Authorization: Bearer x}\n",
			[]string{`rcache.yaml:6: header "Authorization": want {value: …} or {env: VARIABLE}, got a bare string`}},
		{"header twice", group + "      http:\n        url: http://h/{key}\n        headers:\n          A: {value: x}\n          a: {value: y}\n",
			[]string{`rcache.yaml:8: header "a" given twice (first at line 7)`}},
		{"two documents", "addr: 127.0.0.1:1\n---\naddr: 127.0.0.1:2\n",
			[]string{`rcache.yaml:2: a second YAML document`}},
		{"not yaml", "addr: [\n",
			[]string{`rcache.yaml: yaml: `}},
		{"every problem at once", "adr: x\nmax_memory: lots\n",
			[]string{`rcache.yaml:1: unknown key "adr"`, `rcache.yaml:2: max_memory: bad size`}},

		{"two origins", group + "      demo: {}\n      file: {dir: x}\n",
			[]string{`rcache.yaml:3: group "scores": more than one origin (demo, file): want one`}},
		{"no origin", "groups:\n  - name: scores\n    ttl: 1m\n",
			[]string{`rcache.yaml:2: group "scores": no origin (want one of demo, http, sqlite, postgres, file)`}},
		{"empty origin", group,
			[]string{`rcache.yaml:3: group "scores": no origin`}},
		{"no name", "groups:\n  - origin: {demo: {}}\n",
			[]string{`rcache.yaml:2: group has no name`}},
		{"duplicate group", "groups:\n  - name: a\n    origin: {demo: {}}\n  - name: a\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:4: group "a" defined twice (first at line 2)`}},
		{"reserved name", "groups:\n  - name: default\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:2: group name "default" is reserved`}},
		{"colon in name", "groups:\n  - name: a:b\n    origin: {demo: {}}\n",
			[]string{`rcache.yaml:2: group name "a:b": may not contain ':'`}},
		{"sqlite without query", group + "      sqlite:\n        path: a.db\n",
			[]string{`rcache.yaml:4: group "scores": sqlite origin has no query`}},
		{"sqlite without path", group + "      sqlite:\n        query: SELECT v FROM t WHERE k = ?\n",
			[]string{`rcache.yaml:4: group "scores": sqlite origin has no path`}},
		{"sqlite query without ?", group + "      sqlite:\n        path: a.db\n        query: SELECT 1\n",
			[]string{`rcache.yaml:6: group "scores": sqlite query has no ?`}},
		{"http without {key}", group + "      http:\n        url: http://h/x\n",
			[]string{`rcache.yaml:5: group "scores": http url "http://h/x" has no {key}`}},
		{"http without url", group + "      http: {timeout: 1s}\n",
			[]string{`rcache.yaml:4: group "scores": http origin has no url`}},
		{"http not http", group + "      http: {url: \"ftp://h/{key}\"}\n",
			[]string{`rcache.yaml:4: group "scores": http url "ftp://h/k": want http:// or https://`}},
		{"bad header name", group + "      http:\n        url: http://h/{key}\n        headers: {\"X Team\": {value: x}}\n",
			[]string{`rcache.yaml:6: group "scores": header "X Team": not a valid header name`}},
		{"header with value and env", group + "      http:\n        url: http://h/{key}\n        headers:\n          A: {value: x, env: Y}\n",
			[]string{`rcache.yaml:7: group "scores": header A: both value and env set`}},
		{"postgres without dsn", group + "      postgres: {query: SELECT v FROM t WHERE k = $1}\n",
			[]string{`rcache.yaml:4: group "scores": postgres origin has no dsn_env (or dsn)`}},
		{"postgres without query", group + "      postgres:\n        dsn_env: PG\n",
			[]string{`rcache.yaml:4: group "scores": postgres origin has no query`}},
		{"postgres query without $1", group + "      postgres:\n        dsn_env: PG\n        query: SELECT v FROM t WHERE k = ?\n",
			[]string{`rcache.yaml:6: group "scores": postgres query has no $1`}},
		{"file without dir", group + "      file: {max_file_bytes: 1kb}\n",
			[]string{`rcache.yaml:4: group "scores": file origin has no dir`}},
		{"bad addr", "addr: 6380\n", []string{`rcache.yaml:1: addr "6380": want host:port`}},
		{"bad peer", "peers: [127.0.0.1:8001]\n", []string{`rcache.yaml:1: peers: "127.0.0.1:8001": want http://host:port`}},
		{"self not in peers", "self: http://a:1\npeers: [http://b:1]\n", []string{`rcache.yaml:2: peers must include self`}},
		{"both passwords", "requirepass: x\nrequirepass_env: Y\n", []string{`rcache.yaml:1: requirepass and requirepass_env both set`}},
		{"bad env name", "requirepass_env: A=B\n", []string{`rcache.yaml:1: requirepass_env "A=B": not the name of an environment variable`}},
		{"bad log level", "log_level: loud\n", []string{`rcache.yaml:1: log_level "loud": want debug, info, warn or error`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse("rcache.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.data, f)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) error =\n%v\nwant it to contain\n%s", tt.data, err, w)
				}
			}
		})
	}
}

// TestErrorsHideSecrets checks that errors about a setting that holds a
// secret never quote it.
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const group = "groups:\n  - name: scores\n    origin:\n"
	for name, data := range map[string]string{
		"header value":  group + "      http:\n        url: http://h/{key}\n        headers:\n          Authorization: {value: \"Bearer hunter2\\r\\nX: y\"}\n",
		"dsn url":       group + "      postgres: {dsn: \"postgres://u:hunter2@h/db\", query: SELECT 1 WHERE $1}\n",
		"dsn key=value": group + "      postgres: {dsn: \"host=h password = hunter2\", query: SELECT 1 WHERE $1}\n",
		"http url":      group + "      http: {url: \"http://u:hunter2@h/x\"}\n",
	} {
		_, err := Parse("rcache.yaml", []byte(data))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: Parse error = %v, want an error without the secret", name, err)
		}
	}
}

func TestValidateByHand(t *testing.T) {
	t.Parallel()
	f := &File{Groups: []Group{{Name: "scores", Origin: Origin{SQLite: &SQLiteOrigin{Path: "a.db"}}}}}
	err := f.Validate()
	if err == nil || err.Error() != `group "scores": sqlite origin has no query` {
		t.Errorf("Validate = %v, want the bare message (no file, no line)", err)
	}
	f.Groups[0].Origin.SQLite.Query = "SELECT v FROM t WHERE k = ?"
	if err := f.Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1234", 1234, true},
		{"1k", 1000, true},
		{"1kb", 1024, true},
		{"512KB", 512 << 10, true},
		{"64mb", 64 << 20, true},
		{"64MB", 64 << 20, true},
		{"2m", 2e6, true},
		{"1g", 1e9, true},
		{"1gb", 1 << 30, true},
		{"100b", 100, true},
		{"", 0, false},
		{"mb", 0, false},
		{"-1mb", 0, false},
		{"1.5gb", 0, false},
		{"1 tb", 0, false},
		{"99999999999gb", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBytes(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseBytes(%q) = %d, %v, want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

// TestUnmarshalYAML checks that Bytes and Duration work with yaml.Unmarshal
// too, with errors that name the line.
func TestUnmarshalYAML(t *testing.T) {
	t.Parallel()
	var v struct {
		Size Bytes    `yaml:"size"`
		Wait Duration `yaml:"wait"`
	}
	if err := yaml.Unmarshal([]byte("size: 1kb\nwait: 250ms\n"), &v); err != nil || v.Size != 1024 || time.Duration(v.Wait) != 250*time.Millisecond {
		t.Errorf("Unmarshal = %+v, %v, want 1024 and 250ms", v, err)
	}
	if err := yaml.Unmarshal([]byte("size: 1\nwait: soon\n"), &v); err == nil || !strings.Contains(err.Error(), `line 2: bad duration "soon"`) {
		t.Errorf("Unmarshal(wait: soon) = %v, want an error naming line 2", err)
	}
	if err := yaml.Unmarshal([]byte("\nsize: [1]\n"), &v); err == nil || !strings.Contains(err.Error(), "line 2: want a size") {
		t.Errorf("Unmarshal(size: [1]) = %v, want an error naming line 2", err)
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("Load(missing) = %v, want an error naming the file", err)
	}
}

func TestCheckGroupName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"scores": true, "a-b_c.1": true, "": false, "default": false, "a:b": false, "a b": false} {
		if err := CheckGroupName(name); (err == nil) != ok {
			t.Errorf("CheckGroupName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestErrorIsLineError(t *testing.T) {
	t.Parallel()
	_, err := Parse("x.yaml", []byte("groups:\n  - name: a\n    ttl: soon\n    origin: {demo: {}}\n"))
	var le *lineError
	if !errors.As(err, &le) || le.file != "x.yaml" || le.line != 3 {
		t.Errorf("Parse error = %#v, want a lineError at x.yaml:3", err)
	}
}

func TestFreshnessSettings(t *testing.T) {
	t.Parallel()
	f, err := Parse("f.yaml", []byte(`groups:
  - name: a
    ttl: 1m
    ttl_jitter: 0.2
    negative_ttl: 0s
    hot_ttl: 2s
    max_stale: 1m
    hot_probability: 1
    hot_on_repeat: false
    origin: {demo: {}}
  - name: b
    origin: {demo: {}}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	a, b := f.Groups[0], f.Groups[1]
	if a.TTLJitter == nil || *a.TTLJitter != 0.2 || a.NegativeTTL == nil || *a.NegativeTTL != 0 || a.HotTTL != Duration(2*time.Second) || a.MaxStale != Duration(time.Minute) || a.HotProbability == nil || *a.HotProbability != 1 || a.HotOnRepeat == nil || *a.HotOnRepeat {
		t.Errorf("group a: jitter %v, negative_ttl %v, hot_ttl %v, hot_on_repeat %v", a.TTLJitter, a.NegativeTTL, a.HotTTL, a.HotOnRepeat)
	}
	if b.TTLJitter != nil || b.NegativeTTL != nil || b.HotTTL != 0 || b.HotOnRepeat != nil {
		t.Errorf("group b: unset settings came back as %v, %v, %v, %v", b.TTLJitter, b.NegativeTTL, b.HotTTL, b.HotOnRepeat)
	}
	for _, bad := range []string{"ttl_jitter: 1", "ttl_jitter: -0.1", "ttl_jitter: lots", "negative_ttl: soon", "hot_probability: 1.5", "hot_on_repeat: sometimes"} {
		_, err := Parse("f.yaml", []byte("groups:\n  - name: a\n    "+bad+"\n    origin: {demo: {}}\n"))
		if err == nil || !strings.Contains(err.Error(), "f.yaml:3") {
			t.Errorf("Parse with %q = %v, want an error at f.yaml:3", bad, err)
		}
	}
}
