package proctest

import (
	"context"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/gotether/tether/proc"
)

// Reply is what a scripted command does: the output it writes, over time
// if it has steps, and how it ends. Build one with Stdout, Fail,
// Signaled, Timeout, Pending, NotFound, StartFailure, Stream or Func; the
// With and After methods return adjusted copies.
type Reply struct {
	kind    replyKind
	outcome proc.Outcome // replyEnd
	code    int
	signal  string
	stdout  string
	stderr  string
	steps   []Step
	cause   error
	fn      func(ctx context.Context, f *proc.FakeProcess)
}

type replyKind int

const (
	replyExit replyKind = iota
	replySignaled
	replyTimedOut
	replyPending
	replyNotFound
	replyStartFailure
	replyFunc
	replyEnd // ends with outcome, for replayed outcomes without a constructor
)

// Step is one event of a streamed reply: a chunk of output on one stream,
// or a pause.
type Step struct {
	stream proc.Stream
	text   string
	pause  time.Duration
}

// StdoutLine is a step that writes text and a newline to stdout.
func StdoutLine(text string) Step { return Step{stream: proc.Stdout, text: text + "\n"} }

// StderrLine is a step that writes text and a newline to stderr.
func StderrLine(text string) Step { return Step{stream: proc.Stderr, text: text + "\n"} }

// StdoutText is a step that writes text to stdout as one chunk, exactly
// as given (no newline is added: use it for partial lines).
func StdoutText(text string) Step { return Step{stream: proc.Stdout, text: text} }

// StderrText is StdoutText for stderr.
func StderrText(text string) Step { return Step{stream: proc.Stderr, text: text} }

// Pause is a step that waits d before the next one. A pause ends early
// when the run is cancelled, killed or times out (the Cmd's Timeout
// counts from the start, as for a real process).
func Pause(d time.Duration) Step { return Step{pause: d} }

// Stdout is a run that writes s to stdout and exits with code 0.
func Stdout(s string) Reply { return Reply{kind: replyExit, stdout: s} }

// Fail is a run that writes stderr and exits with code (the Cmd's OKCodes
// decide whether that code is success, as for a real run).
func Fail(code int, stderr string) Reply { return Reply{kind: replyExit, code: code, stderr: stderr} }

// Signaled is a run killed by the signal named signal, as the Result
// names it ("SIGKILL", "SIGSEGV" on Unix; "killed" on Windows).
func Signaled(signal string) Reply { return Reply{kind: replySignaled, signal: signal} }

// Timeout is a run whose Cmd timeout fired: the Result's Outcome is
// TimedOut at once, whatever the Cmd's Timeout is (a test should not wait
// for it). Use Pending to wait for the Cmd's real Timeout instead.
func Timeout() Reply { return Reply{kind: replyTimedOut} }

// Pending is a run that never ends by itself: it ends when its context
// ends (Outcome Cancelled and an error matching proc.ErrCancelled and
// context.Canceled, as for a real run), when it is killed
// (RunningProcess.Kill: Signaled), or when the Cmd's Timeout fires
// (TimedOut). With After it models a server that prints and then serves.
func Pending() Reply { return Reply{kind: replyPending} }

// NotFound is a program that is not installed: the verb returns a
// *proc.NotFoundError (matching proc.ErrNotFound) and no Result.
func NotFound() Reply { return Reply{kind: replyNotFound} }

// StartFailure is a program that cannot be started: the verb returns a
// *proc.StartError (matching proc.ErrStart and cause, for example
// fs.ErrPermission) and no Result.
func StartFailure(cause error) Reply { return Reply{kind: replyStartFailure, cause: cause} }

// Stream is a run that performs steps in order and then exits with code 0.
// Call After on another reply to stream before a different end.
func Stream(steps ...Step) Reply { return Reply{kind: replyExit, steps: steps} }

// Func is a run that f drives: it gets the run's context and the
// FakeProcess (write output, read interactive stdin, end the run with
// End). f runs on a goroutine of its own; when it returns without having
// called End, the run exits with code 0. The run also ends, as Cancelled
// or Signaled, when its context ends or it is killed; f should then
// return (watch f.Process().Done()).
func Func(f func(ctx context.Context, f *proc.FakeProcess)) Reply {
	return Reply{kind: replyFunc, fn: f}
}

// WithStderr returns a copy that also writes s to stderr before it ends.
func (r Reply) WithStderr(s string) Reply {
	r.stderr = s
	return r
}

// After returns a copy that first performs steps, then ends as r does.
// For example Fail(2, "fatal\n").After(StdoutLine("working"),
// Pause(time.Second)) prints, waits a second and fails.
func (r Reply) After(steps ...Step) Reply {
	r.steps = append(append([]Step(nil), steps...), r.steps...)
	return r
}

