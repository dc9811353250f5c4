package membership

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a member not
// shut down, a rejoin or watch loop that outlived Shutdown, a DNS poller
// not stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
