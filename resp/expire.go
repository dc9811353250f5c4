package resp

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// Expiry: the options that give a key a lifetime (SET's and GETEX's EX, PX,
// EXAT, PXAT, KEEPTTL and PERSIST) and the commands that change or read it
// (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, GETEX, TTL, PTTL,
// EXPIRETIME, PEXPIRETIME).
//
// A key "exists" for these commands when its owner holds it in memory: they
// never ask the origin, except GETEX, which loads the value as GET does. An
// absolute time (EXAT, PXAT, EXPIREAT, PEXPIREAT, EXPIRETIME) is read on the
// clock of the key's group (group.Config.Now), the one its expiry runs on,
// and travels to the owner as a lifetime from now: a skew between this
// node's clock and the owner's moves it by as much. The engine caps a
// lifetime at about 100 years; TTL reports no more than that.

// expiryKind is the expiry option of a SET or GETEX.
type expiryKind int

const (
	noExpiryOpt expiryKind = iota
	exOpt                  // EX seconds
	pxOpt                  // PX milliseconds
	exatOpt                // EXAT unix-time-seconds
	pxatOpt                // PXAT unix-time-milliseconds
	keepTTLOpt             // KEEPTTL, SET only
	persistOpt             // PERSIST, GETEX only
)

// expiryOption returns the expiry option opt names, in any case, or
// noExpiryOpt.
func expiryOption(opt []byte) expiryKind {
	switch {
	case equalFold(opt, "ex"):
		return exOpt
	case equalFold(opt, "px"):
		return pxOpt
	case equalFold(opt, "exat"):
		return exatOpt
	case equalFold(opt, "pxat"):
		return pxatOpt
	case equalFold(opt, "keepttl"):
		return keepTTLOpt
	case equalFold(opt, "persist"):
		return persistOpt
	}
	return noExpiryOpt
}

// setOpts are the options of SET or GETEX.
type setOpts struct {
	nx, xx, get bool // SET only
	kind        expiryKind
	when        []byte // the time of EX, PX, EXAT or PXAT; nil with no time. Borrowed from the command's args.
}

// parseSetOpts parses opts, the arguments after SET's value (forSet) or
// after GETEX's key, as Redis's parseExtendedStringArgumentsOrReply does:
// an option may repeat, but not clash with another (NX with XX, two kinds of
// expiry); an unknown word, a missing time or the other command's option
// (NX, XX, GET or KEEPTTL in GETEX, PERSIST in SET) is a syntax error. The
// time is not checked here: Redis checks it later.
func parseSetOpts(opts [][]byte, forSet bool) (setOpts, bool) {
	var o setOpts
	for i := 0; i < len(opts); i++ {
		opt := opts[i]
		kind := expiryOption(opt)
		switch {
		case forSet && equalFold(opt, "nx") && !o.xx:
			o.nx = true
		case forSet && equalFold(opt, "xx") && !o.nx:
			o.xx = true
		case forSet && equalFold(opt, "get"):
			o.get = true
		case kind == noExpiryOpt || (o.kind != noExpiryOpt && o.kind != kind):
			return setOpts{}, false
		case kind == keepTTLOpt && forSet, kind == persistOpt && !forSet:
			o.kind = kind
		case kind != keepTTLOpt && kind != persistOpt && i+1 < len(opts):
			o.kind = kind
			i++
			o.when = opts[i]
		default:
			return setOpts{}, false
		}
	}
	return o, true
}

// lifetime returns how long from now the key may live under o's time, as
// Redis's getExpireMillisecondsOrReply checks that time: a time that is not
// an integer is errNotInteger; zero, a negative time, or one whose
// milliseconds (plus now, for EX and PX) overflow 64 bits is
// invalidExpire(cmd). past is true for an EXAT or PXAT at or before now.
// bad is "" when the time is valid.
func (o setOpts) lifetime(now time.Time, cmd string) (ttl time.Duration, past bool, bad replyError) {
	n, ok := parseInt(o.when)
	if !ok {
		return 0, false, errNotInteger
	}
	seconds := o.kind == exOpt || o.kind == exatOpt
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		return 0, false, invalidExpire(cmd)
	}
	if seconds {
		n *= 1000
	}
	nowMs := now.UnixMilli()
	if o.kind == exOpt || o.kind == pxOpt {
		if nowMs > 0 && n > math.MaxInt64-nowMs {
			return 0, false, invalidExpire(cmd)
		}
		return msLifetime(n), false, ""
	}
	if n <= nowMs {
		return 0, true, ""
	}
	return msLifetime(n - nowMs), false, ""
}

