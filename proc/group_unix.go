//go:build unix

package proc

import (
	"os"
	"syscall"
)

// gracefulSignal is what Group.Shutdown sends before it escalates.
var gracefulSignal os.Signal = syscall.SIGTERM

// killLeavesNoSignal: a killed process's wait status names SIGKILL.
const killLeavesNoSignal = false
