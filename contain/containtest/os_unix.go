//go:build unix && !linux

package containtest

import (
	"errors"
	"fmt"
)

// zombiesVisible says whether sysproc.Alive tells a zombie from a live process.
const zombiesVisible = false

// openDescriptors cannot count without /proc/self/fd.
func openDescriptors() (int, error) {
	return 0, fmt.Errorf("no /proc/self/fd on this OS: %w", errors.ErrUnsupported)
}

// waitExited is never called here: without zombiesVisible no test uses
// an unreaped child.
func waitExited(int) error { return nil }
