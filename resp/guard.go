package resp

import (
	"net"
	"sync/atomic"
)

// The limits Redis hard-codes in its protocol parser (networking.c);
// rcache keeps them. MaxBulkBytes and MaxCommandBytes are in Config.
const (
	// maxInlineBytes bounds the line of an inline command, "\n" aside:
	// Redis's PROTO_INLINE_MAX_SIZE.
	maxInlineBytes = 64 << 10
	// maxMultibulkLen bounds the number of arguments of one command.
	maxMultibulkLen = 1 << 20
	// preAuthMultibulkLen and preAuthBulkBytes bound a command sent
	// before AUTH, when a password is configured, as Redis 6.2 does.
	preAuthMultibulkLen = 10
	preAuthBulkBytes    = 16 << 10
	// preAuthReadBytes bounds one read from the socket before AUTH, and
	// so the bytes a guardConn may have to keep (see guardConn.held).
	preAuthReadBytes = 4 << 10
	// minFillBytes is the smallest buffer guardConn.fill works in; a
	// shorter Read goes through guardConn.small.
	minFillBytes = 64
	// maxTailBytes bounds one read from the socket, but in a long
	// argument, and so the bytes of an incomplete frame a guardConn holds
	// back (see guardConn.held): the reader's pipeBufBytes.
	maxTailBytes = 64 << 10
)

// The protocol errors, word for word as Redis sends them, except
// errProtoCommand, where Redis closes the connection without a reply once
// its query buffer passes client-query-buffer-limit.
const (
	errProtoInline          = replyError("ERR Protocol error: too big inline request")
	errProtoQuotes          = replyError("ERR Protocol error: unbalanced quotes in request")
	errProtoMultibulk       = replyError("ERR Protocol error: invalid multibulk length")
	errProtoBulk            = replyError("ERR Protocol error: invalid bulk length")
	errProtoUnauthMultibulk = replyError("ERR Protocol error: unauthenticated multibulk length")
	errProtoUnauthBulk      = replyError("ERR Protocol error: unauthenticated bulk length")
	errProtoCommand         = replyError("ERR Protocol error: too big command")
)

// errProtoDollar is Redis's error for an argument that does not start with
// '$'. Like Redis, it shows CR and LF as spaces.
func errProtoDollar(c byte) replyError {
	if c == '\r' || c == '\n' {
		c = ' '
	}
	return replyError("ERR Protocol error: expected '$', got '" + string([]byte{c}) + "'")
}

// protocolError ends a connection that broke the protocol or a limit; the
// guard has sent reply to the client.
type protocolError struct {
	addr  string
	reply replyError
}

func (e *protocolError) Error() string {
	return "resp: read from " + e.addr + ": " + string(e.reply)
}

// guardLimits are the limits a guardConn enforces.
type guardLimits struct {
	maxBulk    uint64 // bytes of one argument
	maxCommand uint64 // bytes of one multibulk command, headers included
	maxArgs    uint64 // arguments of one command
	maxInline  int    // bytes of an inline command's line

	preAuth     bool   // a password is configured: apply the limits below until AUTH
	preAuthArgs uint64 // arguments of one command before AUTH
	preAuthBulk uint64 // bytes of one argument before AUTH
	preAuthRead int    // bytes of one read from the socket before AUTH
}

// newGuardLimits returns the limits of cfg, whose defaults are filled in.
// Limits past 2^62 bytes, which are no limits, are cut to it, so that the
// sums that check them cannot overflow.
func newGuardLimits(cfg Config) guardLimits {
	return guardLimits{
		maxBulk:     min(uint64(cfg.MaxBulkBytes), 1<<62),
		maxCommand:  min(uint64(cfg.MaxCommandBytes), 1<<62),
		maxArgs:     maxMultibulkLen,
		maxInline:   maxInlineBytes,
		preAuth:     cfg.RequirePass != "",
		preAuthArgs: preAuthMultibulkLen,
		preAuthBulk: preAuthBulkBytes,
		preAuthRead: preAuthReadBytes,
	}
}

