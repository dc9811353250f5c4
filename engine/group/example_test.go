package group_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/rcache/rcache/engine/group"
)

func ExampleGroup() {
	// A slow database, standing in for the origin.
	db := map[string]string{"Tom": "630", "Jack": "589", "Sam": "567"}
	loads := make(map[string]int)

	scores, err := group.NewRegistry().NewGroupWithConfig(group.Config{
		Name:       "scores",
		CacheBytes: 2 << 10,
		Getter: group.GetterFunc(func(ctx context.Context, key string) ([]byte, error) {
			loads[key]++
			if v, ok := db[key]; ok {
				return []byte(v), nil
			}
			return nil, fmt.Errorf("db: %q: %w", key, group.ErrNotFound)
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	for _, key := range []string{"Tom", "Tom", "Jack", "Sam", "Kate"} {
		v, err := scores.Get(ctx, key)
		switch {
		case errors.Is(err, group.ErrNotFound):
			fmt.Printf("%s: not found (loads: %d)\n", key, loads[key])
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%s = %s (loads: %d)\n", key, v, loads[key])
		}
	}
	fmt.Println("cache hits:", scores.Stats.CacheHits.Load())
	// Output:
	// Tom = 630 (loads: 1)
	// Tom = 630 (loads: 1)
	// Jack = 589 (loads: 1)
	// Sam = 567 (loads: 1)
	// Kate: not found (loads: 1)
	// cache hits: 1
}
