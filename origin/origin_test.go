package origin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcache/rcache/engine/group"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	d := NewDemo(0)
	tests := []struct {
		key, want string
		notFound  bool
	}{
		{key: "Tom", want: "630"},
		{key: "Jack", want: "589"},
		{key: "Sam", want: "567"},
		{key: "Bob", notFound: true},
		{key: "tom", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := d.Get(context.Background(), tt.key)
			if tt.notFound {
				if !errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) error = %v, want ErrNotFound", tt.key, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Get(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func TestDemoHonoursContext(t *testing.T) {
	t.Parallel()
	d := NewDemo(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Get(ctx, "Tom"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func newHTTPOrigin(t *testing.T, cfg HTTPConfig, h http.HandlerFunc) *HTTP {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + cfg.URL
	o, err := NewHTTP(cfg)
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	return o
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	o := newHTTPOrigin(t, HTTPConfig{URL: "/{group}/v/{key}", Group: "g 1", MaxBodyBytes: 8},
		func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			switch key := strings.TrimPrefix(r.URL.EscapedPath(), "/g%201/v/"); key {
			case "Tom":
				w.Write([]byte("630"))
			case "a%2Fb%20c":
				w.Write([]byte("escaped"))
			case "big":
				w.Write([]byte("123456789"))
			case "exact":
				w.Write([]byte("12345678"))
			case "missing":
				http.NotFound(w, r)
			default:
				http.Error(w, "boom at db-7.internal", http.StatusInternalServerError)
			}
		})
	tests := []struct {
		name, key, want string
		notFound        bool
		errHas          string
	}{
		{name: "found", key: "Tom", want: "630"},
		{name: "escaped key", key: "a/b c", want: "escaped"},
		{name: "body at limit", key: "exact", want: "12345678"},
		{name: "body over limit", key: "big", errHas: "larger than 8 bytes"},
		{name: "not found", key: "missing", notFound: true},
		{name: "server error", key: "fail", errHas: "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := o.Get(context.Background(), tt.key)
			switch {
			case tt.notFound:
				if !errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) error = %v, want ErrNotFound", tt.key, err)
				}
			case tt.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || errors.Is(err, group.ErrNotFound) {
					t.Errorf("Get(%q) error = %v, want one containing %q", tt.key, err, tt.errHas)
				}
			case err != nil || string(got) != tt.want:
				t.Errorf("Get(%q) = %q, %v, want %q", tt.key, got, err, tt.want)
			}
		})
	}
	if n := calls.Load(); n != int64(len(tests)) {
		t.Errorf("origin saw %d requests, want %d", n, len(tests))
	}
}

func TestHTTPTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	o := newHTTPOrigin(t, HTTPConfig{URL: "/{key}", Timeout: 50 * time.Millisecond},
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
	if _, err := o.Get(context.Background(), "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get past the timeout = %v, want DeadlineExceeded", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Get(ctx, "slow"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  HTTPConfig
		ok   bool
	}{
		{name: "ok", cfg: HTTPConfig{URL: "http://h:1/x/{key}"}, ok: true},
		{name: "https with group", cfg: HTTPConfig{URL: "https://h/{group}/{key}"}, ok: true},
		{name: "no key", cfg: HTTPConfig{URL: "http://h:1/x"}},
		{name: "no scheme", cfg: HTTPConfig{URL: "h:1/{key}"}},
		{name: "ftp", cfg: HTTPConfig{URL: "ftp://h/{key}"}},
		{name: "negative timeout", cfg: HTTPConfig{URL: "http://h/{key}", Timeout: -1}},
		{name: "does not parse", cfg: HTTPConfig{URL: "http://h:port/{key}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
		})
	}
}

func TestHTTPErrorHidesHost(t *testing.T) {
	t.Parallel()
	o, err := NewHTTP(HTTPConfig{URL: "http://127.0.0.1:1/secret-path/{key}"})
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	_, err = o.Get(context.Background(), "k")
	if err == nil || strings.Contains(err.Error(), "secret-path") {
		t.Errorf("Get from a closed port = %v, want an error that does not echo the URL", err)
	}
}

func TestHTTPConfigHidesPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://user:hunter2@h/x", "http://user:hunter2@h:port/{key}"} {
		cfg := HTTPConfig{URL: u}
		if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate(%q) = %v, want an error without the password", u, err)
		}
	}
}

func TestHTTPHeaders(t *testing.T) {
	t.Parallel()
	const secret = "Bearer hunter2"
	o := newHTTPOrigin(t, HTTPConfig{
		URL:     "/{key}",
		Headers: map[string]string{"Authorization": secret, "x-team": "cache", "Host": "scores.internal"},
	}, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != secret || r.Header.Get("X-Team") != "cache" || r.Host != "scores.internal" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/fail" {
			// A server that echoes the request's headers in its error body.
			http.Error(w, "bad request from "+r.Header.Get("Authorization"), http.StatusBadGateway)
			return
		}
		w.Write([]byte("630"))
	})
	if got, err := o.Get(context.Background(), "Tom"); err != nil || string(got) != "630" {
		t.Errorf("Get(Tom) with headers = %q, %v, want 630", got, err)
	}
	_, err := o.Get(context.Background(), "fail")
	if err == nil || !strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Get(fail) = %v, want an error naming the status and not the header value", err)
	}

	closed, err := NewHTTP(HTTPConfig{URL: "http://127.0.0.1:1/{key}", Headers: map[string]string{"Authorization": secret}})
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	if _, err := closed.Get(context.Background(), "k"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Get from a closed port = %v, want an error without the header value", err)
	}
}

func TestHTTPConfigValidateHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{name: "ok", headers: map[string]string{"Authorization": "Bearer hunter2", "X-Team": ""}, ok: true},
		{name: "space in name", headers: map[string]string{"X Team": "a"}},
		{name: "colon in name", headers: map[string]string{"X-Team:": "a"}},
		{name: "empty name", headers: map[string]string{"": "a"}},
		{name: "twice", headers: map[string]string{"x-team": "a", "X-Team": "b"}},
		{name: "CRLF in value", headers: map[string]string{"Authorization": "hunter2\r\nX-Evil: 1"}},
		{name: "LF in value", headers: map[string]string{"Authorization": "hunter2\n"}},
		{name: "NUL in value", headers: map[string]string{"Authorization": "hunter2\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := HTTPConfig{URL: "http://h/{key}", Headers: tt.headers}
			err := cfg.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate(headers %q) = %v, want ok=%v", tt.headers, err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate(headers %q) = %v, want an error without the value", tt.headers, err)
			}
		})
	}
}
