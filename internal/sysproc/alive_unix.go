//go:build unix && !linux

package sysproc

import "golang.org/x/sys/unix"

// Alive reports whether pid names a live process. Where /proc is not
// available a zombie cannot be told apart and counts as alive.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
