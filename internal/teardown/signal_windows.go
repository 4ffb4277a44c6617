//go:build windows

package teardown

import "os"

// DefaultSignal is nil: Windows has no signal to ask a tree to stop (a
// Job Object can only terminate its processes), so a graceful stop kills
// at once.
var DefaultSignal os.Signal