// guardConn checks the bytes a client sends before the connection's
// reader (reader.go) parses them: it enforces Redis's framing and limits,
// and sends Redis's errors. It was built for redcon's reader, which trusts
// the lengths a client declares: "*1\r\n$9223372036854775807\r\n" makes it
// index out of range and crash the process, "*9223372036854775807\r\n"
// makes it loop on the count for ever, and nothing bounds what it buffers.
// rcache's reader checks the framing again, but only as a defence; the
// limits are the guard's alone.
//
// Read scans the bytes it returns with a state machine over the frames of
// RESP (an inline line; "*<count>\r\n" then count times "$<len>\r\n<payload>\r\n"),
// in the caller's buffer: it does not buffer a payload, it counts its
// bytes as they pass (it moves them down in place only after a frame it
// drops, and holds back at most maxTailBytes of an incomplete frame, as
// below). Everything it passes on, the reader, and redcon's reader, parse
// into the same commands, with the same boundaries, and without error
// (FuzzGuard, FuzzReaderMatchesRedcon). It drops the frames that Redis
// takes as empty commands and both readers refuse ("*0\r\n", "*-1\r\n").
// On the first byte that breaks the protocol or a limit, Read passes on
// the commands complete before it; the next Read, which the connection's
// loop makes only once it has run them and flushed their replies, sends
// the client Redis's error for it and reports a *protocolError, upon which
// the connection closes.
//
// Read also waits to pass on bytes until they complete a frame or fill the
// buffer. A reader parses the whole pending command again after every
// read, at a cost that grows with its declared count (redcon's also
// recursed once per read: a few million bytes trickled one at a time
// overflowed the goroutine's stack): waiting, a long command is parsed
// again only once per buffer it fills, and the buffer doubles.
//
// And a Read that completes a frame ends at a frame's end: Read holds back
// the start of the next frame, and scans it again on the next Read. A
// reader whose buffer is full and holds the start of a command grows it,
// and shrinks it only once it is empty: a client that streams commands
// with no pause at a command's end would otherwise grow it without bound.
//
// A guardConn is read by one goroutine at a time, the one serving its
// connection; setAuthenticated may be called from any goroutine.
type guardConn struct {
	net.Conn
	lim    guardLimits
	authed atomic.Bool // the pre-auth limits no longer apply

	s scanner
	// held is input read from the socket but not passed on, which Read
	// scans again, from a frame's start, before reading more: the
	// incomplete frame after complete ones, or a command over a pre-auth
	// limit that followed complete commands in one read. One of those may
	// be AUTH, after which the command is within the limits, as Redis,
	// which parses a command only once it has run the one before, would
	// have it. held is in heldBuf, reused; it is at most maxTailBytes
	// long, as readMax bounds what follows a frame's end in one read.
	held    []byte
	heldBuf []byte
	// ready is the part of small that Read scanned and passes on but that
	// the caller's short buffer could not take.
	ready []byte
	small [minFillBytes]byte

	readErr error      // the socket's error, reported once the bytes read with it are passed on
	bad     replyError // the violation to report; "" while there is none
	sent    bool       // bad has been sent to the client
}

func newGuardConn(c net.Conn, lim guardLimits) *guardConn {
	g := &guardConn{Conn: c, lim: lim}
	g.authed.Store(!lim.preAuth)
	return g
}

// setAuthenticated lifts the pre-auth limits: the client has logged in.
func (g *guardConn) setAuthenticated() { g.authed.Store(true) }

// markAuthenticated records that cl has logged in, and lifts the pre-auth
// limits of its connection's guard.
func (cl *client) markAuthenticated() {
	cl.authed = true
	if cl.conn == nil {
		return
	}
	if g, ok := cl.conn.Conn.(*guardConn); ok {
		g.setAuthenticated()
	}
}

// Read reads from the connection into p the bytes that pass the checks.
// It reports a *protocolError, having sent the client its reply, when the
// client broke the protocol or a limit.
func (g *guardConn) Read(p []byte) (int, error) {
	if len(g.ready) > 0 {
		n := copy(p, g.ready)
		g.ready = g.ready[n:]
		return n, nil
	}
	switch {
	case g.bad != "":
		return 0, g.report()
	case len(p) == 0:
		return 0, nil
	case len(p) < minFillBytes:
		n, err := g.fill(g.small[:])
		k := copy(p, g.small[:n])
		g.ready = g.small[k:n]
		return k, err
	}
	return g.fill(p)
}

// report sends the client the error for g.bad, the first time, and
// returns the error that ends the connection. The connection's loop has
// flushed every reply before it reads again, so the line goes out after them, whole.
func (g *guardConn) report() error {
	if !g.sent {
		g.sent = true
		g.Conn.Write([]byte("-" + string(g.bad) + "\r\n")) // the connection closes anyway
	}
	return &protocolError{addr: g.RemoteAddr().String(), reply: g.bad}
}

