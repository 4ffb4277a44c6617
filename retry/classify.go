package retry

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
)

// A Classifier decides whether an error is worth another attempt.
//
// Retryable reports whether err is retryable. It is called only with
// non-nil errors. Every classifier in this package answers false for an
// error that matches [context.Canceled], whatever else it would say, and
// [Do] enforces the same for classifiers written elsewhere: a cancelled
// context is terminal.
type Classifier interface {
	Retryable(err error) bool
}

// The interfaces below are how classifiers read a failed run without
// importing the package that ran it. An error anywhere in the chain that
// implements one is found with [errors.As]; tether's *proc.ExitError
// implements all five. Any error type can implement them to be classified
// the same way.

// ExitStatus is implemented by errors that may carry a process exit code.
//
// ExitStatus returns the code the process exited with, and exited = true,
// when it exited by itself; exited is false (and code meaningless) when it
// did not exit with a code: killed by a signal, timed out, cancelled.
type ExitStatus interface {
	ExitStatus() (code int, exited bool)
}

// SignalStatus is implemented by errors that may report a signal.
//
// SignalName returns the name of the signal that ended the process, the
// way shells print it ("SIGTERM", "SIGKILL"), or "" when no signal ended
// it.
type SignalStatus interface {
	SignalName() string
}

// TimeoutStatus is implemented by errors that may report the run's own
// time limit.
//
// TimedOut reports whether the run's own time limit (a timeout set on the
// command, including an idle timeout) ended it. It is false when the
// caller's context ended the run: that is a cancellation, never a timeout
// to retry.
type TimeoutStatus interface {
	TimedOut() bool
}

// OOMStatus is implemented by errors that may report an out-of-memory kill.
//
// OOMKilled reports whether the out-of-memory killer killed a process of
// the run, as far as the containment mechanism could tell (false when it
// cannot tell).
type OOMStatus interface {
	OOMKilled() bool
}

// OutputStatus is implemented by errors that carry the end of a run's
// output.
//
// OutputTails returns the last bytes the run wrote to stdout and stderr
// (bounded; tether keeps at most 4 KiB of each). Either may be nil. The
// classifier does not modify them.
type OutputStatus interface {
	OutputTails() (stdout, stderr []byte)
}

// isCancel reports whether err says a context was cancelled: never
// retryable.
func isCancel(err error) bool { return errors.Is(err, context.Canceled) }

// Func is a Classifier made from a function. It answers false for nil and
// for an error matching context.Canceled without calling the function.
// An error matching context.DeadlineExceeded is left to the function: it
// may come from a per-attempt deadline the function set itself (Do stops
// anyway when its own context's deadline passes).
type Func func(err error) bool

// Retryable implements Classifier.
func (f Func) Retryable(err error) bool {
	return err != nil && !isCancel(err) && f(err)
}

// Always classifies every error as retryable, except a cancellation.
var Always Classifier = Func(func(error) bool { return true })

// Any is retryable when at least one of cs is. Any() is never retryable.
func Any(cs ...Classifier) Classifier {
	cs = slices.Clone(cs)
	return Func(func(err error) bool {
		for _, c := range cs {
			if c != nil && c.Retryable(err) {
				return true
			}
		}
		return false
	})
}

// All is retryable when every one of cs is. All() is never retryable (an
// empty list retrying everything would be a trap), and a nil classifier
// in the list answers false.
func All(cs ...Classifier) Classifier {
	cs = slices.Clone(cs)
	return Func(func(err error) bool {
		if len(cs) == 0 {
			return false
		}
		for _, c := range cs {
			if c == nil || !c.Retryable(err) {
				return false
			}
		}
		return true
	})
}

// Not is retryable when c is not, except that a cancellation stays not
// retryable: Not(ExitCodes(1)) does not retry a cancelled run. A nil c
// classifies nothing as retryable, so Not(nil) is retryable for every
// error but a cancellation.
func Not(c Classifier) Classifier {
	return Func(func(err error) bool {
		return c == nil || !c.Retryable(err)
	})
}

