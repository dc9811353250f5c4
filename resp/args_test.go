package resp

import (
	"math"
	"testing"
)

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"-7", -7, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"+1", 0, false},
		{"01", 0, false},
		{"-0", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEqualFold(t *testing.T) {
	tests := []struct {
		in, lower string
		want      bool
	}{
		{"EX", "ex", true},
		{"eX", "ex", true},
		{"ex", "ex", true},
		{"exx", "ex", false},
		{"e", "ex", false},
		{"LIB-NAME", "lib-name", true},
		{"\xc5X", "ex", false},
	}
	for _, tt := range tests {
		if got := equalFold([]byte(tt.in), tt.lower); got != tt.want {
			t.Errorf("equalFold(%q, %q) = %v, want %v", tt.in, tt.lower, got, tt.want)
		}
	}
}
