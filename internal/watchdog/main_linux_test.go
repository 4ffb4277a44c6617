//go:build linux

package watchdog_test

import (
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

func TestMain(m *testing.M) {
	testchild.MainWith(m, map[string]testchild.Helper{helperOwner: runOwner, "launcher": runLauncher})
}
