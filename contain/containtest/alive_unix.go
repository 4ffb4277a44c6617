//go:build unix && !linux

package containtest

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// alive reports whether pid exists. Without /proc a zombie cannot be told
// from a live process and counts as alive: the suite reaps its children.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// zombiesVisible says whether alive tells a zombie from a live process.
const zombiesVisible = false

// openDescriptors cannot count without /proc/self/fd.
func openDescriptors() (int, error) {
	return 0, fmt.Errorf("no /proc/self/fd on this OS: %w", errors.ErrUnsupported)
}
