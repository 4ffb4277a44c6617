package proc

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/gotether/tether/contain"
)

// FakeMechanism is the mechanism a Result or RunningProcess reports when
// no process was run: a test double (package proctest) made it.
const FakeMechanism contain.Mechanism = "fake"

// Spec is a read-only view of a Cmd, for Runners that match or record
// commands (package proctest). It contains environment values: do not
// log or store it as is.
type Spec struct {
	Name string
	Args []string
	Dir  string
	// Env lists the variables the command sets (SetEnv), in order; a
	// later one with the same name wins. Unset lists UnsetEnv names. (The
	// relative order of a set and an unset of the same name is not kept.)
	Env   [][2]string
	Unset []string
	// ClearEnv and InheritOnly describe the base environment: nothing, an
	// allow-list, or (both zero) the owner's.
	ClearEnv    bool
	InheritOnly []string
	// Stdin says where stdin comes from: "", "bytes", "lines", "file",
	// "reader", "inherit" or "interactive"; StdinBytes holds bytes given
	// with StdinBytes or StdinString.
	Stdin      string
	StdinBytes []byte
	Timeout    time.Duration
	OKCodes    []int
}

// Spec returns a copy of what c says.
func (c *Cmd) Spec() Spec {
	if c == nil {
		return Spec{}
	}
	s := Spec{
		Name: c.name, Args: slices.Clone(c.args), Dir: c.dir,
		ClearEnv: c.env.clear, InheritOnly: slices.Clone(c.env.allow),
		Stdin: map[stdinKind]string{stdinNone: "", stdinBytes: "bytes", stdinLines: "lines", stdinFile: "file",
			stdinReader: "reader", stdinInherit: "inherit", stdinInteractive: "interactive"}[c.stdin.kind],
		StdinBytes: slices.Clone(c.stdin.bytes),
		Timeout:    c.timeout,
		OKCodes:    slices.Clone(c.okCodes),
	}
	for _, op := range c.env.ops {
		if op.unset {
			s.Unset = append(s.Unset, op.key)
		} else {
			s.Env = append(s.Env, [2]string{op.key, op.value})
		}
	}
	return s
}

// Validate reports whether c is well formed, as every verb checks before
// running it (ErrInvalid, contain.ErrInvalidLimit, ErrUnsupported). Test
// doubles call it so that they fail where the real runner would.
func (c *Cmd) Validate() error {
	if c == nil {
		return &InvalidError{Reason: "nil *Cmd"}
	}
	return c.validate()
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

// FakeProcess drives a RunningProcess that no real process backs, so a
// test double can hand out RunningProcess values whose lines, events,
// callbacks, probes and stdin work exactly as for a real one: what it
// writes goes through the same decoder, splitter, readers and capture.
// What needs a real process does not apply: output is always captured
// (Inherit, Discard and file modes are not honoured), IdleTimeout and the
// Cmd's Timeout are the double's to model (proctest does), and Signal
// returns ErrUnsupported.
type FakeProcess struct {
	p      *RunningProcess
	stdinR *os.File
	// mu serialises writes and the end: the end can come from the fake's
	// own goroutine (Kill, cancellation, an overflow) while a double
	// writes output, and the line reader is not safe for that.
	mu    sync.Mutex
	ended bool
}

// NewFakeProcess returns a started fake run of c with the given pid. The
// run ends when End is called, or with Outcome Signaled when the
// RunningProcess is killed (Kill) or ctx ends (Cancelled).
func NewFakeProcess(ctx context.Context, c *Cmd, pid int) (*FakeProcess, error) {
	if err := c.entry(ctx); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	ls := c.lines.withDefaults()
	p := &RunningProcess{cmd: c, pid: pid, started: time.Now(), container: fakeContainer{},
		exited: make(chan struct{}), done: make(chan struct{}), tooLarge: make(chan struct{}), killReq: make(chan struct{})}
	p.log = slog.New(slog.DiscardHandler)
	p.hub = newHub(ls.bufLines, ls.bufBytes, ls.policy, p.overCap)
	p.hub.started = p.started
	p.activity.Store(p.started.UnixNano())
	f := &FakeProcess{p: p}
	p.stdin = &StdinWriter{err: errNotInteractive}
	if c.stdin.kind == stdinInteractive {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		f.stdinR, p.stdin = r, &StdinWriter{w: w}
	}
	p.outCap = &capture{limit: c.stdout.limit, policy: c.stdout.policy, tee: c.stdout.w, over: p.overCap, activity: &p.activity}
	p.errCap = &capture{limit: c.stderr.limit, policy: c.stderr.policy, tee: c.stderr.w, over: p.overCap, activity: &p.activity}
	p.outCap.lines = p.newLiner(Stdout, ls)
	p.errCap.lines = p.newLiner(Stderr, ls)
	go func() {
		select {
		case <-p.killReq:
			f.End(Signaled, -1, signalName(os.Kill))
		case <-ctx.Done():
			f.end(Cancelled, -1, "", cancelCause(ctx))
		case <-p.tooLarge:
			f.End(Signaled, -1, signalName(os.Kill))
		case <-p.done:
		}
	}()
	return f, nil
}

// Process returns the RunningProcess the fake drives.
func (f *FakeProcess) Process() *RunningProcess { return f.p }

// WriteStdout feeds b to the run's stdout, as if the child wrote it.
func (f *FakeProcess) WriteStdout(b []byte) { f.write(f.p.outCap, b) }

// WriteStderr feeds b to the run's stderr.
func (f *FakeProcess) WriteStderr(b []byte) { f.write(f.p.errCap, b) }

func (f *FakeProcess) write(c *capture, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return
	}
	f.p.activity.Store(time.Now().UnixNano())
	c.write(b)
	c.lines.write(b)
}

