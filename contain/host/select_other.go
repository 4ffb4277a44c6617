//go:build !unix && !windows

package host

import (
	"runtime"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/pgid"
)

// candidates: no containment mechanism exists on this OS (plan9, js,
// wasip1); the process-group backend is listed and reports itself unusable.
func candidates() []contain.Backend { return []contain.Backend{pgid.New()} }

func kernel() string { return runtime.GOOS }
