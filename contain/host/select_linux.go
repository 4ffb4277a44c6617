//go:build linux

package host

import (
	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/contain/pgid"
)

// candidates in order of preference: cgroup v2 contains setsid escapees
// and can enforce limits; process groups are the portable fallback.
func candidates() []contain.Backend {
	return []contain.Backend{cgroupv2.New(), pgid.New()}
}

func others() []contain.Backend { return []contain.Backend{jobobject.New()} }

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return "Linux " + unix.ByteSliceToString(u.Release[:])
}
