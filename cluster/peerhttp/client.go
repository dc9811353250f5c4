package peerhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcache/rcache/pb"
	"google.golang.org/protobuf/proto"
)

// Header names and values of the protocol; see the package comment.
const (
	headerPeer        = "Rcache-Peer"
	headerTimeout     = "Rcache-Timeout-Ms"
	headerContentType = "Content-Type"
	headerAuth        = "Authorization"
	headerAuthFail    = "Www-Authenticate"
	authScheme        = "Bearer"
	contentType       = "application/x-protobuf"
)

const (
	// maxErrorBody is how much of a non-200 answer is read for the error.
	maxErrorBody = 256
	// maxDrain is how much of an unread body is read before closing it, so
	// that the connection can be reused; past that, dropping the
	// connection is cheaper.
	maxDrain = 4 << 10
)

// Operations named to Config.Observe.
const (
	opGet     = "get"
	opGetMany = "getmany"
	opWrite   = "write"
)

// peer is a client for one member of the cluster; it implements
// group.PeerGetter. A returned error means the request failed in transport:
// the member could not be reached, did not answer in time, or answered
// something other than a 200 with a protobuf body. A peer is safe for
// concurrent use.
type peer struct {
	pool    *Pool
	base    string // the member's base URL, as given to Set
	err     error  // why base is not usable; every request fails with it
	breaker *breaker
	co      coalescer

	smu           sync.Mutex // guards st, dialing, noStreamUntil and closed
	st            *clientStream
	dialing       bool      // an upgrade is under way
	noStreamUntil time.Time // no upgrade before then: the last one failed
	closed        bool      // closeStream was called: no more streams

	requests atomic.Int64 // requests sent (not those the breaker refused)
	errors   atomic.Int64 // requests sent that failed, for any reason
	rejected atomic.Int64 // requests the open breaker failed without sending
	streamed atomic.Int64 // requests sent on the stream
}

func (p *Pool) newPeer(base string) *peer {
	cfg := &p.cfg
	c := &peer{pool: p, base: base, breaker: newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown, cfg.BreakerMaxCooldown)}
	if _, err := parsePeerURL(base); err != nil {
		c.err = err
	}
	return c
}

// Get asks the member for one key: GET {base}{group}/{key}, or, while
// other requests to the member are in flight, as part of a GetMany shared
// with the Gets that arrive meanwhile (see coalescer).
func (c *peer) Get(ctx context.Context, in *pb.GetRequest) (*pb.GetResponse, error) {
	return c.getCoalesced(ctx, in)
}

// getOne asks the member for one key: GET {base}{group}/{key}.
func (c *peer) getOne(ctx context.Context, in *pb.GetRequest) (*pb.GetResponse, error) {
	query := ""
	if in.GetPeek() {
		query = "peek=1"
	}
	out := new(pb.GetResponse)
	sreq := &pb.GetRequest{Group: in.GetGroup(), Key: in.GetKey(), Peek: in.GetPeek()}
	if err := c.do(ctx, opGet, http.MethodGet, in.GetGroup(), in.GetKey(), true, query, sreq, nil, out); err != nil {
		return nil, fmt.Errorf("peerhttp: get %q from %s: %w", in.GetKey(), c.base, err)
	}
	return out, nil
}

// GetMany asks the member for several keys: in one round trip of their
// own (POST {base}{group}), or, while other requests to the member are in
// flight, together with other callers' keys (see coalescer). At most
// 65536 keys: with more, GetMany fails without a request.
func (c *peer) GetMany(ctx context.Context, in *pb.GetManyRequest) (*pb.GetManyResponse, error) {
	if len(in.GetKeys()) > maxBatchKeys {
		return nil, fmt.Errorf("peerhttp: get %d keys of %q from %s: more than %d keys", len(in.GetKeys()), in.GetGroup(), c.base, maxBatchKeys)
	}
	if len(in.GetKeys()) == 0 {
		return c.getMany(ctx, in)
	}
	res, err := c.coalesce(ctx, nil, in)
	if err != nil {
		return nil, err
	}
	return &pb.GetManyResponse{Results: res}, nil
}

