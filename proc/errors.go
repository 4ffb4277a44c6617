package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/redact"
	"github.com/gotether/tether/internal/watchdog"
)

// Sentinel errors. Match them with errors.Is; the typed errors carry the
// details. Error text never contains argument values, environment values,
// the working directory or output, except the bounded, escaped output
// preview of an *ExitError.
var (
	// ErrNotFound: the program was not found (see *NotFoundError).
	ErrNotFound = errors.New("proc: executable not found")
	// ErrStart: the process could not be started (see *StartError); a
	// permission problem also matches fs.ErrPermission.
	ErrStart = errors.New("proc: start failed")
	// ErrInvalid: the command is malformed (empty program, NUL bytes,
	// malformed environment, negative durations, a one-shot stdin used
	// twice). Nothing was spawned.
	ErrInvalid = errors.New("proc: invalid command")
	// ErrExit: the run did not succeed (non-success exit code, killed by a
	// signal, timed out, cancelled). Returned as an *ExitError.
	ErrExit = errors.New("proc: command failed")
	// ErrTimeout: the command's own timeout fired and the tree was killed.
	ErrTimeout = errors.New("proc: timed out")
	// ErrIdle: the command's IdleTimeout fired (no output for that long)
	// and the tree was killed. Such an error also matches ErrTimeout.
	ErrIdle = errors.New("proc: idle timeout")
	// ErrCancelled: the context ended and the tree was killed. Such an
	// error also matches the context's error (context.Canceled or
	// context.DeadlineExceeded).
	ErrCancelled = errors.New("proc: cancelled")
	// ErrOutputTooLarge: a stream exceeded its cap under CapFail and the
	// tree was killed.
	ErrOutputTooLarge = errors.New("proc: output too large")
	// ErrTeardownNotConfirmed: the tree's death could not be confirmed.
	ErrTeardownNotConfirmed = contain.ErrTeardownNotConfirmed
	// ErrContainment: the run's container could not be created (the
	// backend is not usable, a limit cannot be enforced, the cgroup could
	// not be made). Returned inside a *StartError; nothing was spawned.
	ErrContainment = errors.New("proc: containment failed")
	// ErrUnsupported: the platform or runner cannot do what was asked.
	ErrUnsupported = contain.ErrUnsupported
	// ErrEscaped: the run's direct child had left its container when the
	// run was ended (see *EscapeError); it was killed by its own handle.
	ErrEscaped = errors.New("proc: the direct child left its container")
	// ErrStdin: the Stdin reader failed before the run ended, so the
	// child saw a truncated input (see *StdinError and Result.StdinErr).
	ErrStdin = errors.New("proc: reading stdin failed")
	// ErrClosed: a Start, Output or Adopt on a group that is closing or
	// closed (or was killed with Signal(os.Kill)), or a
	// RunningProcess.Signal after the run ended. It is contain.ErrClosed.
	ErrClosed = contain.ErrClosed
	// ErrSuspended: a Start or Output on a group that is suspended
	// (Group.Suspend, until Resume): it fails at once and spawns nothing,
	// since a child created in a frozen tree would stop before it could
	// exec. It is contain.ErrFrozen, so either sentinel matches.
	ErrSuspended = contain.ErrFrozen
	// ErrNoMatch: FirstLine's stream ended without a matching line (see
	// *NoMatchError).
	ErrNoMatch = errors.New("proc: no matching line")
	// ErrNotReady: a readiness wait (WaitFor, WaitForLine, ...) gave up
	// (see *NotReadyError).
	ErrNotReady = errors.New("proc: not ready")
	// ErrParse: a command's output could not be parsed (see *ParseError).
	ErrParse = errors.New("proc: cannot parse output")
)

// errNotInteractive is the error of a StdinWriter of a run without an
// interactive stdin.
var errNotInteractive error = &InvalidError{Reason: "stdin is not interactive (use Cmd.InteractiveStdin)"}

