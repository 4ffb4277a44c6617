package proc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
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
	// (or sent through RunningProcess.Signal, Kill or Stop).
	Signaled
	// TimedOut: the command's timeout fired; tether killed the tree.
	TimedOut
	// Cancelled: the context ended; tether killed the tree.
	Cancelled
	// IdleTimedOut: neither stream produced output for the command's
	// IdleTimeout; tether killed the tree.
	IdleTimedOut
)

// String names the outcome ("exited", "timed out"); an unknown value
// prints as Outcome(n).
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
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is what a finished run produced. A non-zero exit, a signal and a
// timeout are data here; Err turns them into the typed error.
type Result struct {
	// Program and Args are copies of what ran.
	Program string
	Args    []string
	// Outcome says how the run ended.
	Outcome Outcome
	// ExitCode is the direct child's exit code when it exited by itself:
	// Outcome Exited, or a timeout, idle timeout or cancellation during
	// whose grace period (Cmd.Grace) it exited; else -1 (use ExitCode on
	// Cmd to get an error instead of -1).
	ExitCode int
	// Signal names the signal that ended the direct child, if one did:
	// after a timeout or cancellation, the grace signal if the child died
	// of it, else the SIGKILL tether sent.
	Signal string
	// Killed is true when tether killed the direct child: it had not
	// exited by itself when its timeout, idle timeout, context, Kill, its
	// group or its pipeline ended the run (or its grace period, or Stop's,
	// ran out).
	// With Outcome TimedOut, IdleTimedOut or Cancelled and Killed false,
	// the child exited during its grace period (ExitCode or Signal says
	// how); the rest of the tree was killed all the same.
	Killed bool
	// Stdout and Stderr are the captured bytes, exactly as written (up to
	// the cap). Use StdoutText and StderrText for text. With stderr sent
	// to stdout (ToStdout), Stdout holds both in write order and Stderr
	// nothing.
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
	// Attempts is the number of runs made: 1, or more when the Cmd's
	// Retry policy ran it again (Cmd.Retry).
	Attempts int
	// Streams counts the bytes and lines of each stream and the lines
	// line-stream readers lost to overflow.
	Streams Counters
	// CallbackErrors reports OnLine callbacks that panicked, each a
	// *CallbackError (each was disabled; the run went on).
	CallbackErrors []error
	// StdinErr is the error the Stdin reader returned before the run
	// ended, nil if none: the child saw its input end there, so its
	// output may be that of a truncated input. A child that stops reading
	// early (a broken pipe) is not an error.
	StdinErr error

	enc       [3]encoding.Encoding
	strip     bool // StripControls: the text accessors strip
	okCodes   []int
	tooLarge  bool
	cancelErr error
	// state is the reaped child's, nil for a test double's run.
	state *os.ProcessState
}

// StdoutText returns stdout decoded to text with the command's encoding
// (UTF-8 by default): always valid UTF-8, invalid input replaced by
// U+FFFD, and without terminal control sequences if the command asked
// for StripControls. Use Stdout for the exact bytes.
func (r *Result) StdoutText() string { return r.text(Stdout, r.Stdout) }

// StderrText returns stderr as text, like StdoutText.
func (r *Result) StderrText() string { return r.text(Stderr, r.Stderr) }

