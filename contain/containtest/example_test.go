package containtest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gotether/tether/contain/containtest"
	"github.com/gotether/tether/contain/pgid"
)

// A backend's tests hold it to the whole contract with one function; the
// suite finds out from the backend what it can do. Options are for what
// it cannot find out: here, where the backend leaves state on the host
// (this one does not; a cgroup backend would list its directories), how
// patient to be on a slow host, and a subtest this host cannot run.
func ExampleTestBackend() {
	// In the backend's package, in a _test.go file:
	conformance := func(t *testing.T) {
		containtest.TestBackend(t, pgid.New(), containtest.Options{
			Leftovers: func() []string {
				left, _ := filepath.Glob(filepath.Join(os.TempDir(), "mybackend-*"))
				return left
			},
			Patience: 30 * time.Second,
			Skip: map[string]string{
				"Freeze/ParentFreezesSubs": "this host's scheduler starves stopped groups (a made-up reason)",
			},
		})
	}
	_ = conformance
}