// EscapeError reports a run whose direct child was no longer in the
// run's container when the run was ended (timeout, cancellation, Kill, a
// group's Close): something moved it out, such as root writing its pid
// into another cgroup's cgroup.procs. tether killed the direct child by
// its own handle, so the run still ended on time, but whatever the child
// had started outside the container was out of tether's reach and may
// still run. It matches ErrEscaped.
type EscapeError struct {
	Program   string
	Pid       int
	Mechanism contain.Mechanism
}

func (e *EscapeError) Error() string {
	return fmt.Sprintf("proc: %s (pid %d) had left its %s container; tether killed it by its own handle, but any process it started outside the container was not reached",
		e.Program, e.Pid, e.Mechanism)
}

// Unwrap returns ErrEscaped.
func (e *EscapeError) Unwrap() error { return ErrEscaped }

// StdinError reports that the reader given to Cmd.Stdin failed (returned
// an error other than io.EOF) before the run ended. The child took the
// failure for the end of its input. It matches ErrStdin and Err. A child
// that stops reading early is never a StdinError.
type StdinError struct {
	Program string
	Err     error
}

func (e *StdinError) Error() string {
	return "proc: " + e.Program + ": reading its stdin source failed (the child saw a truncated input): " + redact.Cause(e.Err)
}

// Unwrap returns ErrStdin and the reader's error.
func (e *StdinError) Unwrap() []error { return []error{ErrStdin, e.Err} }

// InvalidError reports a malformed command. It matches ErrInvalid.
type InvalidError struct {
	Program string
	Reason  string
}

func (e *InvalidError) Error() string {
	if e.Program == "" {
		return "proc: invalid command: " + e.Reason
	}
	return "proc: " + e.Program + ": invalid command: " + e.Reason
}

// Unwrap returns ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// NotFoundError reports a program that is not on PATH, or an explicit path
// that does not exist. Searched lists the PATH directories looked in (not
// printed by Error: they come from the environment).
type NotFoundError struct {
	Program  string
	Searched []string
	Err      error
}

func (e *NotFoundError) Error() string {
	if e.Searched == nil {
		return "proc: " + e.Program + ": executable not found"
	}
	return fmt.Sprintf("proc: %s: executable not found in PATH (%d directories searched)", e.Program, len(e.Searched))
}

// Unwrap returns ErrNotFound and the underlying cause.
func (e *NotFoundError) Unwrap() []error { return []error{ErrNotFound, e.Err} }

// StartError reports a failure to start the process: permission denied,
// not an executable, resource exhaustion, containment failure. It matches
// ErrStart and its cause (fs.ErrPermission for EACCES, for example).
type StartError struct {
	Program string
	Err     error
}

func (e *StartError) Error() string {
	return "proc: " + e.Program + ": start failed: " + redact.Cause(e.Err)
}

// Unwrap returns ErrStart and the cause.
func (e *StartError) Unwrap() []error { return []error{ErrStart, e.Err} }

// DirError reports a working directory that cannot be used. The problem
// is the directory, not the program; Dir holds the path, which Error does
// not print (paths can be secret).
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string {
	return "proc: working directory (see DirError.Dir) cannot be used: " + redact.Cause(e.Err)
}

// Unwrap returns ErrStart and the cause (fs.ErrNotExist, ...).
func (e *DirError) Unwrap() []error { return []error{ErrStart, e.Err} }

