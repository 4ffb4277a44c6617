//go:build linux

package watchdog

import (
	"os"
	"strconv"
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

// WithoutMemfd makes memfd_create fail with ENOSYS until the returned
// function is called: a table made meanwhile (the first watchdog's, or
// the next after Stop) is a temporary file.
func WithoutMemfd() (restore func()) {
	saved := memfdCreate
	memfdCreate = func(string, int) (int, error) { return -1, unix.ENOSYS }
	return func() { memfdCreate = saved }
}

// TablePath returns what /proc says the owner's descriptor of the
// registration table is, or "" when there is no table.
func TablePath() string {
	std.mu.Lock()
	defer std.mu.Unlock()
	if std.table == nil {
		return ""
	}
	p, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(std.table.Fd())))
	return p
}