// fakePids numbers fake processes, so that each run of a test has its own
// pid.
var fakePids atomic.Int64

// play runs rep for c as a double's Start does: an error for the start
// failures, else a fake process driven by its own goroutine.
func play(ctx context.Context, c *proc.Cmd, rep Reply) (*proc.RunningProcess, error) {
	return playWith(ctx, c, rep, proc.NewFakeProcess)
}

// playOutput runs rep for c as a double's Output does, and returns once
// the run has ended: its fake splits lines only for the Cmd's OnLine
// callbacks, as a real Output does (proc.NewFakeOutput).
func playOutput(ctx context.Context, c *proc.Cmd, rep Reply) (*proc.Result, error) {
	p, err := playWith(ctx, c, rep, proc.NewFakeOutput)
	if err != nil {
		return nil, err
	}
	<-p.Done()
	return p.Wait(context.Background())
}

// playWith is play with the fake made by newFake.
func playWith(ctx context.Context, c *proc.Cmd, rep Reply, newFake func(context.Context, *proc.Cmd, int) (*proc.FakeProcess, error)) (*proc.RunningProcess, error) {
	switch rep.kind {
	case replyNotFound:
		return nil, &proc.NotFoundError{Program: c.Name(), Err: exec.ErrNotFound}
	case replyStartFailure:
		return nil, &proc.StartError{Program: c.Name(), Err: rep.cause}
	}
	if ctx.Err() != nil {
		// As the real runner: a context that has already ended spawns
		// nothing.
		return nil, proc.NewResult(c, proc.Cancelled, -1, "", nil, nil).Err()
	}
	pid := 90000 + int(fakePids.Add(1))
	if rep.kind == replyFunc {
		f, err := newFake(ctx, c, pid)
		if err != nil {
			return nil, err
		}
		go func() {
			rep.fn(ctx, f)
			f.End(proc.Exited, 0, "")
		}()
		return f.Process(), nil
	}
	// The fake is told nothing of ctx: the driver below ends the run on
	// cancellation itself, so that every write and the end come from one
	// goroutine (a write racing the end would race in the line splitter).
	f, err := newFake(context.WithoutCancel(ctx), c, pid)
	if err != nil {
		return nil, err
	}
	go drive(ctx, f, c.Spec().Timeout, rep)
	return f.Process(), nil
}

// drive performs rep on f until it ends, is cancelled, killed or times
// out.
func drive(ctx context.Context, f *proc.FakeProcess, timeout time.Duration, rep Reply) {
	p := f.Process()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	// wait blocks until d passes (true) or the run must end (false,
	// having ended it); d < 0 waits for the end alone.
	wait := func(d time.Duration) bool {
		var tick <-chan time.Time
		if d >= 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			tick = t.C
		}
		select {
		case <-tick:
			return true
		case <-deadline:
			f.End(proc.TimedOut, -1, killSignal)
		case <-ctx.Done():
			f.End(proc.Cancelled, -1, killSignal)
		case <-p.Done():
		}
		return false
	}
	// live reports whether the run goes on, ending it if it must not.
	live := func() bool {
		select {
		case <-deadline:
			f.End(proc.TimedOut, -1, killSignal)
		case <-ctx.Done():
			f.End(proc.Cancelled, -1, killSignal)
		case <-f.Killed():
			// The fake ends itself as Signaled. Until proc serialises
			// a write with that end, a write after Kill would race.
			<-p.Done()
		case <-p.Done():
		default:
			return true
		}
		return false
	}
	write := func(s proc.Stream, text string) bool {
		if !live() {
			return false
		}
		if s == proc.Stderr {
			f.WriteStderr([]byte(text))
		} else {
			f.WriteStdout([]byte(text))
		}
		return true
	}
	for _, st := range rep.steps {
		ok := true
		if st.pause > 0 {
			ok = wait(st.pause)
		} else if st.text != "" {
			ok = write(st.stream, st.text)
		}
		if !ok {
			return
		}
	}
	if rep.stdout != "" && !write(proc.Stdout, rep.stdout) {
		return
	}
	if rep.stderr != "" && !write(proc.Stderr, rep.stderr) {
		return
	}
	if !live() {
		return
	}
	switch rep.kind {
	case replyExit:
		f.End(proc.Exited, rep.code, "")
	case replySignaled:
		f.End(proc.Signaled, -1, rep.signal)
	case replyTimedOut:
		f.End(proc.TimedOut, -1, killSignal)
	case replyPending:
		wait(-1)
	case replyEnd:
		f.End(rep.outcome, rep.code, rep.signal)
	}
}