// ExitError reports a run that did not succeed. Its Error shows the
// program, the outcome and at most a 200-byte preview of stderr (or of
// stdout when stderr is empty) with control and bidi characters escaped.
// Result holds everything that was captured.
//
// Code written for os/exec keeps working: ExitCode is exec.ExitError's,
// and when the direct child was reaped (it exited, or a signal ended it,
// tether's kill included) errors.As finds an *exec.ExitError underneath,
// built from the child's *os.ProcessState, with StderrTail as its
// Stderr. That is the OS's own view: on Windows a tree tether killed
// reads there as exit code 1 (what TerminateJobObject leaves), where
// ExitCode and Signal say -1 and SIGKILL. A run that never had a
// process has none: one cancelled before
// it spawned, and a test double's (proctest, NewResult, FakeProcess),
// whose ExitError carries the code and outcome it was given but no
// *exec.ExitError.
type ExitError struct {
	Program string
	Outcome Outcome
	// Code is the direct child's exit code when it exited by itself (see
	// Result.ExitCode), else -1.
	Code int
	// Killed is true when tether killed the direct child (see
	// Result.Killed).
	Killed bool
	// Signal names the signal that ended the process, if any.
	Signal string
	// StdoutTail and StderrTail are the last bytes of each stream (at most
	// 4 KiB each).
	StdoutTail, StderrTail []byte
	// Result is the run's full result.
	Result *Result
	// cause is the context error for Cancelled, or ErrOutputTooLarge.
	cause error
	// stdin is the run's *StdinError, if its Stdin reader failed too.
	stdin error
	// osExit is the os/exec view of the reaped child, nil without one.
	osExit *exec.ExitError
}

const (
	tailMax    = 4 << 10
	previewMax = 200
)

func (e *ExitError) Error() string {
	var b strings.Builder
	b.WriteString("proc: ")
	if e.Program == "" {
		b.WriteString("(no program)")
	}
	b.WriteString(e.Program)
	switch e.Outcome {
	case Exited:
		b.WriteString(" exited with code " + strconv.Itoa(e.Code))
	case Signaled:
		b.WriteString(" killed by signal " + e.Signal)
	case TimedOut:
		b.WriteString(" timed out")
		e.writeEnd(&b)
	case Cancelled:
		b.WriteString(" cancelled")
		e.writeEnd(&b)
	case IdleTimedOut:
		b.WriteString(" produced no output for its idle timeout")
		e.writeEnd(&b)
	default:
		// A zero Result (or ExitError) describes no run.
		b.WriteString(" has no outcome (" + e.Outcome.String() + "): not the result of a run")
	}
	if errors.Is(e.cause, ErrOutputTooLarge) {
		b.WriteString(" (output too large)")
	}
	if e.stdin != nil {
		b.WriteString(" (its stdin source failed: truncated input)")
	}
	tail := e.StderrTail
	if len(tail) == 0 {
		tail = e.StdoutTail
	}
	if p := Preview(tail, previewMax); p != "" {
		b.WriteString(": ")
		b.WriteString(p)
	}
	return b.String()
}

// writeEnd says how a run that tether ended (timeout, cancellation)
// ended for its direct child: killed with the tree, or by itself during
// its grace period.
func (e *ExitError) writeEnd(b *strings.Builder) {
	switch {
	case e.Killed || (e.Signal == "" && e.Code < 0):
		b.WriteString("; the tree was killed")
	case e.Signal != "":
		b.WriteString("; it died of " + e.Signal + " during its grace period, and the rest of the tree was killed")
	default:
		b.WriteString("; it exited with code " + strconv.Itoa(e.Code) + " during its grace period, and the rest of the tree was killed")
	}
}

// Is matches ErrExit always, ErrTimeout for a timeout (and ErrIdle too for
// an idle timeout), ErrCancelled for a cancellation.
func (e *ExitError) Is(target error) bool {
	switch target {
	case ErrExit:
		return true
	case ErrTimeout:
		return e.Outcome == TimedOut || e.Outcome == IdleTimedOut
	case ErrIdle:
		return e.Outcome == IdleTimedOut
	case ErrCancelled:
		return e.Outcome == Cancelled
	}
	return false
}

// Unwrap returns the causes: the context's error for a cancellation (so
// errors.Is(err, context.Canceled) holds) or ErrOutputTooLarge, the
// run's *StdinError when its Stdin reader failed too, and the
// *exec.ExitError of the reaped child, if there was one.
func (e *ExitError) Unwrap() []error {
	var out []error
	if e.cause != nil {
		out = append(out, e.cause)
	}
	if e.stdin != nil {
		out = append(out, e.stdin)
	}
	if e.osExit != nil {
		out = append(out, e.osExit)
	}
	return out
}

