//go:build linux

package watchdog

import (
	"syscall"
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
