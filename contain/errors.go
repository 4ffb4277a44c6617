package contain

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the typed errors below carry
// the details and match the matching sentinel.
var (
	// ErrUnsupported: the mechanism cannot perform this operation here. It
	// also matches errors.ErrUnsupported.
	ErrUnsupported = &sentinel{msg: "operation not supported by this containment mechanism", also: errors.ErrUnsupported}
	// ErrNotUsable: the backend cannot be used on this host (see
	// Backend.Availability for why).
	ErrNotUsable = errors.New("contain: backend not usable on this host")
	// ErrInvalidLimit: a limit's value or kind is invalid.
	ErrInvalidLimit = errors.New("contain: invalid limit")
	// ErrResourceLimit: a member was stopped by a resource limit (for
	// example killed by the out-of-memory killer).
	ErrResourceLimit = errors.New("contain: resource limit reached")
	// ErrTeardownNotConfirmed: the members could not be confirmed dead
	// before the context ended.
	ErrTeardownNotConfirmed = errors.New("contain: teardown not confirmed")
	// ErrClosed: the container was killed or closed and accepts no new
	// process.
	ErrClosed = errors.New("contain: container is killed or closed")
	// ErrNoSuchProcess: the pid names no live process.
	ErrNoSuchProcess = errors.New("contain: no such process")
	// ErrFrozen: the container, or one it is nested in, is frozen (by
	// Freeze, or from outside tether where the mechanism can tell), so
	// Start spawned nothing. A child created in a frozen container would
	// be stopped before it could exec, and on Linux the thread that forked
	// it would be stuck in the kernel with it. Thaw, then start again.
	ErrFrozen = errors.New("contain: container is frozen")
)

type sentinel struct {
	msg  string
	also error
}

func (s *sentinel) Error() string        { return "contain: " + s.msg }
func (s *sentinel) Is(target error) bool { return target == s.also }

// UnsupportedError reports an operation the mechanism cannot perform. It
// matches ErrUnsupported (and errors.ErrUnsupported).
type UnsupportedError struct {
	Mechanism Mechanism
	Op        string
	Reason    string
}

func (e *UnsupportedError) Error() string {
	s := fmt.Sprintf("contain: %s: %s not supported", e.Mechanism, e.Op)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// Unsupported builds an *UnsupportedError.
func Unsupported(m Mechanism, op, reason string) error {
	return &UnsupportedError{Mechanism: m, Op: op, Reason: reason}
}

// LimitError reports a limit that is invalid (Err is ErrInvalidLimit) or
// that the mechanism cannot enforce here (Err is ErrUnsupported). It names
// the limit and the reason.
type LimitError struct {
	Limit     Limit
	Mechanism Mechanism // empty for validation errors
	Reason    string
	Err       error
}

func (e *LimitError) Error() string {
	if e.Mechanism == "" {
		return fmt.Sprintf("contain: invalid limit (%s): %s", e.Limit, e.Reason)
	}
	if errors.Is(e.Err, ErrUnsupported) {
		return fmt.Sprintf("contain: %s cannot enforce %s: %s", e.Mechanism, e.Limit, e.Reason)
	}
	return fmt.Sprintf("contain: %s: %s: %s", e.Mechanism, e.Limit, e.Reason)
}

// Unwrap returns the sentinel the error matches.
func (e *LimitError) Unwrap() error { return e.Err }

// NotUsableError reports why a backend cannot be used on this host. It
// matches ErrNotUsable.
type NotUsableError struct {
	Mechanism Mechanism
	Reason    string
}

func (e *NotUsableError) Error() string {
	return fmt.Sprintf("contain: %s not usable on this host: %s", e.Mechanism, e.Reason)
}

// Unwrap returns ErrNotUsable.
func (e *NotUsableError) Unwrap() error { return ErrNotUsable }

// TeardownError reports members that could not be confirmed dead. It
// matches ErrTeardownNotConfirmed and the context error that ended the
// wait.
type TeardownError struct {
	Mechanism Mechanism
	// Remaining lists pids still alive at the deadline (may be partial).
	Remaining []int
	Err       error
}

func (e *TeardownError) Error() string {
	return fmt.Sprintf("contain: %s: teardown not confirmed, %d member(s) still alive: %v", e.Mechanism, len(e.Remaining), e.Err)
}

// Unwrap returns ErrTeardownNotConfirmed and the cause.
func (e *TeardownError) Unwrap() []error { return []error{ErrTeardownNotConfirmed, e.Err} }

// NoSuchProcessError reports a pid that names no live process.
type NoSuchProcessError struct {
	Pid int
}

func (e *NoSuchProcessError) Error() string {
	return fmt.Sprintf("contain: no such process: pid %d", e.Pid)
}

// Unwrap returns ErrNoSuchProcess.
func (e *NoSuchProcessError) Unwrap() error { return ErrNoSuchProcess }
