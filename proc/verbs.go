package proc

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/gotether/tether/internal/teardown"
)

// Output runs the command to completion and returns its Result. A
// non-zero exit, a death by signal and a timeout are data in the Result,
// not errors. The error is non-nil when the command could not start (a
// nil Result), when the context ended (the Result holds what was captured
// so far; the error matches ErrCancelled and the context's error), when
// an output cap under CapFail was passed (ErrOutputTooLarge), when the
// tree's death could not be confirmed (ErrTeardownNotConfirmed), or when
// the Stdin reader failed before the run ended (a *StdinError matching
// ErrStdin; the Result is complete and says how the child ended). In every
// case the tree is dead when Output returns.
func (c *Cmd) Output(ctx context.Context) (*Result, error) {
	if err := c.entry(ctx); err != nil {
		return nil, err
	}
	if c.retry.output {
		r, err := c.withRetry(ctx)
		var ee *ExitError
		if err != nil && r != nil && errors.As(err, &ee) && ee.Result == r && r.Outcome != Cancelled && !r.tooLarge {
			return r, nil // the last attempt's failure is data, as without Retry
		}
		return r, err
	}
	return c.runnerOrDefault().Output(ctx, c)
}

// Run runs the command, which must succeed, and returns its stdout as
// text with trailing white space trimmed (a final newline, say); leading
// white space is kept, since it can carry meaning (the status columns of
// `git status --porcelain`). Any failure
// (including a non-success exit) is an error; an *ExitError carries the
// Result.
func (c *Cmd) Run(ctx context.Context) (string, error) {
	r, err := c.Checked(ctx)
	if err != nil {
		return "", err
	}
	return strings.TrimRightFunc(r.StdoutText(), unicode.IsSpace), nil
}

// RunBytes is Run returning stdout's exact bytes, untrimmed, for output
// that text decoding would damage.
func (c *Cmd) RunBytes(ctx context.Context) ([]byte, error) {
	r, err := c.Checked(ctx)
	if err != nil {
		return nil, err
	}
	return r.Stdout, nil
}

// Exec runs the command, which must succeed, discarding stdout unless the
// command sends it elsewhere explicitly. stderr is still captured, so a
// failure's error shows its tail; with stderr sent to stdout
// (ToStdout), stdout stays captured for the same reason.
func (c *Cmd) Exec(ctx context.Context) error {
	if err := c.entry(ctx); err != nil {
		return err
	}
	cc := c
	if c.stdout.mode == modeCapture && c.stderr.mode != modeStdout {
		cc = c.Stdout(Discard())
	}
	_, err := cc.Checked(ctx)
	return err
}

