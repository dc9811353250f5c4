package resp

import (
	"strconv"
)

// Stats is a snapshot of a Server's counters, for metrics. Each is counted
// since New.
type Stats struct {
	// ConnectedClients is the connections open now, refused ones aside.
	ConnectedClients int64
	// ConnectionsReceived is the connections accepted, refused ones aside
	// (INFO's total_connections_received).
	ConnectionsReceived int64
	// RejectedMaxClients is the connections refused because MaxClients
	// were open; RejectedProtectedMode those refused by protected mode.
	// INFO's rejected_connections is their sum, as in Redis.
	RejectedMaxClients    int64
	RejectedProtectedMode int64
	// AuthFailures is the AUTH and HELLO AUTH commands that gave a wrong
	// user or password (INFO's acl_access_denied_auth).
	AuthFailures int64
	// TLSHandshakeErrors is the connections closed because their TLS
	// handshake failed or did not end in time; plain RESP sent to a TLS
	// port included.
	TLSHandshakeErrors int64
	// OutputLimitCloses is the connections closed because a reply would
	// have passed MaxOutputBytes (INFO's
	// client_output_buffer_limit_disconnections).
	OutputLimitCloses int64
	// CommandsProcessed is the commands run: the sum of the Calls below
	// (INFO's total_commands_processed).
	CommandsProcessed int64
	// ErrorReplies is the error replies to commands, to unknown and
	// refused ones included (INFO's total_error_replies). The replies to
	// protocol errors, sent as the connection closes, are not counted.
	ErrorReplies int64
	// UnknownCommands is the commands refused because no command or
	// subcommand has their name.
	UnknownCommands int64
	// Commands has the counts of every command that has been called, in
	// name order.
	Commands []CommandStats
}

// CommandStats counts the calls of one command, as Redis's INFO
// commandstats does.
type CommandStats struct {
	// Name is the command's lower-case name; "client|id" for a
	// subcommand.
	Name string
	// Calls is the times the command ran, failed runs included.
	Calls int64
	// FailedCalls is the runs that replied with an error.
	FailedCalls int64
	// RejectedCalls is the calls refused before the command ran: with the
	// wrong number of arguments, or before authentication.
	RejectedCalls int64
}

// Stats returns a snapshot of the server's counters. It is safe to call
// at any time, from any goroutine; it allocates, the counting does not.
func (s *Server) Stats() Stats { return s.h.stats() }

func (h *handler) stats() Stats {
	st := Stats{
		ConnectedClients:      h.connected.Load(),
		ConnectionsReceived:   h.received.Load(),
		RejectedMaxClients:    h.rejectedMax.Load(),
		RejectedProtectedMode: h.rejectedProtected.Load(),
		AuthFailures:          h.authFailures.Load(),
		TLSHandshakeErrors:    h.tlsErrors.Load(),
		OutputLimitCloses:     h.outputLimitCloses.Load(),
		ErrorReplies:          h.errorReplies.Load(),
		UnknownCommands:       h.unknownCalls.Load(),
	}
	for _, c := range h.all {
		cs := CommandStats{Name: c.name, Calls: c.calls.Load(), FailedCalls: c.failed.Load(), RejectedCalls: c.rejected.Load()}
		st.CommandsProcessed += cs.Calls
		if cs.Calls > 0 || cs.FailedCalls > 0 || cs.RejectedCalls > 0 {
			st.Commands = append(st.Commands, cs)
		}
	}
	return st
}

// commandsProcessed returns the commands run, for INFO.
func (h *handler) commandsProcessed() int64 {
	var n int64
	for _, c := range h.all {
		n += c.calls.Load()
	}
	return n
}

// appendCommandStats appends INFO's commandstats lines, Redis 7's, for
// every command called. rcache does not time commands: usec and
// usec_per_call are 0.
func (h *handler) appendCommandStats(b []byte) []byte {
	for _, c := range h.all {
		calls, failed, rejected := c.calls.Load(), c.failed.Load(), c.rejected.Load()
		if calls == 0 && failed == 0 && rejected == 0 {
			continue
		}
		b = append(b, "cmdstat_"...)
		b = append(b, c.name...)
		b = append(b, ":calls="...)
		b = strconv.AppendInt(b, calls, 10)
		b = append(b, ",usec=0,usec_per_call=0.00,rejected_calls="...)
		b = strconv.AppendInt(b, rejected, 10)
		b = append(b, ",failed_calls="...)
		b = strconv.AppendInt(b, failed, 10)
		b = append(b, "\r\n"...)
	}
	return b
}
