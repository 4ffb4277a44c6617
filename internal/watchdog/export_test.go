//go:build linux

package watchdog

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// PipeInode returns the inode of the owner's pipe to the running watchdog
// (both ends share it), or 0 when none runs. It uses Stat, not Fd, which
// would switch the write end to blocking mode.
func PipeInode() uint64 {
	std.mu.Lock()
	defer std.mu.Unlock()
	if std.w == nil {
		return 0
	}
	fi, err := std.w.Stat()
	if err != nil {
		return 0
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// PipeBacklog returns the bytes written to the watchdog that it has not
// read yet (TIOCINQ, alias FIONREAD, works on either end of a Linux
// pipe), or -1.
func PipeBacklog() int {
	std.mu.Lock()
	defer std.mu.Unlock()
	if std.w == nil {
		return -1
	}
	rc, err := std.w.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	_ = rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ); err == nil {
			n = v
		}
	})
	return n
}