// Checked runs the command and returns the full Result only if the run
// succeeded; otherwise the error (an *ExitError for a failed run, whose
// Result field holds everything captured).
func (c *Cmd) Checked(ctx context.Context) (*Result, error) {
	if err := c.entry(ctx); err != nil {
		return nil, err
	}
	r, err := c.withRetry(ctx)
	if _, ok := stdinOnly(r, err); ok {
		// The child's own failure, if any, comes first (r.Err).
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// ExitCode runs the command and returns its exit code, whatever it is. A
// run that has no exit code (killed by a signal, timed out, cancelled) is
// an error, never -1; so is a failed Stdin reader (a *StdinError: the
// code answered a truncated input).
func (c *Cmd) ExitCode(ctx context.Context) (int, error) {
	r, stdinErr, err := c.outputForCode(ctx, func(r *Result) bool { return r.Outcome == Exited })
	if err != nil {
		return 0, err
	}
	if r.Outcome != Exited {
		return 0, r.exitError()
	}
	if stdinErr != nil {
		return 0, stdinErr
	}
	return r.ExitCode, nil
}

// outputForCode runs Output for a verb that answers from the exit code
// (ExitCode, Probe): the error of a run that has no Result to answer
// from, or the Result with the failed Stdin reader, if that is its only
// error, for the verb to weigh against the exit code.
func (c *Cmd) outputForCode(ctx context.Context, answered func(*Result) bool) (*Result, *StdinError, error) {
	if err := c.entry(ctx); err != nil {
		return nil, nil, err
	}
	// Under a Retry policy, a run that answered is never retried,
	// whatever RetryOutput says for Output; one that did not (no exit
	// code, or one the verb cannot answer from) is, as the policy
	// decides, and its last attempt is weighed below as it would be
	// without retry.
	r, err := c.retryJudged(ctx, func(r *Result) error {
		if r.Outcome == Exited && answered(r) && !r.tooLarge {
			return nil
		}
		return r.exitError()
	})
	var ee *ExitError
	if err != nil && r != nil && errors.As(err, &ee) && ee.Result == r && r.Outcome != Cancelled && !r.tooLarge {
		err = nil // the last attempt's own failure: the verb says what it means
	}
	stdinErr, stdinOnly := stdinOnly(r, err)
	if err != nil && !stdinOnly {
		return nil, nil, err
	}
	return r, stdinErr, nil
}

// stdinOnly reports whether a verb's error is only a failed Stdin reader
// (a *StdinError with the Result present), which must not hide how the
// child ended, and returns it.
func stdinOnly(r *Result, err error) (*StdinError, bool) {
	var se *StdinError
	if r == nil || err == nil || !errors.As(err, &se) {
		return nil, false
	}
	return se, true
}

// Probe runs the command as a yes/no question: exit 0 is true, exit 1 is
// false, anything else (another code, a signal, a timeout, a failed Stdin
// reader) is an error.
func (c *Cmd) Probe(ctx context.Context) (bool, error) {
	r, stdinErr, err := c.outputForCode(ctx, func(r *Result) bool { return r.ExitCode == 0 || r.ExitCode == 1 })
	if err != nil {
		return false, err
	}
	switch {
	case r.Outcome == Exited && (r.ExitCode == 0 || r.ExitCode == 1) && stdinErr != nil:
		return false, stdinErr
	case r.Outcome == Exited && r.ExitCode == 0:
		return true, nil
	case r.Outcome == Exited && r.ExitCode == 1:
		return false, nil
	}
	return false, r.exitError()
}

// Start starts the command and returns a handle. The context governs the
// run's life: when it ends, the tree is killed.
func (c *Cmd) Start(ctx context.Context) (*RunningProcess, error) {
	if err := c.entry(ctx); err != nil {
		return nil, err
	}
	return c.runnerOrDefault().Start(ctx, c)
}

// FirstLine starts the command, returns the first line of stdout for
// which match is true, and then kills the tree and waits for the run to
// end. If stdout ends first it fails with an error matching ErrNoMatch
// (and ErrTimeout when the command's timeout ended the run). The command's
// timeout and ctx bound the wait.
func (c *Cmd) FirstLine(ctx context.Context, match func(Line) bool) (Line, error) {
	if err := c.entry(ctx); err != nil {
		return Line{}, err
	}
	p, err := c.Start(ctx)
	if err != nil {
		return Line{}, err
	}
	line, werr := p.waitLine(ctx, "first matching line", []Stream{Stdout}, match)
	kctx, cancel := teardown.Context()
	defer cancel()
	if err := p.Kill(kctx); err != nil {
		return Line{}, err
	}
	if werr == nil {
		return line, nil
	}
	r, rerr := p.Wait(kctx)
	if rerr != nil && !errors.Is(rerr, ErrCancelled) {
		return Line{}, rerr
	}
	nm := &NoMatchError{Program: c.name, Result: r}
	if ctx.Err() != nil {
		nm.cause = cancelCause(ctx)
	}
	return Line{}, nm
}

// Parse runs c, which must succeed, and parses its stdout (as text, not
// trimmed) with parse. A failed run returns the run's error; a parse
// failure a *ParseError.
func Parse[T any](ctx context.Context, c *Cmd, parse func(stdout string) (T, error)) (T, error) {
	var zero T
	r, err := c.Checked(ctx)
	if err != nil {
		return zero, err
	}
	v, err := parse(r.StdoutText())
	if err != nil {
		return zero, &ParseError{Program: r.Program, Result: r, Err: err}
	}
	return v, nil
}

// TryParse is Parse for output that may legitimately not parse (an empty
// listing, a tool that prints a notice instead): a parse failure returns
// ok false and no error. A failed run is still an error.
func TryParse[T any](ctx context.Context, c *Cmd, parse func(stdout string) (T, error)) (v T, ok bool, err error) {
	v, err = Parse(ctx, c, parse)
	if errors.Is(err, ErrParse) {
		var zero T
		return zero, false, nil
	}
	return v, err == nil, err
}

// entry checks what every verb of c needs before it can even validate c:
// a Cmd and a context.
func (c *Cmd) entry(ctx context.Context) error {
	if c == nil {
		return &InvalidError{Reason: "nil *Cmd"}
	}
	if ctx == nil {
		return nilContext(c.name, "the verb")
	}
	return nil
}
