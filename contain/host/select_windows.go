//go:build windows

package host

import (
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
)

// candidates: Windows has Job Objects only.
func candidates() []contain.Backend { return []contain.Backend{jobobject.New()} }

func others() []contain.Backend {
	return []contain.Backend{cgroupv2.New(), systemd.New(), pgid.New()}
}

func survey(full bool) (Selection, []contain.Availability) {
	return chooseFrom(candidates(), others(), full)
}

func kernel() string {
	v := windows.RtlGetVersion()
	return fmt.Sprintf("Windows %d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
}
