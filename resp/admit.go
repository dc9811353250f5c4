package resp

import (
	"net"
	"net/netip"
)

// errMaxClients is Redis's reply, word for word, to a client that connects
// when MaxClients connections are open.
const errMaxClients = "-ERR max number of clients reached\r\n"

// errProtected is the reply to a client that protected mode refuses. It
// opens with Redis's words, which clients and tools recognise; the
// remedies are rcache's.
const errProtected = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
	"In this mode connections are only accepted from the loopback interface. " +
	"If you want to connect from external computers to rcache you may adopt one of the following solutions: " +
	"1) Just disable protected mode by restarting rcache with the '--protected-mode=false' option, " +
	"however MAKE SURE rcache is not publicly accessible from internet if you do so. " +
	"2) Set up an authentication password by restarting rcache with the '--requirepass' option. " +
	"NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

// admit returns the line that refuses the new connection c, after
// counting the refusal, or "" if c may be served. It runs on Serve's
// accept loop, like accept, its caller.
func (s *Server) admit(c net.Conn) string {
	// Only accept, on this one goroutine, adds to connected, so no other
	// connection can be counted between this check and accept's Add; a
	// connection that closes meanwhile only makes the count high, and
	// refuses a client that would just have fit, as Redis may too.
	if s.h.connected.Load() >= int64(s.h.cfg.MaxClients) {
		s.h.rejectedMax.Add(1)
		s.h.cfg.Logger.Warn("connection refused: max number of clients reached",
			"addr", c.RemoteAddr().String(), "maxclients", s.h.cfg.MaxClients)
		return errMaxClients
	}
	// c.RemoteAddr is the TCP peer's address, under TLS too.
	if s.h.cfg.RequirePass == "" && !s.h.cfg.AllowRemoteWithoutPassword && !s.isLoopback(c.RemoteAddr()) {
		s.h.rejectedProtected.Add(1)
		s.h.cfg.Logger.Warn("connection refused: protected mode", "addr", c.RemoteAddr().String())
		return errProtected
	}
	return ""
}

// isLoopbackAddr reports whether a client at addr connected from this
// host: over a loopback address (IPv4-mapped ones included) or a unix
// socket.
func isLoopbackAddr(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap().IsLoopback()
	case *net.UnixAddr:
		return true
	}
	if addr == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
