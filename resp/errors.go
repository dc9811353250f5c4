package resp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/rcache/rcache/engine/group"
)

// replyError is an error whose text is the RESP error to send, code first,
// word for word as Redis sends it: "ERR syntax error".
type replyError string

func (e replyError) Error() string { return string(e) }

// The errors that commands reply with, as Redis words them.
const (
	errSyntax       = replyError("ERR syntax error")
	errNotInteger   = replyError("ERR value is not an integer or out of range")
	errOverflow     = replyError("ERR increment or decrement would overflow")
	errDecrOverflow = replyError("ERR decrement would overflow")
	errExpireNX     = replyError("ERR NX and XX, GT or LT options at the same time are not compatible")
	errExpireGTLT   = replyError("ERR GT and LT options at the same time are not compatible")
	errDBIndex      = replyError("ERR DB index is out of range")
	errNoAuth       = replyError("NOAUTH Authentication required.")
	errWrongPass    = replyError("WRONGPASS invalid username-password pair or user is disabled.")
	errNoPassword   = replyError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	errNoProto      = replyError("NOPROTO unsupported protocol version")
	errProtoVersion = replyError("ERR Protocol version is not an integer or out of range")
	errHelloNoAuth  = replyError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
	errClientName   = replyError("ERR Client names cannot contain spaces, newlines or special characters.")
)

// invalidExpire returns Redis's error for a time that SET, GETEX or an
// EXPIRE command cannot turn into an expiry (zero, negative, or out of
// range in milliseconds); cmd is the command's name in lower case.
func invalidExpire(cmd string) replyError {
	return replyError("ERR invalid expire time in '" + cmd + "' command")
}

// unsupportedOption returns Redis's error for a word an EXPIRE command
// does not know as an option.
func unsupportedOption(opt []byte) replyError {
	return replyError("ERR Unsupported option " + string(cString(opt, len(opt))))
}

// unknownGroup returns the error of RCACHE.FLUSH for a group name the
// registry does not hold.
func unknownGroup(name []byte) replyError {
	return replyError("ERR unknown group '" + string(cString(name, maxEchoed)) + "'")
}

// The errors of rcache's own making, where Redis has no equivalent.
const (
	errEmptyKey      = replyError("ERR empty key")
	errOriginFailed  = replyError("ERR origin: load failed")
	errOriginTimeout = replyError("ERR origin: timeout")
	errUnavailable   = replyError("ERR unavailable: the node that owns the key did not answer")
	errFailed        = replyError("ERR request failed (details in the server log)")
)

// flushError is a flush of one or more groups across the cluster that some
// node did not confirm (FLUSHALL, RCACHE.FLUSH): the nodes reached dropped
// their copies, the others keep theirs until they expire. err holds the
// engine's errors, for the log.
type flushError struct {
	group  string // the one group flushed (RCACHE.FLUSH); "" for FLUSHALL
	failed int    // the groups not flushed on every node
	total  int    // the groups flushed
	err    error
}

func (e *flushError) Error() string {
	return "flush: " + strconv.Itoa(e.failed) + " of " + strconv.Itoa(e.total) + " groups not confirmed by every node: " + e.err.Error()
}

func (e *flushError) Unwrap() error { return e.err }

// reply returns the line a client gets for e: counts and the group's name,
// never a node's address.
func (e *flushError) reply() string {
	if e.group != "" {
		return "ERR flush incomplete: group '" + e.group + "' was not flushed on every node (details in the server log)"
	}
	groups := " groups were"
	if e.total == 1 {
		groups = " group was"
	}
	return "ERR flush incomplete: " + strconv.Itoa(e.failed) + " of " + strconv.Itoa(e.total) + groups +
		" not flushed on every node (details in the server log)"
}

// loadError marks an error from a load (Get, GetMany): whatever is not a
// not-found, a bad key or the command's own deadline is the origin's
// failure. The engine returns a local Getter's failure as a plain wrapped
// error, not as *group.OriginError, so the commands that load say so here.
type loadError struct{ err error }

func (e loadError) Error() string { return e.err.Error() }
func (e loadError) Unwrap() error { return e.err }

// errorReply is the one place where errors become RESP replies. It returns
// the error line to send for err, the outcome of a command that ran under
// ctx (nil if it called nothing that takes one), or null true when the
// reply is a null instead (the key has no value). The line never includes
// the error's own text: that names hosts and keys.
func errorReply(ctx context.Context, err error) (line string, null bool) {
	var re replyError
	var fe *flushError
	switch {
	case errors.As(err, &fe):
		// First: a flush cut short by the deadline (whose cause its
		// errors may wrap) still flushed the nodes that answered, and
		// says so.
		return fe.reply(), false
	case errors.Is(err, group.ErrNotFound):
		return "", true
	case errors.As(err, &re):
		return string(re), false
	case errors.Is(err, group.ErrNotInteger):
		return string(errNotInteger), false
	case errors.Is(err, group.ErrOverflow):
		return string(errOverflow), false
	case errors.Is(err, group.ErrEmptyKey):
		return string(errEmptyKey), false
	case ctx != nil && ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
		// The command's own deadline, or Shutdown: the cause says which.
		if errors.As(context.Cause(ctx), &re) {
			return string(re), false
		}
		return string(errShutdown), false
	case errors.As(err, new(loadError)):
		if errors.Is(err, context.DeadlineExceeded) {
			return string(errOriginTimeout), false
		}
		return string(errOriginFailed), false
	case errors.As(err, new(*group.OriginError)):
		return string(errOriginFailed), false
	case errors.As(err, new(net.Error)):
		return string(errUnavailable), false
	}
	return string(errFailed), false
}

// The longest part of a client's argument that an error echoes, in bytes.
const maxEchoed = 128

// unknownCommand returns Redis 7.2's error for a command it does not know:
// the name and then the arguments, quoted, until 128 bytes of arguments
// have been echoed.
func unknownCommand(args [][]byte) string {
	b := []byte("ERR unknown command '")
	b = append(b, cString(args[0], maxEchoed)...)
	b = append(b, "', with args beginning with: "...)
	n := 0 // bytes of arguments echoed so far
	for _, a := range args[1:] {
		if n >= maxEchoed {
			break
		}
		part := cString(a, maxEchoed-n)
		b = append(b, '\'')
		b = append(b, part...)
		b = append(b, '\'', ' ')
		n += len(part) + 3
	}
	return string(spaceNewlines(b))
}

// unknownSubcommand returns Redis 7.2's error for a subcommand of a known
// container command (CLIENT, COMMAND, CONFIG) that it does not know.
func unknownSubcommand(container string, sub []byte) string {
	b := []byte("ERR unknown subcommand '")
	b = append(b, cString(sub, maxEchoed)...)
	b = append(b, "'. Try "...)
	b = append(b, bytes.ToUpper([]byte(container))...)
	b = append(b, " HELP."...)
	return string(spaceNewlines(b))
}

// wrongArity returns Redis's error for a known command with too many or too
// few arguments; name is its full name, "client|setname" for a subcommand.
func wrongArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// cString returns what Redis's "%.*s" prints of b: the bytes before the
// first NUL, at most max of them.
func cString(b []byte, max int) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > max {
		b = b[:max]
	}
	return b
}

// spaceNewlines replaces CR and LF with spaces, in place, as Redis does to
// the client's bytes it echoes in an error.
func spaceNewlines(b []byte) []byte {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return b
}
