package main

import (
	"bytes"
	"flag"
	"fmt"
	"sync"
	"time"
)

// fill sets keys 0 … keys-1 (see appendKey) to values of size bytes of 'x',
// as redis-benchmark's SET writes them, over several pipelined
// connections; with -group G, the keys G:key:… (redis-benchmark's
// "G:key:__rand_int__"), which rcache keeps in group G. It prints how many
// keys it set and how fast.
func fill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:6379", "server `host:port`")
	keys := fs.Int("keys", 100000, "number of keys")
	first := fs.Int("first", 0, "index of the first key")
	size := fs.Int("size", 64, "value size in `bytes`")
	conns := fs.Int("conns", 4, "connections in parallel")
	depth := fs.Int("pipeline", 256, "commands per round trip")
	grp := fs.String("group", "", "put `G:` before every key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keys < 0 || *first < 0 || *size < 0 || *conns < 1 || *depth < 1 {
		return fmt.Errorf("fill: -keys, -first and -size must be >= 0, -conns and -pipeline >= 1")
	}
	value := bytes.Repeat([]byte("x"), *size)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, *conns)
	per := (*keys + *conns - 1) / *conns
	for w := range *conns {
		lo, hi := *first+w*per, min(*first+(w+1)*per, *first+*keys)
		if lo >= hi {
			break
		}
		wg.Go(func() { errs[w] = fillRange(*addr, *grp, lo, hi, *depth, value) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("fill %s: %w", *addr, err)
		}
	}
	d := time.Since(start)
	fmt.Printf("filled %d keys of %d bytes in %.1fs (%.0f/s)\n", *keys, *size, d.Seconds(), float64(*keys)/d.Seconds())
	return nil
}

// fillRange sets keys lo … hi-1 of group grp ("": none) over one
// connection, depth at a time.
func fillRange(addr, grp string, lo, hi, depth int, value []byte) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	set := []byte("SET")
	key := make([]byte, 0, 32)
	for i := lo; i < hi; i += depth {
		n := min(depth, hi-i)
		for j := range n {
			key = key[:0]
			if grp != "" {
				key = append(append(key, grp...), ':')
			}
			key = appendKey(key, i+j)
			c.appendCommand(set, key, value)
		}
		if err := c.flush(); err != nil {
			return err
		}
		if err := c.expectOK(n); err != nil {
			return err
		}
	}
	return nil
}
