package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// relay forwards every connection made to -listen to a new connection to
// -to, bytes as they come, both ways, until either side closes. It stands
// for the cheapest possible peer hop: one more process on the path with no
// cache logic, so that bench/run can time it against a hop and a local hit.
func relay(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "`host:port` to accept clients on")
	to := fs.String("to", "", "`host:port` of the server each client is relayed to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("relay: -to is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	fmt.Println(ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		ln.Close()
	}()
	err = serveRelay(ln, *to)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// serveRelay accepts clients on ln and relays each to upstream until ln is
// closed.
func serveRelay(ln net.Listener, upstream string) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("relay: accept: %w", err)
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadgen: relay:", err)
				return
			}
			defer u.Close()
			done := make(chan struct{})
			go func() {
				io.Copy(c, u)
				c.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			io.Copy(u, c)
			u.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}
