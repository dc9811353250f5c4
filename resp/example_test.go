package resp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/resp"
)

// Example serves a "scores" group over the Redis protocol, reads a score
// the way any Redis client would, GET scores:Tom, and shows the command
// counts.
func Example() {
	reg := group.NewRegistry()
	def := reg.NewGroup("default", 0, group.GetterFunc(func(context.Context, string) ([]byte, error) {
		return nil, group.ErrNotFound // a plain cache: a miss is nil
	}))
	reg.NewGroup("scores", 64<<20, group.GetterFunc(func(_ context.Context, name string) ([]byte, error) {
		if name == "Tom" {
			return []byte("630"), nil // a database query, in real life
		}
		return nil, group.ErrNotFound
	}))

	srv, err := resp.New(resp.Config{Registry: reg, Default: def})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(conn, "*2\r\n$3\r\nGET\r\n$10\r\nscores:Tom\r\n")
	reply := make([]byte, len("$3\r\n630\r\n"))
	if _, err := io.ReadFull(bufio.NewReader(conn), reply); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%q\n", reply)
	conn.Close()

	// The counts behind INFO commandstats, for metrics.
	for _, c := range srv.Stats().Commands {
		fmt.Printf("%s: calls=%d failed=%d rejected=%d\n", c.Name, c.Calls, c.FailedCalls, c.RejectedCalls)
	}

	if err := srv.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(<-served)
	// Output:
	// "$3\r\n630\r\n"
	// get: calls=1 failed=0 rejected=0
	// <nil>
}
