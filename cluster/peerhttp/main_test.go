package peerhttp

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a server not
// closed, or a connection of a Pool not closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
