package watchdog

import "fmt"

// StartError is an owner-death watchdog that could not be started. It
// says nothing about the program the caller wanted to run: that program
// was not started.
type StartError struct {
	// Exe is the executable the owner tried to re-execute, "" when none
	// could be found.
	Exe string
	// Err is why.
	Err error
}

// Error says that the watchdog, not the caller's program, failed.
func (e *StartError) Error() string {
	if e.Exe == "" {
		return "the owner-death watchdog could not start: " + e.Err.Error()
	}
	return fmt.Sprintf("the owner-death watchdog could not start (re-executing the owner's binary %s): %v", e.Exe, e.Err)
}

// Unwrap returns Err.
func (e *StartError) Unwrap() error { return e.Err }
