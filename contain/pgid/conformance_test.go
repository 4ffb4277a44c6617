package pgid

import (
	"testing"

	"github.com/gotether/tether/contain/containtest"
)

// TestConformance runs the contract every backend keeps (see
// contain/containtest). What is pgid's own (group ids and their
// recycling, the watchdog, the /proc scan) is tested beside it.
func TestConformance(t *testing.T) {
	containtest.TestBackend(t, New(), containtest.Options{})
}
