//go:build windows

package host

import (
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/jobobject"
)

// candidates: Windows has Job Objects only.
func candidates() []contain.Backend { return []contain.Backend{jobobject.New()} }

func kernel() string {
	v := windows.RtlGetVersion()
	return fmt.Sprintf("Windows %d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
}