// fill reads into p, len(p) >= minFillBytes, until the bytes that pass the
// checks complete a frame or fill p, the socket fails or the client breaks
// the protocol, and returns how many bytes of p pass.
func (g *guardConn) fill(p []byte) (int, error) {
	w := 0        // p[:w] passes
	complete := 0 // p[:complete] is whole frames
	for {
		r := w
		if g.s.state == gsStar {
			r++ // room for the '*' held back, passed on before the count's first digit
		}
		authed := g.authed.Load()
		end := min(len(p), r+g.s.readMax())
		if !authed {
			end = min(end, r+g.lim.preAuthRead)
		}
		var n int
		var err error
		switch {
		case len(g.held) > 0:
			n = copy(p[r:end], g.held)
			g.held = g.held[n:]
		case g.readErr != nil:
			err = g.readErr
		default:
			n, err = g.Conn.Read(p[r:end])
		}
		e := r + n
		res := g.s.scan(p, r, e, w, authed, &g.lim)
		if res.complete > 0 {
			complete = res.complete
		}
		if res.bad != "" {
			if res.preAuth && complete > 0 && res.frame >= complete {
				// Keep the command and the input after it for the next
				// Read, once the commands before it have run. Its input
				// bytes are those passed on, p[frame:w], and the rest,
				// p[stop:e], from the byte refused on.
				g.hold(p[res.frame:res.w], p[res.stop:e])
				if err != nil {
					g.readErr = err
				}
				return res.frame, nil
			}
			g.bad = res.bad
			if complete > 0 {
				return complete, nil
			}
			return 0, g.report()
		}
		w = res.w
		if err != nil {
			if w > 0 {
				g.readErr = err
				return w, nil
			}
			return 0, err
		}
		if complete > 0 {
			// End at the frame's end; its input bytes are those passed
			// on, and the '*' if it is held back.
			tail := p[complete:w]
			if g.s.state == gsStar {
				tail = append(tail, '*') // p[w] is free: the '*' took a byte of input
			}
			if len(tail) > 0 {
				g.hold(tail, nil)
			}
			return complete, nil
		}
		if w >= len(p) || (w+1 == len(p) && g.s.state == gsStar) {
			return w, nil // no room for more
		}
	}
}

// hold puts a and then b, a frame's input from its first byte, before
// what is held, for Read to scan again, and starts the scanner afresh.
func (g *guardConn) hold(a, b []byte) {
	if len(g.held) > 0 {
		// Only when p could not take all that was held: rare, and short.
		g.held = append(append(append([]byte(nil), a...), b...), g.held...)
	} else {
		g.heldBuf = append(append(g.heldBuf[:0], a...), b...)
		g.held = g.heldBuf
	}
	g.s = scanner{}
}

// scanState is where a scanner is in the frames of RESP.
type scanState uint8

const (
	gsStart     scanState = iota // at a frame's first byte
	gsInline                     // in an inline line
	gsStar                       // after a multibulk's '*', held back until the count shows whether the frame is dropped
	gsCount                      // in a positive count
	gsCountLF                    // after the count's '\r'
	gsNoopFirst                  // after "*-": the count's first digit
	gsNoop                       // in the count of a frame that is dropped, "*0" or "*-n"
	gsNoopLF                     // after its '\r'
	gsDollar                     // at an argument's '$'
	gsBulkFirst                  // after '$'
	gsBulk                       // in an argument's length
	gsBulkLF                     // after the length's '\r'
	gsPayload                    // in an argument's bytes
	gsPayloadCR                  // at the '\r' after them
	gsPayloadLF                  // at the '\n' after them
)

// scanner is the state of a guardConn's scan, carried from one read to the
// next.
type scanner struct {
	state scanState
	n     uint64 // the number being read
	args  uint64 // the arguments of the command still to come
	left  uint64 // the bytes of the argument still to come
	size  uint64 // the bytes of the multibulk command so far

	// An inline line, parsed as redcon parses it so that both refuse the
	// same lines.
	line       int  // bytes so far
	quote      byte // the open quote, 0 if none
	escape     bool // after a backslash in quotes
	tokenStart bool // at the start of a word: a quote here opens
	afterQuote bool // after a closing quote: a space or the line's end must follow
	cr         bool // after a '\r', which is the line's end if '\n' follows
}

// readMax bounds the next read from the socket so that it ends at most
// maxTailBytes past the end of the frame in progress. In a long argument,
// where the frame cannot end before it does, the read may take the rest
// of the argument at once.
func (s *scanner) readMax() int {
	if s.state == gsPayload && s.left+2 > maxTailBytes {
		return int(s.left + 2)
	}
	return maxTailBytes
}

// scanResult is the outcome of scanner.scan.
type scanResult struct {
	w        int        // p[:w] passes
	complete int        // the end of the last whole frame in p; 0 if none ended
	frame    int        // where in p the output of the current frame starts; -1 if it started before
	bad      replyError // the violation; "" if none
	stop     int        // the index of the byte refused
	preAuth  bool       // bad is a pre-auth limit
}

