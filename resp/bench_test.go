package resp

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/redcon"
)

// BenchmarkGetHit measures a GET answered from the cache: through the
// handler alone, over a socket with pipelined raw commands, and through
// go-redis from parallel goroutines.
func BenchmarkGetHit(b *testing.B) {
	b.Run("handler", func(b *testing.B) {
		f := newRegistry(b)
		h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
		cl := h.newClient(nil, redcon.NewWriter(io.Discard))
		args := [][]byte{[]byte("GET"), []byte("scores:Tom")}
		h.exec(cl, args) // load it
		b.ReportAllocs()
		for b.Loop() {
			h.exec(cl, args)
			cl.w.flush()
		}
	})

	b.Run("pipelined100", func(b *testing.B) {
		const batch = 100
		f := newFixture(b, nil)
		c, r := dial(b, f.addr)
		c.SetDeadline(time.Time{})
		send := strings.Repeat(multibulk("GET", "scores:Tom"), batch)
		want := len(strings.Repeat("$3\r\n630\r\n", batch))
		buf := make([]byte, want)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := io.WriteString(c, send); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/get")
	})

	b.Run("go-redis-parallel", func(b *testing.B) {
		f := newFixture(b, nil)
		rdb := newRedisClient(b, f.addr, 3, func(o *redis.Options) { o.PoolSize = 64 })
		ctx := context.Background()
		if err := rdb.Get(ctx, "scores:Tom").Err(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rdb.Get(ctx, "scores:Tom").Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkMGetHit measures an MGET of 10 cached keys in two groups,
// through the handler alone.
func BenchmarkMGetHit(b *testing.B) {
	f := newRegistry(b)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), context.Background(), time.Now)
	cl := h.newClient(nil, redcon.NewWriter(io.Discard))
	args := [][]byte{[]byte("MGET")}
	for i := range 10 {
		key := []string{"scores:Tom", "scores:Jack", "plain"}[i%3]
		args = append(args, []byte(key))
	}
	runCommand(h, "SET", "plain", "x")
	h.exec(cl, args)
	b.ReportAllocs()
	for b.Loop() {
		h.exec(cl, args)
		cl.w.flush()
	}
}

// BenchmarkPipeline pushes pipelines of n SETs or GET hits of 64-byte
// values through the real connection loop, over loopback: the reader, the
// handler and the flush, as redis-benchmark -P n drives them. ns/cmd and
// the allocations are per command.
func BenchmarkPipeline(b *testing.B) {
	for _, n := range []int{1, 16, 100} {
		b.Run("set"+strconv.Itoa(n), func(b *testing.B) { benchPipeline(b, "SET", n) })
		b.Run("get"+strconv.Itoa(n), func(b *testing.B) { benchPipeline(b, "GET", n) })
	}
}

// benchPipeline sends pipelines of n commands named cmd (SET or GET) of
// distinct keys, and reads back their replies.
func benchPipeline(b *testing.B, cmd string, n int) {
	f := newFixture(b, nil)
	c, r := dial(b, f.addr)
	c.SetDeadline(time.Time{})
	value := strings.Repeat("v", 64)
	var set, get, wantGet strings.Builder
	for i := range n {
		key := "key:" + strconv.Itoa(100000+i)
		set.WriteString(multibulk("SET", key, value))
		get.WriteString(multibulk("GET", key))
		wantGet.WriteString(bulk(value))
	}
	wantSet := strings.Repeat("+OK\r\n", n)
	send, want := set.String(), wantSet
	if cmd == "GET" {
		// Fill the keys first.
		if _, err := io.WriteString(c, set.String()); err != nil {
			b.Fatal(err)
		}
		if got := readN(b, r, len(wantSet)); got != wantSet {
			b.Fatalf("fill replies = %q, want %q", got, wantSet)
		}
		send, want = get.String(), wantGet.String()
	}
	buf, msg := make([]byte, len(want)), []byte(send) // io.WriteString would allocate a copy
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
	if string(buf) != want {
		b.Fatalf("replies = %q, want %q", buf, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/cmd")
}
