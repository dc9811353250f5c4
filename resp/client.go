package resp

import (
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/tidwall/redcon"
)

// closeMode says whether a connection closes after the command just run.
type closeMode uint8

const (
	keepOpen        closeMode = iota
	closeAfterReply           // QUIT: send the replies so far, then close
	closeNow                  // POST, Host: close without sending anything more
)

// client is the state of one connection, made by Server.accept. It
// is used only by the goroutine that serves the connection.
type client struct {
	id      int64
	conn    *trackedConn // nil when a benchmark drives the handler directly
	addr    string       // the client's address
	laddr   string       // the address it connected to
	created time.Time
	w       writer

	authed  bool
	name    string // CLIENT SETNAME, HELLO SETNAME
	libName string // CLIENT SETINFO LIB-NAME
	libVer  string // CLIENT SETINFO LIB-VER
	closing closeMode

	last *command // the top-level command run last, which exec tries first
	run  getRun   // the run of pipelined GETs being served (pipeline.go)

	ctxs  []commandCtx // the rest of the block commandContext carves from
	clock time.Time    // when the commands being run started (started); zero: read it again
	keys  keyArena     // copies of the keys commands keep (splitKey)
}

// newClient returns the state of a new connection, which speaks RESP2 until
// HELLO says otherwise and writes its replies to w.
func (h *handler) newClient(conn *trackedConn, w *redcon.Writer) *client {
	cl := &client{
		id:      h.nextID.Add(1),
		conn:    conn,
		created: h.now(),
		w:       writer{w: w, proto: resp2, limit: max(h.cfg.MaxOutputBytes, 0)},
		authed:  h.cfg.RequirePass == "",
	}
	if conn != nil {
		cl.addr = conn.RemoteAddr().String()
		cl.laddr = conn.LocalAddr().String()
	}
	return cl
}

// ping: PING [message]
func (h *handler) ping(cl *client, args [][]byte) {
	switch len(args) {
	case 1:
		cl.w.Simple("PONG")
	case 2:
		cl.w.Bulk(args[1])
	default:
		cl.w.Error(wrongArity("ping"))
	}
}

// echo: ECHO message
func (h *handler) echo(cl *client, args [][]byte) {
	cl.w.Bulk(args[1])
}

// quit: QUIT. The connection closes once +OK is sent; the commands
// pipelined after it do not run.
func (h *handler) quit(cl *client, args [][]byte) {
	cl.w.Simple("OK")
	cl.closing = closeAfterReply
}

// securityWarning answers a line that starts with "POST" or "Host:": an HTTP
// request sent to the Redis port, perhaps by a web page attacking it across
// protocols. Like Redis, close the connection without a reply.
func (h *handler) securityWarning(cl *client, args [][]byte) {
	h.cfg.Logger.Warn("possible cross-protocol attack: HTTP request on the redis port, connection closed", "addr", cl.addr)
	cl.closing = closeNow
}

// selectDB: SELECT index. There is one database, 0.
func (h *handler) selectDB(cl *client, args [][]byte) {
	n, ok := parseInt(args[1])
	switch {
	case !ok:
		cl.w.Error(string(errNotInteger))
	case n != 0:
		cl.w.Error(string(errDBIndex))
	default:
		cl.w.Simple("OK")
	}
}

// auth: AUTH [username] password. The only user is "default".
func (h *handler) auth(cl *client, args [][]byte) {
	if len(args) > 3 {
		cl.w.Error(string(errSyntax))
		return
	}
	user, pass := []byte("default"), args[1]
	if len(args) == 3 {
		user, pass = args[1], args[2]
	} else if h.cfg.RequirePass == "" {
		cl.w.Error(string(errNoPassword))
		return
	}
	if !h.passwordOK(user, pass) {
		h.authFailures.Add(1)
		cl.w.Error(string(errWrongPass))
		return
	}
	cl.markAuthenticated()
	cl.w.Simple("OK")
}

// passwordOK reports whether user and pass log in. Without RequirePass the
// default user takes any password, as Redis's "nopass" default user does.
// The passwords are compared through their hashes, in constant time, so
// that neither their bytes nor their length show in the timing.
func (h *handler) passwordOK(user, pass []byte) bool {
	if string(user) != "default" {
		return false
	}
	if h.cfg.RequirePass == "" {
		return true
	}
	sum := sha256.Sum256(pass)
	return subtle.ConstantTimeCompare(sum[:], h.passHash[:]) == 1
}

// hello: HELLO [protover [AUTH username password] [SETNAME clientname]]
func (h *handler) hello(cl *client, args [][]byte) {
	proto, next := 0, 1
	if len(args) > 1 {
		n, ok := parseInt(args[1])
		if !ok {
			cl.w.Error(string(errProtoVersion))
			return
		}
		if n != resp2 && n != resp3 {
			cl.w.Error(string(errNoProto))
			return
		}
		proto, next = int(n), 2
	}
	var user, pass, name []byte
	var hasAuth, hasName bool
	for j := next; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case equalFold(args[j], "auth") && more >= 2:
			user, pass, hasAuth = args[j+1], args[j+2], true
			j += 2
		case equalFold(args[j], "setname") && more >= 1:
			name, hasName = args[j+1], true
			if !validClientAttr(name) {
				cl.w.Error(string(errClientName))
				return
			}
			j++
		default:
			opt := cString(args[j], len(args[j]))
			cl.w.Error("ERR Syntax error in HELLO option '" + string(opt) + "'")
			return
		}
	}
	if hasAuth {
		if !h.passwordOK(user, pass) {
			h.authFailures.Add(1)
			cl.w.Error(string(errWrongPass))
			return
		}
		cl.markAuthenticated()
	}
	if !cl.authed {
		cl.w.Error(string(errHelloNoAuth))
		return
	}
	if hasName {
		cl.name = string(name)
	}
	if proto != 0 {
		cl.w.proto = proto
	}
	w := &cl.w
	w.Map(7)
	w.BulkString("server")
	w.BulkString("rcache")
	w.BulkString("version")
	w.BulkString(redisVersion)
	w.BulkString("proto")
	w.Int(int64(w.proto))
	w.BulkString("id")
	w.Int(cl.id)
	w.BulkString("mode")
	w.BulkString("standalone")
	w.BulkString("role")
	w.BulkString("master")
	w.BulkString("modules")
	w.Array(0)
}