// Stdin returns what was written to the RunningProcess's Stdin (for a
// Cmd with InteractiveStdin; nil otherwise). It reaches EOF when the
// writer is closed or the run ends.
func (f *FakeProcess) Stdin() io.Reader {
	if f.stdinR == nil {
		return nil
	}
	return f.stdinR
}

// Killed is closed when the RunningProcess was asked to die (Kill), so a
// double can model a process that takes time to stop; the run then ends
// as Signaled unless End comes first.
func (f *FakeProcess) Killed() <-chan struct{} { return f.p.killReq }

// End ends the run with this outcome: the streams are flushed, readers
// get their last lines and EventExited, and Wait returns the Result. Only
// the first call counts.
func (f *FakeProcess) End(outcome Outcome, code int, signal string) {
	f.end(outcome, code, signal, context.Canceled)
}

// end is End with the cause a Cancelled outcome carries (the context's
// own: Canceled or DeadlineExceeded).
func (f *FakeProcess) end(outcome Outcome, code int, signal string, cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return
	}
	f.ended = true
	{
		p := f.p
		p.exitAt = time.Now()
		close(p.exited)
		for _, c := range []*capture{p.outCap, p.errCap} {
			c.lines.flush()
		}
		p.hub.release()
		p.stdin.shut()
		if f.stdinR != nil {
			_ = f.stdinR.Close()
		}
		r := NewResult(p.cmd, outcome, code, signal, p.outCap.bytes(), p.errCap.bytes())
		if outcome == Cancelled {
			r.cancelErr = cause
		}
		r.Pid, r.Duration = p.pid, p.exitAt.Sub(p.started)
		r.StdoutTotal, r.StdoutTruncated = p.outCap.stats()
		r.StderrTotal, r.StderrTruncated = p.errCap.stats()
		select {
		case <-p.tooLarge:
			r.tooLarge = true
		default:
		}
		r.Streams = p.hub.snapshot()
		p.cbMu.Lock()
		r.CallbackErrors = p.cbErrs
		p.cbMu.Unlock()
		p.result = r
		if r.Outcome == Cancelled || r.tooLarge {
			p.err = r.Err()
		}
		close(p.done)
		p.hub.close(Event{Kind: EventExited, Time: time.Now(), Result: r})
	}
}

// fakeContainer stands in for a container where nothing runs. Signal
// reports ErrUnsupported: a test double has no process to signal (it can
// model a stop with Killed and End).
type fakeContainer struct{}

func (fakeContainer) Mechanism() contain.Mechanism { return FakeMechanism }
func (fakeContainer) Start(*exec.Cmd) error {
	return contain.Unsupported(FakeMechanism, "start", "a test double starts no process")
}
func (fakeContainer) Adopt(int) error {
	return contain.Unsupported(FakeMechanism, "adopt", "no process runs")
}
func (fakeContainer) Kill(context.Context) error { return nil }
func (fakeContainer) Freeze(context.Context) error {
	return contain.Unsupported(FakeMechanism, "freeze", "no process runs")
}
func (fakeContainer) Thaw(context.Context) error {
	return contain.Unsupported(FakeMechanism, "thaw", "no process runs")
}
func (fakeContainer) Pids() ([]int, error)          { return nil, nil }
func (fakeContainer) Stats() (contain.Stats, error) { return contain.Stats{}, nil }
func (fakeContainer) Close(context.Context) error   { return nil }
func (fakeContainer) Sub(context.Context, contain.Options) (contain.Container, error) {
	return fakeContainer{}, nil
}
func (fakeContainer) Signal(sig os.Signal) error {
	return contain.Unsupported(FakeMechanism, "signal "+sig.String(), "no process runs")
}
