//go:build unix

package proc

import (
	"os"

	"golang.org/x/sys/unix"
)

// pendingBytes reports how many bytes wait unread in the pipe behind f
// (FIONREAD; TIOCINQ on Linux); ok is false when that cannot be read.
func pendingBytes(f *os.File) (n int, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), fionread) }); err != nil || ierr != nil {
		return 0, false
	}
	return n, true
}
