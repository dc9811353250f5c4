package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		budgets []int64
		want    int64
		ok      bool
	}{
		{"one group", []int64{64 << 20}, 85563801, true},             // 1.15 × 64 MiB + 8 MiB
		{"two groups", []int64{64 << 20, 64 << 20}, 162738995, true}, // 1.15 × 128 MiB + 8 MiB
		{"an unlimited group", []int64{64 << 20, 0}, 0, false},
		{"no groups", nil, memLimitBase, true},
		{"huge", []int64{math.MaxInt64, math.MaxInt64}, math.MaxInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := memoryLimit(tt.budgets)
			if got != tt.want || ok != tt.ok {
				t.Errorf("memoryLimit(%v) = %d, %v; want %d, %v", tt.budgets, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSetMemoryLimitLeavesGOMEMLIMITAlone(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "GOMEMLIMIT" {
			return "1GiB", true
		}
		return "", false
	}
	if _, derived := setMemoryLimit([]int64{1 << 20}, env); derived {
		t.Error("a limit was derived although GOMEMLIMIT is set")
	}
}

func TestSetGCPercent(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	withGOGC := func(name string) (string, bool) { return "200", name == "GOGC" }

	prev, set := setGCPercent(noEnv)
	if !set {
		t.Fatal("setGCPercent without GOGC set nothing")
	}
	defer debug.SetGCPercent(prev)
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Errorf("GC percent = %d, want %d", got, gcPercent)
	}
	debug.SetGCPercent(77)
	if _, set := setGCPercent(withGOGC); set {
		t.Error("setGCPercent changed the GC percent although GOGC is set")
	}
	if got := debug.SetGCPercent(77); got != 77 {
		t.Errorf("GC percent = %d after setGCPercent with GOGC set, want 77 (untouched)", got)
	}
}
