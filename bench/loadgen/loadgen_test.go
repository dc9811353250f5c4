package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestAppendKey(t *testing.T) {
	for _, i := range []int{0, 7, 1234, 99999, 999999999999} {
		if got, want := string(appendKey(nil, i)), fmt.Sprintf("key:%012d", i); got != want {
			t.Errorf("appendKey(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500}, {0.99, 990}, {0.999, 999}, {1, 1000}, {0.0001, 1}}
	for _, tt := range tests {
		if got := percentile(s, tt.q); got != tt.want {
			t.Errorf("percentile(1…1000, %v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil, 0.5) = %v, want 0", got)
	}
}

// TestReadReply reads the same replies whole and one byte at a time.
func TestReadReply(t *testing.T) {
	const stream = "+OK\r\n$3\r\nabc\r\n$-1\r\n_\r\n:12\r\n$0\r\n\r\n-ERR no\r\n"
	want := []struct {
		null bool
		err  string
	}{{false, ""}, {false, ""}, {true, ""}, {true, ""}, {false, ""}, {false, ""}, {false, `server replied "ERR no"`}}
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", strings.NewReader(stream)},
		{"bytewise", iotest.OneByteReader(strings.NewReader(stream))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{r: bufio.NewReaderSize(tc.r, 16)}
			for i, w := range want {
				null, err := c.readReply()
				var got string
				if err != nil {
					got = err.Error()
				}
				if null != w.null || got != w.err {
					t.Errorf("reply %d: readReply() = %v, %q, want %v, %q", i, null, got, w.null, w.err)
				}
			}
			if _, err := c.readReply(); !errors.Is(err, io.EOF) {
				t.Errorf("readReply() at the end = %v, want EOF", err)
			}
		})
	}
}
