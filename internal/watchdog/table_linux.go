package watchdog

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// memfdCreate is unix.MemfdCreate; a test replaces it to see the
// fallback.
var memfdCreate = unix.MemfdCreate

// newTable makes the registration table: an anonymous memory file
// (memfd), close-on-exec, so that only the watchdog, to which it is
// passed explicitly, ever holds it. Where there is no memfd_create
// (Linux before 3.17, or a seccomp filter that refuses it) it is a
// temporary file instead (see tempTable), as off Linux.
func newTable() (*os.File, error) {
	fd, err := memfdCreate("tether-watchdog", unix.MFD_CLOEXEC)
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM), errors.Is(err, unix.EINVAL):
		return tempTable()
	case err != nil:
		return nil, &os.PathError{Op: "memfd_create", Path: "tether-watchdog", Err: err}
	}
	return os.NewFile(uintptr(fd), "tether-watchdog-table"), nil
}
