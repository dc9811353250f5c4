package lru_test

import (
	"fmt"
	"time"

	"github.com/rcache/rcache/engine/lru"
)

func Example() {
	// Each entry below costs len(key)+value.Len() = 1+3 = 4 bytes, so a
	// 12-byte budget holds three of them.
	c := lru.New(12, func(key, value string) {
		fmt.Printf("evicted %s=%s\n", key, value)
	})
	c.Add("a", ("one"))
	c.Add("b", ("two"))
	c.Add("c", ("six"))

	// Reading "a" makes it the most recently used, leaving "b" the oldest.
	if v, ok := c.Get("a"); ok {
		fmt.Println("a =", v)
	}
	c.Add("d", ("ten"))
	c.Add("e", ("won"))

	_, ok := c.Get("b")
	fmt.Println("b present:", ok)
	fmt.Println("len:", c.Len(), "bytes:", c.Bytes())
	// Output:
	// a = one
	// evicted b=two
	// evicted c=six
	// b present: false
	// len: 3 bytes: 12
}

func ExampleCache_AddWithExpiry() {
	c := lru.New(0, func(key, value string) {
		fmt.Printf("evicted %s\n", key)
	})
	// A fake clock makes expiry deterministic; nil means time.Now.
	now := time.Date(2025, time.January, 1, 12, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }

	c.AddWithExpiry("session", ("alice"), now.Add(time.Minute))
	if v, expire, ok := c.GetWithExpiry("session"); ok {
		fmt.Println(v, "until", expire.UTC().Format(time.TimeOnly))
	}

	now = now.Add(time.Minute)
	_, ok := c.Get("session")
	fmt.Println("present after a minute:", ok, "len:", c.Len())
	// Output:
	// alice until 12:01:00
	// evicted session
	// present after a minute: false len: 0
}
