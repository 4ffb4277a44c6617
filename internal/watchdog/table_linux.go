package watchdog

import (
	"os"

	"golang.org/x/sys/unix"
)

// newTable makes the registration table: an anonymous memory file
// (memfd), close-on-exec, so that only the watchdog, to which it is
// passed explicitly, ever holds it.
func newTable() (*os.File, error) {
	fd, err := unix.MemfdCreate("tether-watchdog", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "memfd_create", Path: "tether-watchdog", Err: err}
	}
	return os.NewFile(uintptr(fd), "tether-watchdog-table"), nil
}
