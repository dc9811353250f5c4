package origin

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/rcache/rcache/engine/group"
)

//go:embed scores.txt
var demoScores string

// DemoDelay is how long a Demo origin takes to answer, so that a first GET
// is visibly slower than the cached second one.
const DemoDelay = 300 * time.Millisecond

// Demo is an origin over a small embedded data set (the design document's
// scores: Tom 630, Jack 589, Sam 567) that answers after a delay, standing in
// for a slow database. It is safe for concurrent use.
type Demo struct {
	delay  time.Duration
	values map[string]string
}

// NewDemo returns the demo origin answering after delay (zero: at once).
func NewDemo(delay time.Duration) *Demo {
	d := &Demo{delay: delay, values: make(map[string]string)}
	sc := bufio.NewScanner(strings.NewReader(demoScores))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, " "); ok {
			d.values[k] = strings.TrimSpace(v)
		}
	}
	return d
}

// Get returns the score of key after the demo delay, or an error wrapping
// group.ErrNotFound. It gives up when ctx ends.
func (d *Demo) Get(ctx context.Context, key string) ([]byte, error) {
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("demo origin: %w", context.Cause(ctx))
		}
	}
	v, ok := d.values[key]
	if !ok {
		return nil, fmt.Errorf("demo origin: key %q: %w", key, group.ErrNotFound)
	}
	return []byte(v), nil
}