// msLifetime returns ms milliseconds as a Duration, capped at the longest
// Duration (about 292 years) where Redis would go further.
func msLifetime(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// getex: GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
// PXAT unix-time-milliseconds | PERSIST]. It loads the value as GET does
// and, at the owner, sets or removes its expiry; a Unix time already past
// deletes the key (as GETDEL), so that the next GET loads it again.
func (h *handler) getex(cl *client, args [][]byte) {
	o, ok := parseSetOpts(args[2:], false)
	if !ok {
		cl.w.Error(string(errSyntax))
		return
	}
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	if key == "" {
		cl.w.Null()
		return
	}
	var ttl time.Duration
	var past bool
	var bad replyError // a time Redis refuses
	if o.when != nil {
		ttl, past, bad = o.lifetime(g.Config().Now(), "getex")
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	var v group.ByteView
	var err error
	switch {
	case bad != "":
		// Redis looks the key up before it checks the time: a key with
		// no value is null whatever the time.
		if _, err = g.Get(ctx, key); err == nil {
			err = bad
		} else {
			err = loadError{err}
		}
	case past:
		v, err = g.GetDel(ctx, key)
	case o.kind == persistOpt:
		v, err = g.GetEx(ctx, key, 0, true)
	case ttl > 0:
		v, err = g.GetEx(ctx, key, ttl, false)
	default:
		// No option: GET. It needs no write at the owner.
		if v, err = g.Get(ctx, key); err != nil {
			err = loadError{err}
		}
	}
	if err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.BulkString(v.String())
}

// expireFlags are the options of EXPIRE and its kin.
type expireFlags struct{ nx, xx, gt, lt bool }

// parseExpireFlags parses opts, the arguments after the time, as Redis's
// parseExtendedExpireArgumentsOrReply does: any word but NX, XX, GT and LT
// is unsupported, and NX goes with none of the others, GT not with LT. XX
// goes with GT or LT. bad is "" when the options are valid.
func parseExpireFlags(opts [][]byte) (f expireFlags, bad replyError) {
	for _, opt := range opts {
		switch {
		case equalFold(opt, "nx"):
			f.nx = true
		case equalFold(opt, "xx"):
			f.xx = true
		case equalFold(opt, "gt"):
			f.gt = true
		case equalFold(opt, "lt"):
			f.lt = true
		default:
			return expireFlags{}, unsupportedOption(opt)
		}
	}
	switch {
	case f.nx && (f.xx || f.gt || f.lt):
		return expireFlags{}, errExpireNX
	case f.gt && f.lt:
		return expireFlags{}, errExpireGTLT
	}
	return f, ""
}

// expire: EXPIRE key seconds [NX | XX | GT | LT]
func (h *handler) expire(cl *client, args [][]byte) { h.expireGeneric(cl, args, "expire", true, false) }

// pexpire: PEXPIRE key milliseconds [NX | XX | GT | LT]
func (h *handler) pexpire(cl *client, args [][]byte) {
	h.expireGeneric(cl, args, "pexpire", false, false)
}

// expireat: EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
func (h *handler) expireat(cl *client, args [][]byte) {
	h.expireGeneric(cl, args, "expireat", true, true)
}

// pexpireat: PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
func (h *handler) pexpireat(cl *client, args [][]byte) {
	h.expireGeneric(cl, args, "pexpireat", false, true)
}

// expireGeneric runs the EXPIRE command cmd, whose time is in seconds or
// milliseconds, relative or a Unix time (abs). As Redis's
// expireGenericCommand it replies 1 when the expiry was set, 0 when the key
// is not cached at its owner or the condition refused; a time at or before
// now deletes the key (and replies 1). It checks the options, then the
// time (which may be negative, but not overflow 64 bits in milliseconds),
// then the key.
func (h *handler) expireGeneric(cl *client, args [][]byte, cmd string, seconds, abs bool) {
	f, bad := parseExpireFlags(args[3:])
	if bad != "" {
		cl.w.Error(string(bad))
		return
	}
	n, ok := parseInt(args[2])
	if !ok {
		cl.w.Error(string(errNotInteger))
		return
	}
	if seconds {
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			cl.w.Error(string(invalidExpire(cmd)))
			return
		}
		n *= 1000
	}
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	nowMs := g.Config().Now().UnixMilli()
	when := n // the Unix time in milliseconds
	if !abs {
		if nowMs > 0 && n > math.MaxInt64-nowMs {
			cl.w.Error(string(invalidExpire(cmd)))
			return
		}
		when = n + nowMs
	}
	if key == "" {
		cl.w.Int(0)
		return
	}
	var ttl time.Duration // zero: the time is past, delete
	if when > nowMs {
		ttl = msLifetime(when - nowMs)
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	set, err := expireKey(ctx, g, key, ttl, f)
	if err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.Int(boolInt(set))
}

// expireKey gives key a lifetime of ttl (zero: delete it) under f's
// condition and reports whether it did.
func expireKey(ctx context.Context, g *group.Group, key string, ttl time.Duration, f expireFlags) (bool, error) {
	switch {
	case f.nx:
		return g.Expire(ctx, key, ttl, group.ExpireNX)
	case f.gt:
		// GT never applies to a key without an expiry, so XX adds nothing.
		return g.Expire(ctx, key, ttl, group.ExpireGT)
	case f.lt && f.xx:
		return g.Expire(ctx, key, ttl, group.ExpireXXLT)
	case f.lt:
		return g.Expire(ctx, key, ttl, group.ExpireLT)
	case f.xx:
		return g.Expire(ctx, key, ttl, group.ExpireXX)
	}
	return g.Expire(ctx, key, ttl, group.ExpireAlways)
}

// persist: PERSIST key. 1 when the key lost its expiry, 0 when it had none
// or is not cached at its owner.
func (h *handler) persist(cl *client, args [][]byte) {
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	if key == "" {
		cl.w.Int(0)
		return
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	done, err := g.Persist(ctx, key)
	if err != nil {
		h.fail(ctx, cl, err)
		return
	}
	cl.w.Int(boolInt(done))
}

// ttl: TTL key
func (h *handler) ttl(cl *client, args [][]byte) { h.ttlGeneric(cl, args, false, false) }

// pttl: PTTL key
func (h *handler) pttl(cl *client, args [][]byte) { h.ttlGeneric(cl, args, true, false) }

// expiretime: EXPIRETIME key
func (h *handler) expiretime(cl *client, args [][]byte) { h.ttlGeneric(cl, args, false, true) }

// pexpiretime: PEXPIRETIME key
func (h *handler) pexpiretime(cl *client, args [][]byte) { h.ttlGeneric(cl, args, true, true) }

// ttlGeneric replies, as Redis's ttlGenericCommand does, -2 when the key is
// not cached at its owner (the origin is not asked), -1 when it never
// expires, or else the time it has left (abs: the Unix time it expires at),
// in milliseconds or in seconds rounded to the nearest ((ms+500)/1000).
func (h *handler) ttlGeneric(cl *client, args [][]byte, ms, abs bool) {
	g, key := splitKey(h.cfg.Registry, h.cfg.Default, args[1], &cl.keys)
	if key == "" {
		cl.w.Int(-2)
		return
	}
	ctx := h.commandContext(cl)
	defer ctx.end()
	d, err := g.TTL(ctx, key)
	switch {
	case errors.Is(err, group.ErrNotFound):
		cl.w.Int(-2)
		return
	case err != nil:
		h.fail(ctx, cl, err)
		return
	case d == group.NoExpiry:
		cl.w.Int(-1)
		return
	}
	v := d.Milliseconds()
	if abs {
		v = g.Config().Now().Add(d).UnixMilli()
	}
	if !ms {
		v = (v + 500) / 1000
	}
	cl.w.Int(v)
}

// boolInt returns 1 for true and 0 for false, Redis's integer booleans.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
