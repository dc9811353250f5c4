package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// HTTPConfig describes an HTTP origin. Zero fields select the defaults.
type HTTPConfig struct {
	// URL is the template of the URL to GET: "{key}" is replaced by the
	// path-escaped key and "{group}" by the path-escaped group name, e.g.
	// "http://db.internal:9000/scores/{key}". Required, and must hold {key}.
	URL string

	// Group is the group name substituted for "{group}".
	Group string

	// Timeout bounds one request; zero selects 10s. The load's own context
	// may end it sooner.
	Timeout time.Duration

	// MaxBodyBytes bounds the value read from a response; a larger body is
	// an error. Zero selects 64 MiB.
	MaxBodyBytes int64

	// Headers are sent with every request, e.g. {"Authorization": "Bearer
	// …"}; a "Host" header sets the request's host. Their values may be
	// secrets: they never appear in an error (nor, from this package, in a
	// log line). Nil sends only Go's own headers.
	Headers map[string]string

	// Client sends the requests; nil selects a client with a tuned transport
	// of its own.
	Client *http.Client
}

// Validate reports what is wrong with c, if anything. Its errors show the
// URL with any password redacted.
func (c *HTTPConfig) Validate() error {
	u, err := url.Parse(strings.NewReplacer("{key}", "k", "{group}", "g").Replace(c.URL))
	if err != nil {
		// url.Parse's error quotes the URL, password and all.
		return errors.New("origin: http URL does not parse")
	}
	shown := u.Redacted()
	switch {
	case !strings.Contains(c.URL, "{key}"):
		return fmt.Errorf("origin: http URL %q has no {key}", shown)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("origin: http URL %q: want http:// or https:// and a host", shown)
	case c.Timeout < 0 || c.MaxBodyBytes < 0:
		return fmt.Errorf("origin: http URL %q: negative timeout or body limit", shown)
	}
	seen := make(map[string]bool, len(c.Headers))
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !ValidHeaderName(name):
			return fmt.Errorf("origin: http header %q: not a valid header name", name)
		case seen[canon]:
			return fmt.Errorf("origin: http header %q given twice", canon)
		case strings.ContainsAny(c.Headers[name], "\r\n\x00"):
			// Say what is wrong with the value, never what it is.
			return fmt.Errorf("origin: http header %s: the value holds a line break or NUL", name)
		}
		seen[canon] = true
	}
	return nil
}

// ValidHeaderName reports whether s is an HTTP header name: a token of
// RFC 9110, section 5.6.2.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// HTTP is an origin that GETs each key from an HTTP service: 200 is the
// value, 404 is not found, anything else is an error naming the status. It
// is safe for concurrent use.
type HTTP struct {
	cfg    HTTPConfig
	header http.Header // cfg.Headers but Host, copied into each request
	host   string      // cfg.Headers' Host, if any
}

// NewHTTP returns an HTTP origin, or says what is wrong with cfg.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
			TLSHandshakeTimeout:   5 * time.Second,
		}}
	}
	h := &HTTP{cfg: cfg, header: make(http.Header, len(cfg.Headers))}
	for name, v := range cfg.Headers {
		if http.CanonicalHeaderKey(name) == "Host" {
			h.host = v
		} else {
			h.header.Set(name, v)
		}
	}
	h.cfg.Headers = nil // h.header and h.host hold them: do not keep the caller's map
	return h, nil
}

// Get fetches key. The request ends with ctx or after the configured
// timeout, whichever comes first.
func (h *HTTP) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	u := strings.NewReplacer("{key}", url.PathEscape(key), "{group}", url.PathEscape(h.cfg.Group)).Replace(h.cfg.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("origin: http get %q: %w", key, err)
	}
	req.Header = h.header.Clone()
	if h.host != "" {
		req.Host = h.host
	}
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		// The url.Error names the origin's host; keep only its cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("origin: http get %q: %w", key, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("origin: http get %q: %w", key, group.ErrNotFound)
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("origin: http get %q: status %s", key, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("origin: http get %q: read body: %w", key, err)
	}
	if int64(len(body)) > h.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("origin: http get %q: body larger than %d bytes", key, h.cfg.MaxBodyBytes)
	}
	return body, nil
}
