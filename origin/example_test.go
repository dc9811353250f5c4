package origin_test

import (
	"context"
	"fmt"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/origin"
)

func ExampleNewDemo() {
	reg := group.NewRegistry()
	g := reg.NewGroup("scores", 1<<20, origin.NewDemo(0))
	v, err := g.Get(context.Background(), "Tom")
	fmt.Println(v, err)
	// Output: 630 <nil>
}
