package systemd_test

import (
	"testing"

	"github.com/gotether/tether/contain/containtest"
	"github.com/gotether/tether/contain/systemd"
	"github.com/gotether/tether/internal/testchild"
)

// TestConformance holds the systemd backend to the contract every backend
// keeps (contain/containtest). Where no delegated scope can be had (no
// systemd as PID 1, as on the project's own machines), the suite checks
// the contract of an unusable backend; make test-systemd runs it in a VM
// whose PID 1 is systemd, as root and as a user.
func TestConformance(t *testing.T) {
	containtest.TestBackend(t, systemd.New(), containtest.Options{Leftovers: testchild.TetherCgroups})
}
