package cgroupv2

import (
	"testing"

	"github.com/gotether/tether/contain/containtest"
	"github.com/gotether/tether/internal/testchild"
)

// TestConformance runs the contract every backend keeps (see
// contain/containtest), checking after each part that no tether-<pid>-*
// cgroup of this process is left. What is cgroup v2's own (hierarchy
// discovery, limits, the sweep, the watchdog's cgroup removal, the
// kernel's killed-cgroup quirk) is tested beside it.
func TestConformance(t *testing.T) {
	containtest.TestBackend(t, New(), containtest.Options{Leftovers: testchild.TetherCgroups})
}
