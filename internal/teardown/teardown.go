// Package teardown is how tether ends a process tree, in the one form
// every part of it uses: a run's monitor (a timeout or cancellation under
// Cmd.Grace), Group.Shutdown, and package supervise (Supervisor.Stop).
//
// A graceful stop sends a signal to the whole tree, waits for the tree to
// go, and then kills whatever is left, in every case; where the signal
// cannot be delivered (Windows has none to send, or the mechanism refused
// it) nothing is waited for. A teardown is bounded by Timeout, not by the
// caller's context, which may be exactly what ended.
package teardown

import (
	"context"
	"errors"
	"os"
	"time"
)

// Timeout bounds a teardown: the kill and the confirmation of the tree's
// death, the release of its container.
const Timeout = 10 * time.Second

// Context returns the context of a teardown: Timeout from now, and
// independent of any caller's context.
func Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Timeout)
}

// ErrNoSignal is Graceful's answer when it has no signal to send (a nil
// sig: DefaultSignal on Windows).
var ErrNoSignal = errors.New("teardown: no graceful signal to send")

// Graceful stops a tree gracefully: it sends sig to the whole tree
// through signal and, if it was delivered, calls wait, which returns once
// the tree is gone or the grace is over, as its caller measures them (a
// timer, a clock of its own, a poll of the members). Then it calls kill,
// if not nil, whatever happened. It returns why the signal was not
// delivered: signal's error, or ErrNoSignal for a nil sig.
func Graceful(sig os.Signal, signal func(os.Signal) error, wait, kill func()) error {
	err := ErrNoSignal
	if sig != nil {
		err = signal(sig)
	}
	if err == nil {
		wait()
	}
	if kill != nil {
		kill()
	}
	return err
}
