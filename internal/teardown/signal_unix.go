//go:build unix

package teardown

import (
	"os"
	"syscall"
)

// DefaultSignal is the graceful signal where none was chosen: SIGTERM.
var DefaultSignal os.Signal = syscall.SIGTERM
