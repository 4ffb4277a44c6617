package watchdog

import (
	"errors"
	"fmt"
	"io/fs"
)

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

// plain turns a *fs.PathError into an error that names its path in its
// text and wraps only the errno. The paths a watchdog fails on
// (/proc/self/exe, the null device) are no secret, and callers that
// print only the errno of a path error to keep user paths out of their
// messages would otherwise drop everything this package says.
func plain(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
	}
	return err
}