// getMany asks the member for keys in one round trip: POST {base}{group}.
func (c *peer) getMany(ctx context.Context, in *pb.GetManyRequest) (*pb.GetManyResponse, error) {
	out := new(pb.GetManyResponse)
	// Over HTTP the group travels in the path; on a stream, in the body.
	sreq := &pb.GetManyRequest{Group: in.GetGroup(), Keys: in.GetKeys(), Peek: in.GetPeek()}
	hreq := &pb.GetManyRequest{Keys: in.GetKeys(), Peek: in.GetPeek()}
	err := c.do(ctx, opGetMany, http.MethodPost, in.GetGroup(), "", false, "", sreq, hreq, out)
	if err == nil && len(out.GetResults()) != len(in.GetKeys()) {
		err = fmt.Errorf("%d results for %d keys", len(out.GetResults()), len(in.GetKeys()))
	}
	if err != nil {
		return nil, fmt.Errorf("peerhttp: get %d keys of %q from %s: %w", len(in.GetKeys()), in.GetGroup(), c.base, err)
	}
	return out, nil
}

// Write applies a write at the member: POST {base}{group}/{key}.
func (c *peer) Write(ctx context.Context, in *pb.WriteRequest) (*pb.WriteResponse, error) {
	out := new(pb.WriteResponse)
	// The group and key travel in the path, where a key need not be UTF-8;
	// every other field in the body (TestWriteCarriesEveryField).
	hreq := &pb.WriteRequest{Op: in.GetOp(), Value: in.GetValue(), TtlMs: in.GetTtlMs(), Delta: in.GetDelta(),
		Cond: in.GetCond(), Get: in.GetGet(), KeepTtl: in.GetKeepTtl(), Persist: in.GetPersist()}
	err := c.do(ctx, opWrite, http.MethodPost, in.GetGroup(), in.GetKey(), true, "", nil, hreq, out)
	if err != nil {
		op := strings.ToLower(strings.TrimPrefix(in.GetOp().String(), "OP_"))
		return nil, fmt.Errorf("peerhttp: %s %q at %s: %w", op, in.GetKey(), c.base, err)
	}
	return out, nil
}

// do sends one request to {base}{group}[/{key}][?query], with hreq as its
// body when it is not nil, unless the peer's breaker is open, and decodes
// the answer into out. A Get or GetMany (sreq not nil) goes on the peer's
// stream instead when it has one.
func (c *peer) do(ctx context.Context, op, method, grp, key string, hasKey bool, query string, sreq, hreq, out proto.Message) error {
	switch {
	case c.err != nil:
		return c.err
	case grp == "":
		return errors.New("empty group")
	case hasKey && key == "":
		return errors.New("empty key")
	}
	now := c.pool.cfg.Now
	observe := c.pool.cfg.Observe
	start := now()
	v := c.breaker.allow(start)
	if v == reject {
		c.rejected.Add(1)
		if observe != nil {
			observe(c.base, op, 0, ErrPeerUnavailable)
		}
		return ErrPeerUnavailable
	}
	c.requests.Add(1)
	o, err := c.send(ctx, op, method, grp, key, hasKey, query, sreq, hreq, out)
	if err != nil {
		c.errors.Add(1)
	}
	end := now()
	if observe != nil {
		observe(c.base, op, end.Sub(start), err)
	}
	if state, changed := c.breaker.done(end, v, o); changed {
		switch state {
		case BreakerOpen:
			c.pool.cfg.Logger.Warn("peer circuit breaker opened: its keys are loaded locally", "peer", c.base, "err", err)
		case BreakerClosed:
			c.pool.cfg.Logger.Info("peer circuit breaker closed", "peer", c.base)
		}
	}
	return err
}

