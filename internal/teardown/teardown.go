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
	"sync"
	"time"
)

// Timeout bounds a teardown: the kill and the confirmation of the tree's
// death, the release of its container.
const Timeout = 10 * time.Second

// Context returns the context of a teardown: Timeout from now, and
// independent of any caller's context.
//
// Its timer and Done channel are made only when something asks for
// Done: most teardowns find the tree already dead at their first look
// and never wait, and context.WithTimeout cost every run four
// allocations and a timer for that. The cancel function stops the timer
// if there is one; after it, Err reports context.Canceled, as
// WithTimeout's would.
func Context() (context.Context, context.CancelFunc) {
	return within(Timeout)
}

// within is Context for a bound of d.
func within(d time.Duration) (context.Context, context.CancelFunc) {
	c := &lazyDeadline{deadline: time.Now().Add(d)}
	return c, c.cancel
}

// lazyDeadline is a context.Context without a parent that ends at
// deadline or when cancelled, whichever comes first.
type lazyDeadline struct {
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer   // made with done, if the deadline was ahead
	err   error         // set when the context ends, with done closed if made
}

func (c *lazyDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *lazyDeadline) Value(any) any { return nil }

func (c *lazyDeadline) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		c.expireLocked()
		if c.err != nil {
			close(c.done)
		} else {
			c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
		}
	}
	return c.done
}

func (c *lazyDeadline) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		// No one holds Done: it is enough to look at the clock.
		c.expireLocked()
	}
	return c.err
}

// expire is the timer's: the deadline has come.
func (c *lazyDeadline) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.DeadlineExceeded
		close(c.done)
	}
}

// expireLocked ends the context if its deadline has passed; it closes
// nothing (see its callers).
func (c *lazyDeadline) expireLocked() {
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
	}
}

// cancel ends the context with context.Canceled, unless it has already
// ended, and stops its timer.
func (c *lazyDeadline) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.err != nil {
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
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
