package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rcache/rcache/cluster/peerhttp"
	"github.com/rcache/rcache/engine/group"
)

// latency sends GETs of random keys one at a time over one connection for
// a while and prints the percentiles of their round-trip times. With
// -churn-rate it also overwrites a few keys with large values at a steady
// rate over a second connection, so that the server allocates, and its
// garbage collector runs, at a known pace while the GETs are timed.
func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:6379", "server `host:port`")
	keys := fs.Int("keys", 100000, "GET keys drawn uniformly from key:0 … key:<keys-1>")
	duration := fs.Duration("duration", 10*time.Second, "how long to time GETs")
	warmup := fs.Duration("warmup", time.Second, "how long to send GETs before timing them")
	seed := fs.Uint64("seed", 1, "seed of the key sequence")
	churnRate := fs.Int("churn-rate", 0, "SETs per second of the background writer; 0 disables it")
	churnSize := fs.Int("churn-size", 1<<20, "value size of the background writer's SETs in `bytes`")
	churnKeys := fs.Int("churn-keys", 8, "number of keys (churn:0 …) the background writer overwrites")
	peers := fs.String("peers", "", "comma-separated rcache peer URLs; with -self and -owner, pick keys by owner")
	self := fs.String("self", "", "peer URL of the node at -addr")
	owner := fs.String("owner", "any", "which keys to GET: any, local (owned by -self) or remote")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keys < 1 || *duration <= 0 || *warmup < 0 || *churnRate < 0 || *churnSize < 0 || *churnKeys < 1 {
		return errors.New("latency: -keys, -duration and -churn-keys must be positive, the others not negative")
	}
	pick, err := keyPicker(*keys, *seed, *peers, *self, *owner)
	if err != nil {
		return err
	}

	c, err := dial(*addr)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	defer c.Close()

	var stop atomic.Bool
	churnDone := make(chan churnResult, 1)
	if *churnRate > 0 {
		go func() { churnDone <- churn(*addr, *churnRate, *churnSize, *churnKeys, &stop) }()
	} else {
		churnDone <- churnResult{}
	}

	get := []byte("GET")
	key := make([]byte, 0, 32)
	samples := make([]time.Duration, 0, 1<<20)
	misses := 0
	begin := time.Now()
	timed := begin.Add(*warmup)
	end := timed.Add(*duration)
	for {
		key = appendKey(key[:0], pick())
		c.appendCommand(get, key)
		t0 := time.Now()
		if t0.After(end) {
			c.out = c.out[:0]
			break
		}
		if err := c.flush(); err != nil {
			stop.Store(true)
			return fmt.Errorf("latency: GET %s: %w", key, err)
		}
		null, err := c.readReply()
		d := time.Since(t0)
		if err != nil {
			stop.Store(true)
			return fmt.Errorf("latency: GET %s: %w", key, err)
		}
		if t0.Before(timed) {
			continue
		}
		samples = append(samples, d)
		if null {
			misses++
		}
	}
	stop.Store(true)
	ch := <-churnDone
	if ch.err != nil {
		return fmt.Errorf("latency: background writer: %w", ch.err)
	}
	slices.Sort(samples)
	us := func(q float64) float64 { return float64(percentile(samples, q)) / 1e3 }
	fmt.Printf("samples=%d misses=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f churn_sets=%d churn_mb_per_s=%.1f\n",
		len(samples), misses, us(0.50), us(0.90), us(0.99), us(0.999), us(1),
		ch.sets, float64(ch.sets)*float64(*churnSize)/1e6/time.Since(begin).Seconds())
	return nil
}

// percentile returns the q-quantile (0 < q <= 1) of sorted by the nearest
// rank method: the smallest sample at or above a fraction q of them. It
// returns 0 for no samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// keyPicker returns a function that draws key indexes uniformly at random,
// from all keys or, with owner "local" or "remote", from those that the
// node self owns or does not own in a cluster of peers. Ownership is
// computed by peerhttp's own ring, as the nodes compute it.
func keyPicker(keys int, seed uint64, peers, self, owner string) (func() int, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	if owner == "any" {
		return func() int { return rng.IntN(keys) }, nil
	}
	if owner != "local" && owner != "remote" {
		return nil, fmt.Errorf("latency: -owner %q: want any, local or remote", owner)
	}
	if peers == "" || self == "" {
		return nil, errors.New("latency: -owner local or remote needs -peers and -self")
	}
	pool, err := peerhttp.New(self, peerhttp.Config{Registry: group.NewRegistry()})
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	defer pool.Close()
	pool.Set(strings.Split(peers, ",")...)
	var chosen []int32
	for i := range keys {
		_, remote := pool.PickPeer(string(appendKey(nil, i)))
		if remote == (owner == "remote") {
			chosen = append(chosen, int32(i))
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("latency: no key of %d is %s to %s", keys, owner, self)
	}
	return func() int { return int(chosen[rng.IntN(len(chosen))]) }, nil
}

// churnResult is what the background writer did.
type churnResult struct {
	sets int
	err  error
}

// churn overwrites keys churn:0 … churn:<keys-1> with values of size bytes,
// rate times a second, until stop is set.
func churn(addr string, rate, size, keys int, stop *atomic.Bool) churnResult {
	c, err := dial(addr)
	if err != nil {
		return churnResult{err: err}
	}
	defer c.Close()
	value := bytes.Repeat([]byte("c"), size)
	set := []byte("SET")
	key := make([]byte, 0, 32)
	interval := time.Second / time.Duration(rate)
	next := time.Now()
	var r churnResult
	for !stop.Load() {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		key = strconv.AppendInt(append(key[:0], "churn:"...), int64(r.sets%keys), 10)
		c.appendCommand(set, key, value)
		if err := c.flush(); err != nil {
			r.err = err
			return r
		}
		if err := c.expectOK(1); err != nil {
			r.err = err
			return r
		}
		r.sets++
	}
	return r
}