// scan checks the input p[i:e] and moves what passes down to p[w:]. The
// output never overtakes the input: w <= i, but for the one '*' held back
// from an earlier call, for which the caller leaves p[w] free (w < i).
func (s *scanner) scan(p []byte, i, e, w int, authed bool, lim *guardLimits) scanResult {
	res := scanResult{frame: -1}
	var bad replyError
	// The fields the loop uses most, kept in locals, and stored back at
	// the end.
	state, n, args, left, size := s.state, s.n, s.args, s.left, s.size
loop:
	for i < e {
		// The fast paths: a count's line, or an argument from its '$' to
		// its payload's CRLF, that is all in p and that the byte-by-byte
		// scan below would pass, in one step. Anything else, even what is
		// only incomplete, goes byte by byte.
		if state == gsStart && p[i] == '*' && i+1 < e && p[i+1] >= '1' && p[i+1] <= '9' {
			if v, j, ok := parseLine(p, i+1, e, lim.maxArgs); ok && (authed || v <= lim.preAuthArgs) {
				res.frame = w
				w = move(p, w, i, j)
				state, args, size, i = gsDollar, v, uint64(j-i), j
				continue
			}
		}
		if state == gsDollar && p[i] == '$' {
			if v, j, ok := parseLine(p, i+1, e, lim.maxBulk); ok && (authed || v <= lim.preAuthBulk) &&
				size+uint64(j-i)+v+2 <= lim.maxCommand && v+2 <= uint64(e-j) {
				end := j + int(v) + 2
				if p[end-2] == '\r' && p[end-1] == '\n' {
					w = move(p, w, i, end)
					size += uint64(end - i)
					i = end
					if args--; args == 0 {
						state = gsStart
						res.complete = w
					}
					continue
				}
			}
		}
		if state == gsPayload {
			k := e - i
			if uint64(k) > left {
				k = int(left)
			}
			if w != i {
				copy(p[w:], p[i:i+k])
			}
			w += k
			i += k
			left -= uint64(k)
			size += uint64(k)
			if left == 0 {
				state = gsPayloadCR
			}
			continue
		}
		c := p[i]
		switch state {
		case gsStart:
			res.frame = w
			if c == '*' {
				state, size = gsStar, 1
				i++
				continue
			}
			state = gsInline
			s.line, s.quote, s.escape, s.tokenStart, s.afterQuote, s.cr = 0, 0, false, true, false, false
			continue // c is the line's first byte

		case gsInline:
			if c == '\n' {
				if s.quote != 0 {
					bad = errProtoQuotes
					break loop
				}
				p[w] = c
				w++
				i++
				state = gsStart
				res.complete = w
				continue
			}
			s.line++
			if s.line > lim.maxInline {
				bad = errProtoInline
				break loop
			}
			if s.cr {
				s.cr = false
				if !s.inlineByte('\r') {
					bad = errProtoQuotes
					break loop
				}
			}
			if c == '\r' {
				s.cr = true
			} else if !s.inlineByte(c) {
				bad = errProtoQuotes
				break loop
			}

		case gsStar:
			switch {
			case c >= '1' && c <= '9':
				p[w] = '*'
				w++
				n, state = uint64(c-'0'), gsCount
			case c == '0':
				n, state = 0, gsNoop
				i++
				continue
			case c == '-':
				state = gsNoopFirst
				i++
				continue
			default:
				bad = errProtoMultibulk
				break loop
			}

		case gsCount:
			switch {
			case c >= '0' && c <= '9':
				var ok bool
				if n, ok = appendDigit(n, c, lim.maxArgs); !ok {
					bad = errProtoMultibulk
					break loop
				}
			case c == '\r':
				state = gsCountLF
			default:
				bad = errProtoMultibulk
				break loop
			}

		case gsCountLF:
			if c != '\n' {
				bad = errProtoMultibulk
				break loop
			}
			if !authed && n > lim.preAuthArgs {
				bad, res.preAuth = errProtoUnauthMultibulk, true
				break loop
			}
			args, state = n, gsDollar

		case gsNoopFirst:
			if c < '1' || c > '9' {
				bad = errProtoMultibulk
				break loop
			}
			n, state = uint64(c-'0'), gsNoop
			i++
			continue

		case gsNoop:
			switch {
			case c >= '0' && c <= '9':
				var ok bool
				if n == 0 { // "*0" then a digit
					bad = errProtoMultibulk
					break loop
				}
				if n, ok = appendDigit(n, c, 1<<63); !ok { // as low as int64 goes
					bad = errProtoMultibulk
					break loop
				}
			case c == '\r':
				state = gsNoopLF
			default:
				bad = errProtoMultibulk
				break loop
			}
			i++
			continue

		case gsNoopLF:
			if c != '\n' {
				bad = errProtoMultibulk
				break loop
			}
			state = gsStart // the frame is dropped: nothing of it passes
			i++
			continue

		case gsDollar:
			if c != '$' {
				bad = errProtoDollar(c)
				break loop
			}
			state = gsBulkFirst

		case gsBulkFirst:
			if c < '0' || c > '9' {
				bad = errProtoBulk // a sign, nothing, or not a number
				break loop
			}
			n, state = uint64(c-'0'), gsBulk
			if n > lim.maxBulk {
				bad = errProtoBulk
				break loop
			}

		case gsBulk:
			switch {
			case c >= '0' && c <= '9':
				var ok bool
				if n == 0 { // a leading zero
					bad = errProtoBulk
					break loop
				}
				if n, ok = appendDigit(n, c, lim.maxBulk); !ok {
					bad = errProtoBulk
					break loop
				}
			case c == '\r':
				state = gsBulkLF
			default:
				bad = errProtoBulk
				break loop
			}

		case gsBulkLF:
			if c != '\n' {
				bad = errProtoBulk
				break loop
			}
			if !authed && n > lim.preAuthBulk {
				bad, res.preAuth = errProtoUnauthBulk, true
				break loop
			}
			if size+1+n+2 > lim.maxCommand {
				bad = errProtoCommand
				break loop
			}
			left, state = n, gsPayload
			if n == 0 {
				state = gsPayloadCR
			}

		case gsPayloadCR:
			if c != '\r' {
				bad = errProtoBulk // what redcon says when the payload is longer than declared
				break loop
			}
			state = gsPayloadLF

		case gsPayloadLF:
			if c != '\n' {
				bad = errProtoBulk
				break loop
			}
			args--
			if args > 0 {
				state = gsDollar
				break
			}
			p[w] = c
			w++
			i++
			state = gsStart
			res.complete = w
			continue
		}
		p[w] = c // c passes
		w++
		i++
		size++
	}
	s.state, s.n, s.args, s.left, s.size = state, n, args, left, size
	res.w, res.bad, res.stop = w, bad, i
	return res
}

