package main

import (
	"math"
	"runtime/debug"
)

// Go's heap is the cache's memory plus garbage: by default the collector lets
// the heap grow to twice what was live after the last cycle, which would put
// a full cache at twice its budget. A soft memory limit derived from the
// budgets makes the collector run sooner instead, as the heap approaches it.
const (
	// memLimitFactor scales the sum of the groups' budgets (which charge
	// each entry's real overhead) to the heap the process may use.
	memLimitFactor = 1.15
	// memLimitBase is the room for everything but cached entries:
	// connections' buffers, loads in flight, the runtime itself.
	memLimitBase = 8 << 20
)

// memoryLimit returns the soft memory limit for a node whose groups have the
// given budgets, or false when any budget is unlimited (0) and no limit can
// be derived.
func memoryLimit(budgets []int64) (int64, bool) {
	var sum float64
	for _, b := range budgets {
		if b <= 0 {
			return 0, false
		}
		sum += float64(b)
	}
	limit := sum*memLimitFactor + memLimitBase
	if limit >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(limit), true
}

// setMemoryLimit applies memoryLimit to the Go runtime unless GOMEMLIMIT is
// set in the environment, which wins. It returns the limit in force
// (math.MaxInt64: none) and whether it came from the budgets.
func setMemoryLimit(budgets []int64, env lookupEnv) (int64, bool) {
	if _, ok := env("GOMEMLIMIT"); ok {
		return debug.SetMemoryLimit(-1), false
	}
	limit, ok := memoryLimit(budgets)
	if !ok {
		return debug.SetMemoryLimit(-1), false
	}
	debug.SetMemoryLimit(limit)
	return limit, true
}
