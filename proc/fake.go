package proc

import (
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/gotether/tether/contain"
)

// FakeMechanism is the mechanism a Result or RunningProcess reports when
// no process was run: a test double (package proctest) made it.
const FakeMechanism contain.Mechanism = "fake"

// FakeProcess drives a RunningProcess that no real process backs, so a
// test double can hand out RunningProcess values whose lines, events,
// callbacks, readiness waits and stdin work exactly as for a real one:
// what it writes goes through the same decoder, splitter, readers and
// capture, and its Result is assembled by the same code.
// What needs a real process does not apply: output is always captured
// (Inherit, Discard and file modes are not honoured; ToStdout and
// ToReader are: what a fake whose stderr goes to stdout writes to stderr
// is stdout's, and a raw reader reads what the fake writes), IdleTimeout
// and the Cmd's Timeout are the double's to model (proctest does), and
// Signal returns ErrUnsupported.
type FakeProcess struct {
	p      *RunningProcess
	stdinR *os.File
	// mu serialises writes and the end: the end can come from the fake's
	// own goroutine (Kill, cancellation, an overflow) while a double
	// writes output, and the line reader is not safe for that.
	mu    sync.Mutex
	ended bool
}

// NewFakeProcess returns a started fake run of c with the given pid, as
// a double's Start hands out. The run ends when End is called, or with
// Outcome Signaled when the RunningProcess is killed (Kill, or Stop,
// whose report then says the stop escalated at once: there is no
// process to signal), or Cancelled when ctx ends.
func NewFakeProcess(ctx context.Context, c *Cmd, pid int) (*FakeProcess, error) {
	return newFake(ctx, c, pid, true)
}

// NewFakeOutput is NewFakeProcess for a double's Output: as a real
// Output does, the run splits its output into lines only for the Cmd's
// OnLine callbacks (nobody else could read them), so its Result.Streams
// counts what a real Output's does, and an InteractiveStdin reads EOF at
// once (the double's Stdin is at its end). Its RunningProcess is for the
// double's own use (End, Wait); an Output hands out none.
func NewFakeOutput(ctx context.Context, c *Cmd, pid int) (*FakeProcess, error) {
	return newFake(ctx, c, pid, false)
}

// newFake makes a fake run with the constructor, stdin and captures a
// real run has, viaStart saying which verb it stands for (see spawn).
func newFake(ctx context.Context, c *Cmd, pid int, viaStart bool) (*FakeProcess, error) {
	if err := c.entry(ctx); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	ch := newChild(nil, nil)
	ch.pid, ch.started = pid, time.Now()
	p := newRun(c, fakeContainer{}, discardLog, ch)
	p.streams.began(ch.started)
	f := &FakeProcess{p: p}
	if c.stdin.kind == stdinInteractive || c.term.set {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		f.stdinR = r
		p.stdin.set(stdinInteractive, w, nil, viaStart)
	}
	p.streams.add(c, Stdout, nil, viaStart)
	p.streams.add(c, Stderr, nil, viaStart)
	go func() {
		select {
		case <-p.ends.arrived:
			var stop *ShutdownReport
			if r := p.ends.first; r.by == endByStop {
				stop = fakeStop(p, r.grace)
			}
			f.end(Signaled, -1, signalName(os.Kill), context.Canceled, stop)
		case <-ctx.Done():
			f.end(Cancelled, -1, "", cancelCause(ctx), nil)
		case <-p.streams.overflow:
			f.End(Signaled, -1, signalName(os.Kill))
		case <-p.done:
		}
	}()
	return f, nil
}

// Process returns the RunningProcess the fake drives.
func (f *FakeProcess) Process() *RunningProcess { return f.p }

// WriteStdout feeds b to the run's stdout, as if the child wrote it.
func (f *FakeProcess) WriteStdout(b []byte) { f.write(Stdout, b) }

// WriteStderr feeds b to the run's stderr.
func (f *FakeProcess) WriteStderr(b []byte) { f.write(Stderr, b) }

func (f *FakeProcess) write(st Stream, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ended {
		f.p.streams.feed(st, b)
	}
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

// Killed is closed when the RunningProcess was asked to die (Kill, or
// Stop: a fake has no process to signal, so a Stop is a kill to it), so
// a double can model a process that takes time to stop; the run then
// ends as Signaled unless End comes first.
func (f *FakeProcess) Killed() <-chan struct{} { return f.p.ends.arrived }

// End ends the run with this outcome: the streams are flushed, readers
// get their last lines and EventExited, and Wait returns the Result. Only
// the first call counts.
func (f *FakeProcess) End(outcome Outcome, code int, signal string) {
	f.end(outcome, code, signal, context.Canceled, nil)
}

// end is End with the cause a Cancelled outcome carries (the context's
// own: Canceled or DeadlineExceeded), and, for a run that Stop ends, the
// report Stop returns.
func (f *FakeProcess) end(outcome Outcome, code int, signal string, cause error, stop *ShutdownReport) {
	// The end unblocks the streams before it takes the lock: a write
	// that holds the lock may be blocked on a reader (a line reader
	// under Block, a raw reader) that nobody reads, and the end would
	// wait for it for ever. A real run's monitor unblocks them in the
	// same place, once the tree is dead.
	f.p.streams.unblock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return
	}
	f.ended = true
	p := f.p
	p.stopped = stop
	p.child.reaped(time.Now())
	p.streams.flush()
	p.stdin.childGone()
	if f.stdinR != nil {
		_ = f.stdinR.Close()
	}
	p.publish(p.finish(ending{outcome: outcome, code: code, signal: signal, cause: cause}), false, nil)
}

// fakeStop is the report of a Stop that ends a fake run: it has one
// pretend member, and no process to signal, so the stop escalates at
// once (with grace, the signal's error says why).
func fakeStop(p *RunningProcess, grace time.Duration) *ShutdownReport {
	rep := &ShutdownReport{Signal: p.stopSignal(), Before: 1, After: 1, Escalated: true}
	if grace > 0 {
		rep.SignalErr = contain.Unsupported(FakeMechanism, "graceful signal", "a test double has no process to signal")
	}
	return rep
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
