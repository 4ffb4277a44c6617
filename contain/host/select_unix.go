//go:build unix && !linux

package host

import (
	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/pgid"
)

// candidates: macOS and the BSDs have process groups only.
func candidates() []contain.Backend { return []contain.Backend{pgid.New()} }

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}
