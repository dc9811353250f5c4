// Command loadgen fills a Redis-protocol server with keys and measures the
// latency of GETs one at a time; bench/run drives it against rcache and
// redis-server alike.
//
//	loadgen fill -addr 127.0.0.1:6380 -keys 100000 -size 64
//	loadgen latency -addr 127.0.0.1:6380 -keys 100000 -duration 10s
//	loadgen relay -listen 127.0.0.1:7000 -to 127.0.0.1:6380
//	loadgen mapserver -listen 127.0.0.1:7001
//	loadgen ports 3
//
// Keys are named as redis-benchmark names them with -r: "key:" and the
// index in twelve digits, so that after a fill of N keys every GET that
// redis-benchmark sends with -r N is a hit.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
)

const usage = `usage:
  loadgen fill [flags]      SET key:000000000000 ... key:<keys-1> to values of -size bytes
  loadgen latency [flags]   GET random keys one at a time and print latency percentiles
  loadgen relay [flags]     relay each client connection to a server, both ways
  loadgen mapserver [flags] serve GET, SET and MGET from a Go map behind redcon
  loadgen ports N           print N free loopback TCP ports, one per line
Run "loadgen fill -h", "loadgen latency -h", "loadgen relay -h" or "loadgen mapserver -h" for their flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "fill":
		err = fill(args)
	case "latency":
		err = latency(args)
	case "relay":
		err = relay(args)
	case "mapserver":
		err = mapserver(args)
	case "ports":
		err = ports(args)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// appendKey appends the name redis-benchmark gives key i with -r:
// "key:" and i in twelve digits, zero-padded. Unlike fmt it does not
// allocate.
func appendKey(dst []byte, i int) []byte {
	dst = append(dst, "key:"...)
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(i), 10)
	for range 12 - len(d) {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// ports prints n free loopback ports. It holds all n listeners open
// before closing any, so that the n ports are distinct.
func ports(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("ports: want one argument, the number of ports")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return fmt.Errorf("ports: %q is not a positive number", args[0])
	}
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("ports: %w", err)
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