// validClientAttr reports whether s may be a client name or library name or
// version: printable ASCII without spaces.
func validClientAttr(s []byte) bool {
	for _, c := range s {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// clientID: CLIENT ID
func (h *handler) clientID(cl *client, args [][]byte) {
	cl.w.Int(cl.id)
}

// clientGetName: CLIENT GETNAME
func (h *handler) clientGetName(cl *client, args [][]byte) {
	if cl.name == "" {
		cl.w.Null()
		return
	}
	cl.w.BulkString(cl.name)
}

// clientSetName: CLIENT SETNAME connection-name. An empty name clears it.
func (h *handler) clientSetName(cl *client, args [][]byte) {
	if !validClientAttr(args[2]) {
		cl.w.Error(string(errClientName))
		return
	}
	cl.name = string(args[2])
	cl.w.Simple("OK")
}

// clientSetInfo: CLIENT SETINFO LIB-NAME name | LIB-VER version
func (h *handler) clientSetInfo(cl *client, args [][]byte) {
	attr, val := args[2], args[3]
	var dst *string
	switch {
	case equalFold(attr, "lib-name"):
		dst = &cl.libName
	case equalFold(attr, "lib-ver"):
		dst = &cl.libVer
	default:
		cl.w.Error("ERR Unrecognized option '" + string(cString(attr, len(attr))) + "'")
		return
	}
	if !validClientAttr(val) {
		cl.w.Error("ERR " + string(cString(attr, len(attr))) + " cannot contain spaces, newlines or special characters.")
		return
	}
	*dst = string(val)
	cl.w.Simple("OK")
}

// clientInfo: CLIENT INFO
func (h *handler) clientInfo(cl *client, args [][]byte) {
	cl.w.Verbatim("txt", h.appendClientLine(nil, cl, "client|info"))
}

// clientList: CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID id ...].
// It lists only the calling connection: the others' state belongs to their
// own goroutines.
func (h *handler) clientList(cl *client, args [][]byte) {
	match := true
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "type") && i+1 < len(args):
			i++
			switch {
			case equalFold(args[i], "normal"):
			case equalFold(args[i], "master"), equalFold(args[i], "replica"), equalFold(args[i], "pubsub"):
				match = false
			default:
				cl.w.Error("ERR Unknown client type '" + string(cString(args[i], len(args[i]))) + "'")
				return
			}
		case equalFold(args[i], "id") && i+1 < len(args):
			listed := false
			for i++; i < len(args); i++ {
				id, ok := parseInt(args[i])
				if !ok || id <= 0 {
					cl.w.Error("ERR Invalid client ID")
					return
				}
				listed = listed || id == cl.id
			}
			match = match && listed
		default:
			cl.w.Error(string(errSyntax))
			return
		}
	}
	var line []byte
	if match {
		line = h.appendClientLine(nil, cl, "client|list")
	}
	cl.w.Verbatim("txt", line)
}

// appendClientLine appends cl's line of CLIENT LIST, in Redis's format
// with the fields rcache has; cmd is the command being run.
func (h *handler) appendClientLine(b []byte, cl *client, cmd string) []byte {
	b = append(b, "id="...)
	b = strconv.AppendInt(b, cl.id, 10)
	b = append(b, " addr="...)
	b = append(b, cl.addr...)
	b = append(b, " laddr="...)
	b = append(b, cl.laddr...)
	b = append(b, " name="...)
	b = append(b, cl.name...)
	b = append(b, " age="...)
	b = strconv.AppendInt(b, int64(h.now().Sub(cl.created)/time.Second), 10)
	b = append(b, " idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 cmd="...)
	b = append(b, cmd...)
	b = append(b, " user=default redir=-1 resp="...)
	b = strconv.AppendInt(b, int64(cl.w.proto), 10)
	b = append(b, " lib-name="...)
	b = append(b, cl.libName...)
	b = append(b, " lib-ver="...)
	b = append(b, cl.libVer...)
	return append(b, '\n')
}

// clientHelp: CLIENT HELP
func (h *handler) clientHelp(cl *client, args [][]byte) {
	writeHelp(&cl.w, "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"LIST [TYPE <type>] [ID <id> [<id> ...]]",
		"    Return information about client connections; rcache lists only the current one.",
		"SETINFO <option> <value>",
		"    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"HELP",
		"    Print this help.",
	)
}

// writeHelp writes the reply of a HELP subcommand: an array of simple
// strings.
func writeHelp(w *writer, lines ...string) {
	w.Array(len(lines))
	for _, l := range lines {
		w.Simple(l)
	}
}
