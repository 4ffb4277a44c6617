//go:build !unix

package watchdog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// errNoWatchdog says why nothing can be registered here.
var errNoWatchdog = fmt.Errorf("watchdog: no owner-death watchdog on %s (it needs POSIX process groups and signals): %w", runtime.GOOS, errors.ErrUnsupported)

// Registration is one tree registered with the watchdog. Off unix none
// can be made; the zero value is not registered.
type Registration struct{}

// Registered reports whether r holds a live registration: never, here.
func (r *Registration) Registered() bool { return false }

// Start fails with an error matching errors.ErrUnsupported.
func Start() error { return errNoWatchdog }

// RegisterCgroup fails with an error matching errors.ErrUnsupported.
func RegisterCgroup(string) (Registration, error) { return Registration{}, errNoWatchdog }

// RegisterGroup fails with an error matching errors.ErrUnsupported.
func RegisterGroup(int) (Registration, error) { return Registration{}, errNoWatchdog }

// Unregister does nothing: nothing was registered.
func (r *Registration) Unregister() error { return nil }

// Stop does nothing: no watchdog runs.
func Stop(context.Context) error { return nil }

// Pid returns 0: no watchdog runs.
func Pid() int { return 0 }

// Registered returns 0.
func Registered() int { return 0 }

// Describe says that no watchdog runs here (ok false).
func Describe() (how string, ok bool) {
	return "none on " + runtime.GOOS + " (a Job Object kills its tree when the owner's handle closes; no other backend runs here)", false
}
