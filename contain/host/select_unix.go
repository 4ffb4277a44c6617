//go:build unix && !linux

package host

import (
	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
)

// candidates: macOS and the BSDs have process groups only.
func candidates() []contain.Backend { return []contain.Backend{pgid.New()} }

func others() []contain.Backend {
	return []contain.Backend{cgroupv2.New(), systemd.New(), jobobject.New()}
}

func survey(full bool) (Selection, []contain.Availability) {
	return chooseFrom(candidates(), others(), full)
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}
