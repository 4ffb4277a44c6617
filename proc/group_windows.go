//go:build windows

package proc

import "os"

// gracefulSignal is nil: a Job Object can only terminate its processes,
// so Group.Shutdown escalates at once.
var gracefulSignal os.Signal

// killLeavesNoSignal: TerminateJobObject leaves only an exit code.
const killLeavesNoSignal = true
