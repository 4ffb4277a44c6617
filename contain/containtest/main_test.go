package containtest_test

import (
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// TestMain checks, once the tests have run, that no goroutine, process
// or cgroup of theirs is left (testchild.Main). The suite's own children
// need nothing here: this package's init runs them.
func TestMain(m *testing.M) { testchild.Main(m) }
