package proc

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/encoding"
)

// Outcome is how a run ended.
type Outcome int

// The outcomes. A run that could not start has no Result.
const (
	// Exited: the direct child exited by itself with a code.
	Exited Outcome = iota + 1
	// Signaled: the direct child was killed by a signal not sent by tether
	// (or sent through RunningProcess.Signal/Kill).
	Signaled
	// TimedOut: the command's timeout fired; tether killed the tree.
	TimedOut
	// Cancelled: the context ended; tether killed the tree.
	Cancelled
	// IdleTimedOut: neither stream produced output for the command's
	// IdleTimeout; tether killed the tree.
	IdleTimedOut
)

func (o Outcome) String() string {
	switch o {
	case Exited:
		return "exited"
	case Signaled:
		return "signaled"
	case TimedOut:
		return "timed out"
	case Cancelled:
		return "cancelled"
	case IdleTimedOut:
		return "idle timed out"
	}
	return "unknown"
}

// Result is what a finished run produced. A non-zero exit, a signal and a
// timeout are data here; Err turns them into the typed error.
type Result struct {
	// Program and Args are copies of what ran.
	Program string
	Args    []string
	// Outcome says how the run ended.
	Outcome Outcome
	// ExitCode is the code when Outcome is Exited, else -1 (use ExitCode
	// on Cmd to get an error instead of -1).
	ExitCode int
	// Signal names the signal that ended the direct child, if one did
	// (also after a timeout or cancellation: the one tether sent).
	Signal string
	// Stdout and Stderr are the captured bytes, exactly as written (up to
	// the cap). Use StdoutText and StderrText for text.
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated are set when the cap cut the
	// stream; StdoutTotal and StderrTotal count every byte the child
	// wrote, captured or not.
	StdoutTruncated, StderrTruncated bool
	StdoutTotal, StderrTotal         int64
	// Duration is from spawn to the direct child's exit.
	Duration time.Duration
	// Mechanism holds the tree; Pid was the direct child's.
	Mechanism contain.Mechanism
	Pid       int
	// Usage is the tree's resource use as the mechanism measured it at
	// the end (CPU time, peak memory, OOM kills); unavailable values are
	// marked so.
	Usage contain.Stats
	// Attempts is the number of runs made (1 until retry lands).
	Attempts int
	// Streams counts the bytes and lines of each stream and the lines
	// line-stream readers lost to overflow.
	Streams Counters
	// CallbackErrors reports OnLine callbacks that panicked (each was
	// disabled; the run went on).
	CallbackErrors []error
	// StdinErr is the error the Stdin reader returned before the run
	// ended, nil if none: the child saw its input end there, so its
	// output may be that of a truncated input. A child that stops reading
	// early (a broken pipe) is not an error.
	StdinErr error

	enc       [3]encoding.Encoding
	okCodes   []int
	tooLarge  bool
	cancelErr error
}

// StdoutText returns stdout decoded to text with the command's encoding
// (UTF-8 by default): always valid UTF-8, invalid input replaced by
// U+FFFD. Use Stdout for the exact bytes.
func (r *Result) StdoutText() string { return decodeAll(r.enc[Stdout], r.Stdout) }

// StderrText returns stderr as text, like StdoutText.
func (r *Result) StderrText() string { return decodeAll(r.enc[Stderr], r.Stderr) }

// decodeAll decodes a whole capture with the same decoder the line
// streams use, so text and lines agree (a leading BOM is dropped, a run
// of invalid bytes becomes one U+FFFD per maximal ill-formed sequence).
func decodeAll(e encoding.Encoding, b []byte) string {
	return string(e.NewDecoder().Decode(nil, b, true))
}

// Success reports whether the run exited with 0 or one of the command's
// OKCodes, and no cap failure occurred.
func (r *Result) Success() bool {
	return r.Outcome == Exited && !r.tooLarge && (r.ExitCode == 0 || slices.Contains(r.okCodes, r.ExitCode))
}

// Err returns nil for a successful run, an *ExitError for a failed one,
// and a *StdinError for a run that succeeded on a truncated input (its
// Stdin reader failed). An *ExitError of a run whose reader failed also
// matches ErrStdin: the child's own failure comes first.
func (r *Result) Err() error {
	if r.Success() {
		if r.StdinErr != nil {
			return &StdinError{Program: r.Program, Err: r.StdinErr}
		}
		return nil
	}
	return r.exitError()
}

// exitError describes the run as a failure, whatever its outcome.
func (r *Result) exitError() *ExitError {
	e := &ExitError{
		Program:    r.Program,
		Outcome:    r.Outcome,
		Code:       r.ExitCode,
		Signal:     r.Signal,
		StdoutTail: tail(r.Stdout),
		StderrTail: tail(r.Stderr),
		Result:     r,
	}
	switch {
	case r.Outcome == Cancelled:
		e.cause = r.cancelErr
	case r.tooLarge:
		e.cause = ErrOutputTooLarge
	}
	if r.StdinErr != nil {
		e.stdin = &StdinError{Program: r.Program, Err: r.StdinErr}
	}
	return e
}

func tail(b []byte) []byte {
	if len(b) > tailMax {
		b = b[len(b)-tailMax:]
	}
	return bytes.Clone(b)
}

// NewResult builds the Result of a run of c that a test double reports
// without running anything: the OK codes and encodings of c apply, the
// mechanism is FakeMechanism. For Exited give the code (signal ""); for
// Signaled the signal's name (code is ignored).
func NewResult(c *Cmd, outcome Outcome, code int, signal string, stdout, stderr []byte) *Result {
	r := &Result{
		Program: c.name, Args: slices.Clone(c.args), Outcome: outcome, ExitCode: -1, Signal: signal,
		Stdout: slices.Clone(stdout), Stderr: slices.Clone(stderr),
		StdoutTotal: int64(len(stdout)), StderrTotal: int64(len(stderr)),
		Mechanism: FakeMechanism, Attempts: 1, okCodes: slices.Clone(c.okCodes), enc: c.lines.enc,
	}
	if outcome == Exited {
		r.ExitCode = code
	}
	if outcome == Cancelled {
		r.cancelErr = context.Canceled
	}
	return r
}
