package supervise_test

import (
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// TestMain runs the test binary as its own child where a test asks for
// one, and checks after the tests that no goroutine, process or
// container of the suite is left.
func TestMain(m *testing.M) { testchild.Main(m) }
