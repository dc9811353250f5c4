package peerhttp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

const (
	// maxServeTimeout bounds the Rcache-Timeout-Ms a peer can ask for.
	maxServeTimeout = time.Minute
	// maxBatchKeys bounds the keys of one GetMany, each of which the
	// group may load in a goroutine of its own.
	maxBatchKeys = 1 << 16
)

// ServeHTTP answers a peer's request from this node: it calls the group's
// ServeGet, ServeGetMany or ServeWrite, which never forward. The package
// comment lists the paths and status codes.
func (p *Pool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Authentication comes first, so that a caller without the secret
	// learns nothing about the paths and groups, and reaches no origin.
	if p.cfg.Secret != "" && !p.authorized(r) {
		w.Header()[headerAuthFail] = []string{authScheme}
		p.fail(w, r, http.StatusUnauthorized, "missing or wrong secret")
		return
	}
	if isStreamUpgrade(r) {
		p.serveStream(w, r)
		return
	}
	rt, err := parsePath(p.cfg.BasePath, r.URL.EscapedPath())
	switch {
	case errors.Is(err, errOutsideBase):
		p.fail(w, r, http.StatusNotFound, "path outside "+p.cfg.BasePath)
		return
	case err != nil:
		p.fail(w, r, http.StatusBadRequest, "bad path: "+err.Error())
		return
	}
	switch {
	case rt.hasKey && (r.Method == http.MethodGet || r.Method == http.MethodPost):
	case !rt.hasKey && r.Method == http.MethodPost:
	default:
		allow := http.MethodPost
		if rt.hasKey {
			allow = "GET, POST"
		}
		w.Header().Set("Allow", allow)
		p.fail(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	g := p.cfg.Registry.GetGroup(rt.group)
	if g == nil {
		p.fail(w, r, http.StatusNotFound, "unknown group")
		return
	}
	ctx, cancel, err := requestContext(r)
	if err != nil {
		p.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	defer cancel()
	switch {
	case r.Method == http.MethodGet:
		p.serveGet(ctx, w, r, g, rt)
	case rt.hasKey:
		p.serveWrite(ctx, w, r, g, rt)
	default:
		p.serveGetMany(ctx, w, r, g, rt)
	}
}

// authorized reports whether r carries "Authorization: Bearer <secret>"
// (the scheme in any case). The tokens are compared as SHA-256 digests in
// constant time, so that neither the time taken nor the length of the
// token tells how much of it was right.
func (p *Pool) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get(headerAuth), " ")
	if !ok || !strings.EqualFold(scheme, authScheme) {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], p.secretSum[:]) == 1
}

// requestContext returns the context of r bounded by its Rcache-Timeout-Ms
// header, if any, itself bounded by maxServeTimeout.
func requestContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	v := r.Header.Get(headerTimeout)
	if v == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 1 {
		return nil, nil, errors.New("bad " + headerTimeout + " header")
	}
	d := maxServeTimeout
	if ms < d.Milliseconds() {
		d = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func (p *Pool) serveGet(ctx context.Context, w http.ResponseWriter, r *http.Request, g *group.Group, rt route) {
	peek := false
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if v := q.Get("peek"); err == nil && v != "" {
			peek, err = strconv.ParseBool(v)
		}
		if err != nil {
			p.fail(w, r, http.StatusBadRequest, "bad query")
			return
		}
	}
	res := g.ServeGet(ctx, &pb.GetRequest{Group: rt.group, Key: rt.key, Peek: peek})
	if deadlinePassed(ctx, res) {
		p.fail(w, r, http.StatusGatewayTimeout, "deadline exceeded")
		return
	}
	p.reply(w, r, res)
}