// ExitCodes is retryable when the run exited by itself with one of codes
// (found through [ExitStatus]). A run killed by a signal, timed out or
// cancelled has no exit code and does not match.
func ExitCodes(codes ...int) Classifier {
	codes = slices.Clone(codes)
	return Func(func(err error) bool {
		var s ExitStatus
		if !errors.As(err, &s) {
			return false
		}
		code, exited := s.ExitStatus()
		return exited && slices.Contains(codes, code)
	})
}

// Signals is retryable when a signal in names ended the run (found
// through [SignalStatus]). Names compare without case and with or without
// the "SIG" prefix: "SIGTERM", "sigterm" and "TERM" are the same signal.
// Signal numbers are not accepted: they differ between systems.
func Signals(names ...string) Classifier {
	want := make([]string, 0, len(names))
	for _, n := range names {
		if n := normSignal(n); n != "" {
			want = append(want, n)
		}
	}
	return Func(func(err error) bool {
		var s SignalStatus
		if !errors.As(err, &s) {
			return false
		}
		name := normSignal(s.SignalName())
		return name != "" && slices.Contains(want, name)
	})
}

func normSignal(name string) string {
	name = strings.ToUpper(strings.TrimSpace(name))
	return strings.TrimPrefix(name, "SIG")
}

// Timeouts is retryable when the run's own time limit ended it (found
// through [TimeoutStatus]). A bare [context.DeadlineExceeded] does not
// match: it says a caller's deadline passed, and retrying past the
// caller's deadline is pointless.
var Timeouts Classifier = Func(func(err error) bool {
	var s TimeoutStatus
	return errors.As(err, &s) && s.TimedOut()
})

// OOMKilled is retryable when the out-of-memory killer killed a process
// of the run (found through [OOMStatus]). Only some containment mechanisms
// can tell (cgroup v2 can; a process group cannot).
var OOMKilled Classifier = Func(func(err error) bool {
	var s OOMStatus
	return errors.As(err, &s) && s.OOMKilled()
})

// StderrMatches is retryable when re matches the end of the run's stderr
// (found through [OutputStatus]). Only the bounded tail is searched, so
// anchor on what a tool prints last. It panics if re is nil.
func StderrMatches(re *regexp.Regexp) Classifier {
	return tailMatches("StderrMatches", re, func(_, stderr []byte) []byte { return stderr })
}

// StdoutMatches is StderrMatches for stdout. It panics if re is nil.
func StdoutMatches(re *regexp.Regexp) Classifier {
	return tailMatches("StdoutMatches", re, func(stdout, _ []byte) []byte { return stdout })
}

// tailMatches is retryable when re matches the output tail that pick
// chooses from [OutputStatus.OutputTails]; name is the caller's, for the
// panic on a nil re.
func tailMatches(name string, re *regexp.Regexp, pick func(stdout, stderr []byte) []byte) Classifier {
	if re == nil {
		panic("retry: " + name + " with a nil regexp")
	}
	return Func(func(err error) bool {
		var s OutputStatus
		return errors.As(err, &s) && re.Match(pick(s.OutputTails()))
	})
}

// TransientStart is retryable for errors that say a process could not be
// started for a passing reason, found with errors.Is anywhere in the
// chain:
//
//   - on Unix, EINTR (interrupted), EAGAIN (out of processes or memory for
//     a moment), ETXTBSY (the executable is still open for writing, as
//     right after it was written) and EBUSY;
//   - on Windows, ERROR_SHARING_VIOLATION (32) and ERROR_LOCK_VIOLATION
//     (33): another process (often an antivirus scanner or an indexer)
//     holds the executable open.
//
// It is the default classifier of a [Policy]: retrying such an error is
// safe because no process ran.
var TransientStart Classifier = Func(func(err error) bool {
	for _, target := range transientErrnos {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
})
