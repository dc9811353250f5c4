package flight_test

import (
	"context"
	"fmt"

	"github.com/rcache/rcache/cluster/flight"
)

func ExampleGroup_Do() {
	var g flight.Group
	v, err, shared := g.Do("user:42", func() (any, error) {
		return "Ada", nil // load from the origin here
	})
	fmt.Println(v, err, shared)
	// Output: Ada <nil> false
}

// Each caller waits under its own ctx; giving up does not cancel the load.
func ExampleGroup_DoChan() {
	var g flight.Group
	ctx := context.Background()
	select {
	case r := <-g.DoChan("user:42", func() (any, error) { return "Ada", nil }):
		fmt.Println(r.Val, r.Err, r.Shared)
	case <-ctx.Done():
		fmt.Println(ctx.Err())
	}
	// Output: Ada <nil> false
}
