package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: run
// starts and stops both servers, the peer pool and the groups' loads.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
