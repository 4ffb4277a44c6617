//go:build !unix && !windows

package host

import (
	"runtime"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
)

// candidates: no containment mechanism exists on this OS (plan9, js,
// wasip1); the process-group backend is listed and reports itself unusable.
func candidates() []contain.Backend { return []contain.Backend{pgid.New()} }

func others() []contain.Backend {
	return []contain.Backend{cgroupv2.New(), systemd.New(), jobobject.New()}
}

func survey(full bool) (Selection, []contain.Availability) {
	return chooseFrom(candidates(), others(), full)
}

func kernel() string { return runtime.GOOS }