func (r *Result) text(st Stream, b []byte) string {
	s := decodeAll(r.enc[st], b)
	if r.strip {
		s = stripControls(s)
	}
	return s
}

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
// matches ErrStdin: the child's own failure comes first. A zero Result,
// which describes no run, is not a success: its error says it has no
// outcome.
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
		Killed:     r.Killed,
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
	if r.state != nil {
		e.osExit = &exec.ExitError{ProcessState: r.state, Stderr: bytes.Clone(e.StderrTail)}
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
// Signaled the signal's name (code is ignored). For a c whose stderr
// goes to stdout (ToStdout), stderr is appended to stdout, as a real run
// of a child that wrote stdout first would capture them.
func NewResult(c *Cmd, outcome Outcome, code int, signal string, stdout, stderr []byte) *Result {
	if c.stderr.mode == modeStdout {
		stdout, stderr = append(slices.Clip(stdout), stderr...), nil
	}
	r := newResult(c, outcome, code, signal)
	r.Stdout, r.Stderr = slices.Clone(stdout), slices.Clone(stderr)
	r.StdoutTotal, r.StderrTotal = int64(len(stdout)), int64(len(stderr))
	r.Mechanism = FakeMechanism
	if outcome == Cancelled {
		r.cancelErr = context.Canceled
	}
	return r
}

// newResult is what every Result of a run of c has, whether a process
// ran or a test double made it up: the command, the outcome, the exit
// code (for Exited; -1 otherwise), the signal, one attempt, and c's OK
// codes and encodings.
func newResult(c *Cmd, outcome Outcome, code int, signal string) *Result {
	r := &Result{
		Program: c.name, Args: slices.Clone(c.args), Outcome: outcome, ExitCode: -1, Signal: signal,
		Attempts: 1, okCodes: slices.Clone(c.okCodes), enc: c.lines.enc, strip: c.strip,
	}
	if outcome == Exited {
		r.ExitCode = code
	}
	return r
}

// ending is how a run ended, as its owner decided it: the monitor from
// the child's exit status and the reason it ended the run, a fake from
// what its double said.
type ending struct {
	outcome Outcome
	code    int    // the direct child's exit code, if it exited by itself
	signal  string // the signal that ended the direct child, if any
	killed  bool   // tether killed the direct child
	cause   error  // the context's error, for Cancelled
	// usage is the tree's final resource use; stdinErr the Stdin
	// reader's failure, if any.
	usage    contain.Stats
	stdinErr error
}

// finish builds the Result of p's run once it has ended and its output
// is drained. It is the one place a run's Result is assembled, for a real
// run (the monitor) and a fake one (FakeProcess.End) alike, as
// httptest.ResponseRecorder.Result builds its snapshot in one function:
// a scripted run reports what a real one would.
func (p *RunningProcess) finish(e ending) *Result {
	r := newResult(p.cmd, e.outcome, e.code, e.signal)
	if e.signal == "" && e.code >= 0 {
		// Exited by itself, also during a grace period.
		r.ExitCode = e.code
	}
	r.Killed = e.killed
	r.Duration = p.child.exitAt.Sub(p.child.started)
	r.Mechanism = p.container.Mechanism()
	r.Pid = p.child.pid
	r.state = p.child.state
	r.Usage = e.usage
	r.StdinErr = e.stdinErr
	if e.outcome == Cancelled {
		r.cancelErr = e.cause
	}
	p.streams.report(r)
	return r
}

// publish makes r the run's Result in its final report, with its error:
// teardownErr when the tree's death could not be confirmed, else the
// run's own failure for a cancellation or a cap under CapFail, else a
// failed Stdin reader. byRequest says an end request ended the run. Then
// Wait returns, Done is closed and the readers of Events get EventExited.
func (p *RunningProcess) publish(r *Result, byRequest bool, teardownErr error) {
	rep := runReport{result: r, byRequest: byRequest}
	switch {
	case teardownErr != nil:
		p.log.Warn("tether: teardown not confirmed", "program", r.Program, "pid", r.Pid, "err", teardownErr)
		rep.err = teardownErr
	case r.Outcome == Cancelled || r.tooLarge:
		rep.err = r.Err()
	case r.StdinErr != nil:
		p.log.Warn("tether: reading the stdin source failed", "program", r.Program, "pid", r.Pid, "err", r.StdinErr)
		rep.err = &StdinError{Program: r.Program, Err: r.StdinErr}
	}
	p.final = rep
	close(p.done)
	p.streams.hub.close(Event{Kind: EventExited, Time: time.Now(), Result: r})
}