// inlineByte takes the next byte of an inline line that is not its end,
// and reports whether the line can still be valid: redcon refuses a quote
// inside a word, a closing quote not followed by a space, and a quote left
// open.
func (s *scanner) inlineByte(c byte) bool {
	switch {
	case s.afterQuote:
		s.afterQuote = false
		s.tokenStart = true
		return c == ' '
	case s.quote == 0:
		switch c {
		case ' ':
			s.tokenStart = true
		case '"', '\'':
			if !s.tokenStart {
				return false
			}
			s.quote = c
		default:
			s.tokenStart = false
		}
	case s.escape:
		s.escape = false
	case c == s.quote:
		s.quote = 0
		s.afterQuote = true
	case c == '\\':
		s.escape = true
	}
	return true
}

// parseLine parses the number and "\r\n" that start at p[i] and end
// before p[e], as the byte-by-byte scan would: digits without a sign or a
// leading zero, at most max. It returns the number and the index after
// the '\n', or false if the line is not all there or not valid.
func parseLine(p []byte, i, e int, max uint64) (uint64, int, bool) {
	if i >= e {
		return 0, 0, false
	}
	if p[i] == '0' {
		if i+2 < e && p[i+1] == '\r' && p[i+2] == '\n' {
			return 0, i + 3, true
		}
		return 0, 0, false
	}
	var n uint64
	for ; i < e; i++ {
		c := p[i]
		if c == '\r' {
			if i+1 < e && p[i+1] == '\n' && n > 0 {
				return n, i + 2, true
			}
			return 0, 0, false
		}
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		var ok bool
		if n, ok = appendDigit(n, c, max); !ok {
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// move moves p[i:j] down to p[w:], w <= i, and returns the new end of the
// output.
func move(p []byte, w, i, j int) int {
	if w != i {
		copy(p[w:], p[i:j])
	}
	return w + j - i
}

// appendDigit returns n*10 plus the digit c, and whether that is at most
// max.
func appendDigit(n uint64, c byte, max uint64) (uint64, bool) {
	d := uint64(c - '0')
	if d > max || n > (max-d)/10 {
		return n, false
	}
	return n*10 + d, true
}
