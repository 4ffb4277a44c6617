package jobobject_test

import (
	"testing"
	"time"

	"github.com/gotether/tether/contain/containtest"
	"github.com/gotether/tether/contain/jobobject"
)

// TestConformance runs the contract every backend keeps (see
// contain/containtest); off Windows, that of a backend that is not
// usable. What is the Job Object's own (its SysProcAttr flags, Wine's
// gaps, limits, handles) is tested beside it.
func TestConformance(t *testing.T) {
	containtest.TestBackend(t, jobobject.New(), containtest.Options{
		// A cold Wine takes seconds to start the first executables.
		Patience: 15 * time.Second,
		Start:    start,
	})
}
