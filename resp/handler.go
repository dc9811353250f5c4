package resp

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"time"
)

// handler runs commands: each command is one of its methods, found by name
// in its table (table.go). It is safe for concurrent use; the state of
// each connection is in its client, used by one goroutine at a time.
type handler struct {
	cfg      Config
	commands map[string]*command // top-level commands by lower-case name
	list     []*command          // top-level commands in name order, for COMMAND
	all      []*command          // every command, subcommands included, in name order, for the stats
	passHash [sha256.Size]byte   // of cfg.RequirePass, for a constant-time AUTH
	getCmd   *command            // GET, whose stats a run of pipelined GETs counts

	// base is the parent of every command's context. It carries no values;
	// Server.Shutdown cancels it when the commands in flight outlive its
	// ctx. It is kept here because no context comes with a command
	// (STYLE rule 24); no request uses it as is.
	base context.Context
	// timeout is the cause of a command's context when CommandTimeout
	// passes, and the reply the command then sends.
	timeout replyError
	// ended is the context of a command that ended before it needed one
	// (see commandCtx.end): done from the start.
	ended context.Context

	now     func() time.Time
	started time.Time              // when New was called, for uptime
	port    atomic.Int64           // the TCP port Serve listens on, for INFO
	addr    atomic.Pointer[string] // the address Serve listens on, for INFO; nil before Serve

	nextID    atomic.Int64 // the last client ID given out
	connected atomic.Int64 // connections open now
	received  atomic.Int64 // connections accepted since New

	rejectedMax       atomic.Int64 // connections refused by MaxClients
	rejectedProtected atomic.Int64 // connections refused by protected mode
	tlsErrors         atomic.Int64 // connections whose TLS handshake failed
	outputLimitCloses atomic.Int64 // connections closed for a reply over MaxOutputBytes
	authFailures      atomic.Int64 // AUTH and HELLO AUTH that gave a wrong user or password
	errorReplies      atomic.Int64 // error replies to commands, unknown ones included
	unknownCalls      atomic.Int64 // commands and subcommands refused as unknown
}

func newHandler(cfg Config, base context.Context, now func() time.Time) *handler {
	h := &handler{
		cfg:      cfg,
		passHash: sha256.Sum256([]byte(cfg.RequirePass)),
		base:     base,
		timeout:  replyError("ERR timeout: no reply within " + cfg.CommandTimeout.String()),
		now:      now,
		started:  now(),
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	h.ended = ended
	h.commands, h.list = commandTable()
	h.all = allCommands(h.commands)
	h.getCmd = h.commands["get"]
	return h
}

// exec runs the command args (its name first) for cl and writes exactly one
// reply, in Redis's order of checks: an unknown command or subcommand, then
// the number of arguments, then authentication. A command's method then
// parses its arguments, calls the engine and writes its reply.
func (h *handler) exec(cl *client, args [][]byte) {
	if len(args) == 0 {
		return // the reader never hands over an empty command
	}
	// A client sends the same command again and again (a pipeline of
	// GETs): try the one it sent last before the table.
	cmd := cl.last
	if cmd == nil || !equalFold(args[0], cmd.name) {
		cmd = lookup(h.commands, args[0])
		cl.last = cmd
	}
	if cmd == nil {
		h.refuse(cl, nil, unknownCommand(args))
		return
	}
	if cmd.subs != nil && len(args) > 1 {
		sub := lookup(cmd.subs, args[1])
		if sub == nil {
			h.refuse(cl, nil, unknownSubcommand(cmd.name, args[1]))
			return
		}
		cmd = sub
	}
	if !cmd.arityOK(len(args)) {
		h.refuse(cl, cmd, wrongArity(cmd.name))
		return
	}
	if !cl.authed && cmd.flags&flagNoAuth == 0 {
		h.refuse(cl, cmd, string(errNoAuth))
		return
	}
	// The counts cost an atomic add per command, on the command's own
	// counter, and nothing more unless it fails.
	cmd.calls.Add(1)
	errs := cl.w.errs
	cmd.run(h, cl, args)
	if n := cl.w.errs - errs; n > 0 {
		cmd.failed.Add(1)
		h.errorReplies.Add(n)
	}
}

// refuse replies msg to a command that does not run, and counts it, as a
// rejected call of cmd if it is known.
func (h *handler) refuse(cl *client, cmd *command, msg string) {
	if cmd != nil {
		cmd.rejected.Add(1)
	} else {
		h.unknownCalls.Add(1)
	}
	h.errorReplies.Add(1)
	cl.w.Error(msg)
}

// maxCommandName is the longest command name lookup matches, in bytes.
const maxCommandName = 32

// lookup returns the command named name in any case, or nil. It lowers the
// name into a buffer on the stack: the map index by string(bytes) does not
// allocate.
func lookup(m map[string]*command, name []byte) *command {
	var buf [maxCommandName]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return m[string(buf[:len(name)])]
}

// fail writes the reply for err, the outcome of a command that ran under
// ctx; see errorReply.
func (h *handler) fail(ctx context.Context, cl *client, err error) {
	line, null := errorReply(ctx, err)
	if null {
		cl.w.Null()
		return
	}
	switch {
	case line == string(errFailed):
		h.cfg.Logger.Warn("command failed", "client", cl.id, "err", err)
	case !errors.As(err, new(replyError)):
		h.cfg.Logger.Debug("command failed", "client", cl.id, "reply", line, "err", err)
	}
	cl.w.Error(line)
}
