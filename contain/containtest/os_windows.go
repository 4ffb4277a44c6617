//go:build windows

package containtest

import (
	"errors"
	"fmt"
)

// zombiesVisible says whether sysproc.Alive tells an exited process whose handle
// is held from a live one.
const zombiesVisible = true

// openDescriptors cannot count handles: Wine's GetProcessHandleCount is
// a stub that reports 0, and a backend's own tests can count its handles
// through the system handle table if they must.
func openDescriptors() (int, error) {
	return 0, fmt.Errorf("no descriptors on this OS, and no reliable count of its handles everywhere (Wine's GetProcessHandleCount is a stub): %w", errors.ErrUnsupported)
}

// waitExited has nothing to add on Windows: sysproc.Alive already says
// whether the process has exited.
func waitExited(int) error { return nil }
