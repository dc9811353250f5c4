package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Bytes is a size in bytes. In a file it is written as redis.conf writes
// memory sizes: a plain number of bytes (1234), or a number with one of the
// units k, kb, m, mb, g and gb, in any case ("64mb", "1gb"), where k = 1000
// and kb = 1024, m = 10^6 and mb = 2^20, g = 10^9 and gb = 2^30.
type Bytes int64

// ParseBytes parses a size as Bytes documents it. It is also how
// cmd/rcache reads --max-memory.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mul    int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}}
	mul := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSuffix(t, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 1234, 512kb, 64mb or 1gb)", s)
	}
	if n > math.MaxInt64/mul {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n * mul, nil
}

// UnmarshalYAML decodes a size; its errors name the line.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	v, err := bytesOf(n)
	if err != nil {
		return &lineError{line: n.Line, msg: err.Error()}
	}
	*b = v
	return nil
}

// bytesOf decodes the size n holds.
func bytesOf(n *yaml.Node) (Bytes, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" && n.Tag != "!!str" {
		return 0, fmt.Errorf("want a size such as 64mb, got %s", describe(n))
	}
	v, err := ParseBytes(n.Value)
	return Bytes(v), err
}

// Duration is a length of time. In a file it is written as Go writes
// durations: a number with a unit, such as "250ms", "5s", "10m" or "1h30m";
// a bare 0 is zero. Negative durations are refused.
type Duration time.Duration

// UnmarshalYAML decodes a duration; its errors name the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := durationOf(n)
	if err != nil {
		return &lineError{line: n.Line, msg: err.Error()}
	}
	*d = v
	return nil
}

// durationOf decodes the duration n holds.
func durationOf(n *yaml.Node) (Duration, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" && n.Tag != "!!str" {
		return 0, fmt.Errorf("want a duration such as 5s or 250ms, got %s", describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. 5s, 250ms or 10m)", n.Value)
	}
	if v < 0 {
		return 0, errors.New("negative duration " + strconv.Quote(n.Value))
	}
	return Duration(v), nil
}

// describe names the kind of value n holds, for errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected YAML node"
}
