package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/tidwall/redcon"
)

// mapserver serves GET, SET and MGET from a Go map behind redcon, as the
// example server in redcon's README does: what Go and redcon reach before
// any cache logic (no budget, no eviction, no expiry, no groups). bench/run
// times it beside rcache and redis-server, so that each single-node row
// also says how far rcache is from its own framework's ceiling.
func mapserver(args []string) error {
	fs := flag.NewFlagSet("mapserver", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "`host:port` to accept clients on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("mapserver: %w", err)
	}
	fmt.Println(ln.Addr())
	srv := redcon.NewServer("", newMapStore().serve, nil, nil)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	err = srv.Serve(ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// mapStore is the map a mapserver serves.
type mapStore struct {
	mu    sync.RWMutex
	items map[string][]byte
}

func newMapStore() *mapStore { return &mapStore{items: make(map[string][]byte)} }

// serve answers one command, as redcon's README example does, with MGET,
// DBSIZE and CONFIG added for redis-benchmark and bench/run.
func (m *mapStore) serve(conn redcon.Conn, cmd redcon.Command) {
	name := strings.ToLower(string(cmd.Args[0]))
	if a := arity(name); a > 0 && a != len(cmd.Args) || name == "mget" && len(cmd.Args) < 2 {
		conn.WriteError("ERR wrong number of arguments for '" + name + "' command")
		return
	}
	switch name {
	case "ping":
		conn.WriteString("PONG")
	case "quit":
		conn.WriteString("OK")
		conn.Close()
	case "get":
		m.mu.RLock()
		v, ok := m.items[string(cmd.Args[1])]
		m.mu.RUnlock()
		if !ok {
			conn.WriteNull()
			return
		}
		conn.WriteBulk(v)
	case "mget":
		conn.WriteArray(len(cmd.Args) - 1)
		m.mu.RLock()
		for _, k := range cmd.Args[1:] {
			if v, ok := m.items[string(k)]; ok {
				conn.WriteBulk(v)
			} else {
				conn.WriteNull()
			}
		}
		m.mu.RUnlock()
	case "set":
		// The README's example keeps cmd.Args[2] itself; copy it, as
		// redcon reuses its read buffer.
		v := append([]byte(nil), cmd.Args[2]...)
		m.mu.Lock()
		m.items[string(cmd.Args[1])] = v
		m.mu.Unlock()
		conn.WriteString("OK")
	case "del":
		m.mu.Lock()
		_, ok := m.items[string(cmd.Args[1])]
		delete(m.items, string(cmd.Args[1]))
		m.mu.Unlock()
		if ok {
			conn.WriteInt(1)
		} else {
			conn.WriteInt(0)
		}
	case "dbsize":
		m.mu.RLock()
		n := len(m.items)
		m.mu.RUnlock()
		conn.WriteInt(n)
	case "config":
		conn.WriteArray(0) // redis-benchmark asks for save and appendonly
	default:
		conn.WriteError("ERR unknown command '" + string(cmd.Args[0]) + "'")
	}
}

// arity is the number of arguments, the command's name included, that
// command name takes; 0 for any other command.
func arity(name string) int {
	switch name {
	case "get", "del":
		return 2
	case "set":
		return 3
	}
	return 0
}