// ExitCode returns the direct child's exit code when it exited by
// itself, else -1 (a signal, tether's kill), as exec.ExitError.ExitCode
// does. It is Code.
func (e *ExitError) ExitCode() int { return e.Code }

// Preview returns at most max bytes of b (its end, where errors usually
// are), as text with control characters, invalid UTF-8 and bidirectional
// overrides escaped, so a hostile program cannot forge or hide text in a
// log line.
func Preview(b []byte, max int) string {
	b = trimSpaceBytes(b)
	cut := false
	if len(b) > max {
		b = b[len(b)-max:]
		for len(b) > 0 && !utf8.RuneStart(b[0]) {
			b = b[1:]
		}
		cut = true
	}
	var s strings.Builder
	if cut {
		s.WriteString("…")
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&s, `\x%02x`, b[0])
		case r == '\n':
			s.WriteString(`\n`)
		case r == '\t':
			s.WriteString(`\t`)
		case r == '\r':
			s.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&s, `\x%02x`, r)
		case isBidi(r):
			fmt.Fprintf(&s, `\u%04x`, r)
		default:
			s.WriteRune(r)
		}
		b = b[n:]
	}
	return s.String()
}

func isBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// cancelCause maps a finished context to the error a cancelled run
// carries.
func cancelCause(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return context.Canceled
}

// nilContext is the error of an entry point given a nil context.Context.
// Every entry point checks, so a nil context fails in the call, with a
// typed error, rather than in one of tether's goroutines, which would
// crash the program far from its cause.
func nilContext(program, entry string) error {
	return &InvalidError{Program: program, Reason: entry + " was given a nil context.Context"}
}

// containmentFailed is the error of a run (or a group) whose container
// could not be made: nothing was spawned.
func containmentFailed(program string, err error) error {
	return &StartError{Program: program, Err: &containmentError{err}}
}

// containmentError marks a failure to create the run's container.
type containmentError struct{ err error }

func (e *containmentError) Error() string {
	var we *watchdog.StartError
	if errors.As(e.err, &we) {
		// Say what the caller can do: the program itself was never
		// started, and nothing is wrong with it.
		return "containment: " + e.err.Error() + "; the program was not started. " +
			"To run without the watchdog, set Cmd.SurviveOwnerDeath (GroupOptions.SurviveOwnerDeath for a group): " +
			"the tree then survives an owner that dies abruptly"
	}
	return "containment: " + e.err.Error()
}

func (e *containmentError) Unwrap() error        { return e.err }
func (e *containmentError) Is(target error) bool { return target == ErrContainment }

// NoMatchError reports that no line matched. It matches ErrNoMatch, and
// ErrTimeout or ErrCancelled (and the context's error) when that is what
// ended the run.
type NoMatchError struct {
	Program string
	Result  *Result
	cause   error
}

func (e *NoMatchError) Error() string {
	s := "proc: " + e.Program + ": no line matched before stdout ended"
	if e.Result != nil {
		s += " (the process " + e.Result.Outcome.String() + ")"
	}
	return s
}

// Is matches ErrNoMatch, and ErrTimeout for a run ended by its timeout.
func (e *NoMatchError) Is(target error) bool {
	return target == ErrNoMatch || (target == ErrTimeout && e.Result != nil && e.Result.Outcome == TimedOut)
}

// Unwrap returns the context's error when the context ended the wait.
func (e *NoMatchError) Unwrap() error { return e.cause }

// NotReadyError says which readiness wait gave up and why: its context
// ended (Err is the context's error), or readiness became impossible
// because the run ended first.
type NotReadyError struct {
	// Wait says what was waited for ("line on stdout", "check", ...).
	Wait   string
	Reason string
	Err    error
}

func (e *NotReadyError) Error() string {
	return "proc: not ready: " + e.Wait + ": " + e.Reason
}

// Unwrap returns ErrNotReady and the cause, if any.
func (e *NotReadyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotReady}
	}
	return []error{ErrNotReady, e.Err}
}