func (p *Pool) serveGetMany(ctx context.Context, w http.ResponseWriter, r *http.Request, g *group.Group, rt route) {
	in := new(pb.GetManyRequest)
	if !p.readRequest(w, r, in) {
		return
	}
	switch {
	case in.Group != "" && in.Group != rt.group:
		p.fail(w, r, http.StatusBadRequest, "group in body does not match path")
		return
	case len(in.Keys) > maxBatchKeys:
		p.fail(w, r, http.StatusBadRequest, fmt.Sprintf("more than %d keys", maxBatchKeys))
		return
	}
	in.Group = rt.group
	res := g.ServeGetMany(ctx, in)
	if batchDeadlinePassed(ctx, res) {
		p.fail(w, r, http.StatusGatewayTimeout, "deadline exceeded")
		return
	}
	p.reply(w, r, res)
}

func (p *Pool) serveWrite(ctx context.Context, w http.ResponseWriter, r *http.Request, g *group.Group, rt route) {
	in := new(pb.WriteRequest)
	if !p.readRequest(w, r, in) {
		return
	}
	switch {
	case in.Group != "" && in.Group != rt.group:
		p.fail(w, r, http.StatusBadRequest, "group in body does not match path")
		return
	case in.Key != "" && in.Key != rt.key:
		p.fail(w, r, http.StatusBadRequest, "key in body does not match path")
		return
	}
	// An unknown op is the group's to refuse (WriteResponse.Error), so that
	// a node that is newer than this one gets a reason, not a failure.
	in.Group, in.Key = rt.group, rt.key
	p.reply(w, r, g.ServeWrite(ctx, in))
}

// deadlinePassed reports whether the group gave up on res because ctx
// ended. The group reports that as an origin error; the handler answers 504
// instead, the failure the asking node would have seen had its own timer
// fired first, so that it loads the key itself either way.
func deadlinePassed(ctx context.Context, res *pb.GetResponse) bool {
	return res.GetOriginError() != "" && ctx.Err() != nil
}

// batchDeadlinePassed is deadlinePassed for any key of a batch.
func batchDeadlinePassed(ctx context.Context, res *pb.GetManyResponse) bool {
	for _, one := range res.GetResults() {
		if deadlinePassed(ctx, one) {
			return true
		}
	}
	return false
}

// readRequest reads a body of at most Config.MaxBodyBytes into in. It
// answers the request itself and returns false when it cannot.
func (p *Pool) readRequest(w http.ResponseWriter, r *http.Request, in proto.Message) bool {
	limit := p.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		p.fail(w, r, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var b []byte
	var err error
	if r.ContentLength >= 0 {
		b = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, b)
	} else {
		b, err = io.ReadAll(body)
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		p.fail(w, r, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	}
	if err != nil {
		p.fail(w, r, http.StatusBadRequest, "read body: "+err.Error())
		return false
	}
	if err := proto.Unmarshal(b, in); err != nil {
		p.fail(w, r, http.StatusBadRequest, "bad body: "+err.Error())
		return false
	}
	return true
}

// reply writes m as a 200 answer.
func (p *Pool) reply(w http.ResponseWriter, r *http.Request, m proto.Message) {
	sanitize(m)
	b, err := proto.Marshal(m)
	if err != nil {
		p.cfg.Logger.Error("encode response", "peer", r.Header.Get(headerPeer), "path", r.URL.EscapedPath(), "err", err)
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h[headerContentType] = p.contentTypeHeader
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // a failed write is the asking node's to notice
}

// sanitize makes the error messages of m valid UTF-8, which proto3
// requires of a string and a Getter's error need not be.
func sanitize(m proto.Message) {
	fix := func(s *string) {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
	switch m := m.(type) {
	case *pb.GetResponse:
		fix(&m.OriginError)
	case *pb.GetManyResponse:
		for _, res := range m.GetResults() {
			if res != nil {
				fix(&res.OriginError)
			}
		}
	case *pb.WriteResponse:
		fix(&m.Message)
	}
}

// fail answers r with code and a short plain-text message.
func (p *Pool) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	p.cfg.Logger.Debug("peer request refused", "peer", r.Header.Get(headerPeer), "method", r.Method,
		"path", r.URL.EscapedPath(), "status", code, "err", msg)
	http.Error(w, msg, code)
}
