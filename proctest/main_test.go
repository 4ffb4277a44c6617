package proctest_test

import (
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// TestMain checks, after the tests, that no goroutine (goleak), process
// or container of the suite is left: the recorded tests run real git.
func TestMain(m *testing.M) { testchild.Main(m) }