// send sends one request under a context bounded by Config.Timeout,
// decodes the answer into out, and says what the outcome tells about the
// peer's health.
func (c *peer) send(ctx context.Context, op, method, grp, key string, hasKey bool, query string, sreq, hreq, out proto.Message) (outcome, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.pool.cfg.Timeout)
	defer cancel()
	// health classifies a failed request: the peer is not to blame when
	// the caller gave up first, nor when it answered on purpose.
	health := func(err error) outcome {
		var se *statusError
		switch {
		case parent.Err() != nil:
			return abandoned
		case errors.As(err, &se) && (se.code/100 == 4 || se.code == http.StatusGatewayTimeout):
			return succeeded
		}
		return failed
	}

	if sreq != nil {
		sop := streamGet
		if op == opGetMany {
			sop = streamGetMany
		}
		if err, ok := c.sendStream(ctx, sop, sreq, out); ok {
			if err != nil {
				return health(err), err
			}
			return succeeded, nil
		}
	}

	var rd io.Reader
	if hreq != nil {
		body, err := proto.Marshal(hreq)
		if err != nil {
			return abandoned, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base, rd)
	if err != nil {
		return abandoned, err
	}
	// Path is what the server will decode and RawPath what goes on the
	// wire; RawPath is a valid encoding of Path, so the client sends it
	// as it is, %2F and %2E included.
	base := c.pool.cfg.BasePath
	if hasKey {
		req.URL.Path = base + grp + "/" + key
		req.URL.RawPath = base + escapeSegment(grp) + "/" + escapeSegment(key)
	} else {
		req.URL.Path = base + grp
		req.URL.RawPath = base + escapeSegment(grp)
	}
	req.URL.RawQuery = query
	req.Header[headerPeer] = c.pool.peerHeader
	if c.pool.authHeader != nil {
		req.Header[headerAuth] = c.pool.authHeader
	}
	deadline, _ := ctx.Deadline() // set above
	if ms := ceilMillis(time.Until(deadline)); ms == c.pool.timeoutMs {
		// The usual case: the caller's deadline is not the nearer one.
		req.Header[headerTimeout] = c.pool.timeoutHeader
	} else {
		req.Header[headerTimeout] = []string{strconv.FormatInt(ms, 10)}
	}
	if rd != nil {
		req.Header[headerContentType] = c.pool.contentTypeHeader
	}

	res, err := c.pool.rt.RoundTrip(req)
	if err != nil {
		return health(err), err
	}
	defer func() {
		// Drain a little of what is left so that the connection can be
		// reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxDrain))
		_ = res.Body.Close()
	}()
	if err := readResponse(res, c.pool.cfg.MaxBodyBytes, out); err != nil {
		return health(err), err
	}
	return succeeded, nil
}

// statusError is the error of an answer other than 200.
type statusError struct {
	code   int
	status string // e.g. "404 Not Found"
	msg    []byte // the start of the body
}

func (e *statusError) Error() string {
	return fmt.Sprintf("status %s: %q", e.status, e.msg)
}

// readResponse checks that res is a 200 with a protobuf body of at most
// limit bytes and decodes the body into out.
func readResponse(res *http.Response, limit int64, out proto.Message) error {
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return &statusError{code: res.StatusCode, status: res.Status, msg: bytes.TrimSpace(msg)}
	}
	if ct := res.Header.Get(headerContentType); !isProtobuf(ct) {
		return fmt.Errorf("unexpected Content-Type %q", ct)
	}
	if res.ContentLength > limit {
		return fmt.Errorf("response of %d bytes exceeds limit of %d", res.ContentLength, limit)
	}
	var b []byte
	var err error
	if res.ContentLength >= 0 {
		// The transport reports a body shorter than its Content-Length as
		// io.ErrUnexpectedEOF.
		b = make([]byte, res.ContentLength)
		_, err = io.ReadFull(res.Body, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(res.Body, limit+1))
		if err == nil && int64(len(b)) > limit {
			return fmt.Errorf("response exceeds limit of %d bytes", limit)
		}
	}
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if err := proto.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// isProtobuf reports whether the media type of a Content-Type value is
// application/x-protobuf.
func isProtobuf(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), contentType)
}

// ceilMillis returns d in whole milliseconds, rounded up, at least 1 and at
// most the handler's bound, maxServeTimeout.
func ceilMillis(d time.Duration) int64 {
	d = min(d, maxServeTimeout)
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}
