//go:build linux

package containtest

import (
	"os"

	"golang.org/x/sys/unix"
)

// zombiesVisible says whether sysproc.Alive tells a zombie from a live process.
const zombiesVisible = true

// openDescriptors counts this process's open descriptors.
func openDescriptors() (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	return len(ents), err
}

// waitExited waits until the child pid has wholly exited, every thread
// gone, without reaping it (waitid with WNOWAIT). sysproc.Alive reads a
// zombie leader as dead while its other threads may still be exiting,
// and a pidfd does not poll readable until they are: an Adopt in that
// window found the process still there.
func waitExited(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}