// ParseError reports output that parse rejected. Err is parse's error;
// the output itself is in Result, never in the error text.
type ParseError struct {
	Program string
	Result  *Result
	Err     error
}

func (e *ParseError) Error() string {
	return "proc: " + e.Program + ": cannot parse output: " + e.Err.Error()
}

// Unwrap returns ErrParse and parse's error.
func (e *ParseError) Unwrap() []error { return []error{ErrParse, e.Err} }

// CallbackError reports an OnLine callback that panicked (see
// Result.CallbackErrors): tether recovered the panic and disabled that
// callback for the rest of the run. Its Error names the callback, the
// stream and the panic value; the goroutine stack of the panic is in
// Stack, and in the run's log (the "stack" attribute of the warning),
// never in the error text.
type CallbackError struct {
	// Index is the callback's position among the Cmd's OnLine callbacks,
	// from 0; Stream the stream whose line it was given.
	Index  int
	Stream Stream
	// Value is what the callback panicked with; Stack the stack of the
	// panicking goroutine (runtime/debug.Stack).
	Value any
	Stack []byte
}

func (e *CallbackError) Error() string {
	return fmt.Sprintf("proc: OnLine callback %d panicked on %s and was disabled: %v", e.Index, e.Stream, e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *CallbackError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// IndexedError is the error of one command of a fan-out (OutputAll,
// WaitAll), tagged with its index in the input.
type IndexedError struct {
	Index int
	Err   error
}

func (e *IndexedError) Error() string { return fmt.Sprintf("command %d: %v", e.Index, e.Err) }

// Unwrap returns the command's error.
func (e *IndexedError) Unwrap() error { return e.Err }

// PipeError reports a failed pipeline: the stage the failure is
// attributed to and that stage's *ExitError (which Unwrap returns).
type PipeError struct {
	// Stage is the culprit's index (from 0); Stages the pipeline's length.
	Stage, Stages int
	// TimedOut is set when the pipeline's own Timeout ended it.
	TimedOut bool
	// Err is the culprit stage's failure.
	Err *ExitError
}

func (e *PipeError) Error() string {
	s := "proc: pipeline stage " + strconv.Itoa(e.Stage) + " of " + strconv.Itoa(e.Stages)
	if e.TimedOut {
		s = "proc: pipeline timed out; the chain was killed; stage " + strconv.Itoa(e.Stage) + " of " + strconv.Itoa(e.Stages)
	}
	return s + ": " + strings.TrimPrefix(e.Err.Error(), "proc: ")
}

// Unwrap returns the culprit stage's *ExitError.
func (e *PipeError) Unwrap() error { return e.Err }

// ExitStatus returns the exit code and true when the run exited by
// itself (retry.ExitStatus).
func (e *ExitError) ExitStatus() (code int, exited bool) { return e.Code, e.Outcome == Exited }

// SignalName names the signal that ended the run, only when a signal not
// sent by tether's own timeout or cancellation did (retry.SignalStatus).
func (e *ExitError) SignalName() string {
	if e.Outcome == Signaled {
		return e.Signal
	}
	return ""
}

// TimedOut reports a run ended by its own timeout or idle timeout
// (retry.TimeoutStatus).
func (e *ExitError) TimedOut() bool { return e.Outcome == TimedOut || e.Outcome == IdleTimedOut }

// OOMKilled reports that the out-of-memory killer killed a member of the
// tree, where the mechanism can tell (retry.OOMStatus).
func (e *ExitError) OOMKilled() bool {
	if e.Result == nil {
		return false
	}
	n, ok := e.Result.Usage.OOMKills.Get()
	return ok && n > 0
}

// OutputTails returns the bounded tails of stdout and stderr
// (retry.OutputStatus).
func (e *ExitError) OutputTails() (stdout, stderr []byte) { return e.StdoutTail, e.StderrTail }

func unsupported(program, what, why string) error {
	return &contain.UnsupportedError{Mechanism: "proc", Op: program + ": " + what, Reason: why}
}
