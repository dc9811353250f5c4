package resp

import "bytes"

// The COMMAND family describes the command table in Redis 7's shapes:
// clients (go-redis's cluster routing, redis-cli's hints and HELP) read
// them.

// commandAll: COMMAND
func (h *handler) commandAll(cl *client, args [][]byte) {
	cl.w.Array(len(h.list))
	for _, c := range h.list {
		writeCommandInfo(&cl.w, c)
	}
}

// commandCount: COMMAND COUNT
func (h *handler) commandCount(cl *client, args [][]byte) {
	cl.w.Int(int64(len(h.list)))
}

// commandList: COMMAND LIST. The FILTERBY option is not supported.
func (h *handler) commandList(cl *client, args [][]byte) {
	cl.w.Array(len(h.list))
	for _, c := range h.list {
		cl.w.BulkString(c.name)
	}
}

// commandInfo: COMMAND INFO [command-name ...]. A name that names no
// command is null; no name means every command.
func (h *handler) commandInfo(cl *client, args [][]byte) {
	if len(args) == 2 {
		h.commandAll(cl, args)
		return
	}
	cl.w.Array(len(args) - 2)
	for _, name := range args[2:] {
		if c := h.find(name); c != nil {
			writeCommandInfo(&cl.w, c)
		} else {
			cl.w.Null()
		}
	}
}

// commandDocs: COMMAND DOCS [command-name ...]. A map from each command's
// name to its documentation; names that name no command are left out, and
// no name means every command.
func (h *handler) commandDocs(cl *client, args [][]byte) {
	cmds := h.list
	if len(args) > 2 {
		cmds = nil
		for _, name := range args[2:] {
			if c := h.find(name); c != nil {
				cmds = append(cmds, c)
			}
		}
	}
	cl.w.Map(len(cmds))
	for _, c := range cmds {
		cl.w.BulkString(c.name)
		writeCommandDoc(&cl.w, c)
	}
}

// commandHelp: COMMAND HELP
func (h *handler) commandHelp(cl *client, args [][]byte) {
	writeHelp(&cl.w, "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)",
		"    Return details about all commands.",
		"COUNT",
		"    Return the total number of commands.",
		"LIST",
		"    Return a list of all command names.",
		"INFO [<command-name> ...]",
		"    Return details about the named commands, or all of them.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about the named commands, or all of them.",
		"HELP",
		"    Print this help.",
	)
}

// find returns the command named name ("get", "client|id"), in any case,
// or nil. Hidden commands are not found.
func (h *handler) find(name []byte) *command {
	container, sub, isSub := bytes.Cut(name, []byte("|"))
	c := lookup(h.commands, container)
	if c == nil || c.flags&flagHidden != 0 {
		return nil
	}
	if isSub {
		return lookup(c.subs, sub) // a nil map finds nothing
	}
	return c
}

// writeCommandInfo writes c's entry of COMMAND INFO, as Redis 7 does: name,
// arity, flags, first key, last key, step, ACL categories, tips, key specs
// and subcommands.
func writeCommandInfo(w *writer, c *command) {
	w.Array(10)
	w.BulkString(c.name)
	w.Int(int64(c.arity))
	writeSimpleSet(w, c.flags.names())
	w.Int(int64(c.keys.first))
	w.Int(int64(c.keys.last))
	w.Int(int64(c.keys.step))
	writeSimpleSet(w, c.acl)
	w.Set(len(c.tips))
	for _, t := range c.tips {
		w.BulkString(t)
	}
	if c.keys.flags == nil {
		w.Array(0)
	} else {
		writeKeySpec(w, c.keys)
	}
	w.Array(len(c.subList))
	for _, sub := range c.subList {
		writeCommandInfo(w, sub)
	}
}

// writeKeySpec writes the one key spec of a command whose keys are the
// arguments from k.first to k.last, every k.step.
func writeKeySpec(w *writer, k keySpec) {
	lastKey := -1 // the last argument, relative to the first key
	if k.last >= 0 {
		lastKey = k.last - k.first
	}
	w.Array(1)
	w.Map(3)
	w.BulkString("flags")
	writeSimpleSet(w, k.flags)
	w.BulkString("begin_search")
	w.Map(2)
	w.BulkString("type")
	w.BulkString("index")
	w.BulkString("spec")
	w.Map(1)
	w.BulkString("index")
	w.Int(int64(k.first))
	w.BulkString("find_keys")
	w.Map(2)
	w.BulkString("type")
	w.BulkString("range")
	w.BulkString("spec")
	w.Map(3)
	w.BulkString("lastkey")
	w.Int(int64(lastKey))
	w.BulkString("keystep")
	w.Int(int64(k.step))
	w.BulkString("limit")
	w.Int(0)
}

// writeCommandDoc writes c's documentation map of COMMAND DOCS.
func writeCommandDoc(w *writer, c *command) {
	n := 4
	if c.doc.args != nil {
		n++
	}
	if c.subList != nil {
		n++
	}
	w.Map(n)
	w.BulkString("summary")
	w.BulkString(c.doc.summary)
	w.BulkString("since")
	w.BulkString(c.doc.since)
	w.BulkString("group")
	w.BulkString(c.doc.group)
	w.BulkString("complexity")
	w.BulkString(c.doc.complexity)
	if c.doc.args != nil {
		w.BulkString("arguments")
		writeArgDocs(w, c.doc.args)
	}
	if c.subList != nil {
		w.BulkString("subcommands")
		w.Map(len(c.subList))
		for _, sub := range c.subList {
			w.BulkString(sub.name)
			writeCommandDoc(w, sub)
		}
	}
}

// writeArgDocs writes an array of argument maps, in Redis's field order.
func writeArgDocs(w *writer, args []argDoc) {
	w.Array(len(args))
	for _, a := range args {
		n := 2
		if a.typ == "key" {
			n++
		}
		if a.token != "" {
			n++
		}
		if a.flags != nil {
			n++
		}
		if a.args != nil {
			n++
		}
		w.Map(n)
		w.BulkString("name")
		w.BulkString(a.name)
		w.BulkString("type")
		w.BulkString(a.typ)
		if a.typ == "key" {
			w.BulkString("key_spec_index")
			w.Int(0) // every command has one key spec
		}
		if a.token != "" {
			w.BulkString("token")
			w.BulkString(a.token)
		}
		if a.flags != nil {
			w.BulkString("flags")
			writeSimpleSet(w, a.flags)
		}
		if a.args != nil {
			w.BulkString("arguments")
			writeArgDocs(w, a.args)
		}
	}
}

// writeSimpleSet writes a set of simple strings.
func writeSimpleSet(w *writer, s []string) {
	w.Set(len(s))
	for _, v := range s {
		w.Simple(v)
	}
}
