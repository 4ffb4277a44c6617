package proc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotether/tether/contain"
)

// RunningProcess is a started run. Its methods are safe for concurrent
// use. The run ends when the direct child exits, its timeout fires, its
// context ends or Kill is called; then the whole tree is killed, its death
// confirmed, and the output drained before Wait returns.
type RunningProcess struct {
	cmd       *Cmd
	ecmd      *exec.Cmd
	container contain.Container
	pid       int
	started   time.Time
	log       *slog.Logger

	exited  chan struct{} // the direct child was reaped
	waitErr error         // cmd.Wait's error, valid after exited
	exitAt  time.Time

	outCap, errCap *capture
	drains         sync.WaitGroup
	reads          []*os.File // read ends, closed if a drain overruns
	stdinW         *os.File
	feeder         *feeder // nil unless tether feeds stdin from a source
	tooLarge       chan struct{}
	tooLargeOnce   sync.Once
	killReq        chan struct{}
	killOnce       sync.Once
	// reqOutcome is the outcome a kill request gives the run (0: Kill's
	// Signaled) and reqLate says the child's exit had already been seen
	// when it was asked for; both are set before killReq is closed.
	// byRequest is set by the monitor when a request, not the child,
	// ended the run.
	reqOutcome Outcome
	reqLate    bool
	byRequest  bool
	// groupKill is set by a Group before it kills every member, so that
	// where the OS reports no signal the run still says it was killed.
	groupKill atomic.Bool
	// escaped is set by stop when the direct child was alive outside its
	// container when the run was ended, and had to be killed by its own
	// handle.
	escaped atomic.Bool
	// releasing is set by the monitor before it closes the container,
	// whose Stats may then say nothing (a removed cgroup): Profile drops
	// a sample read after it and takes the Result's usage instead.
	releasing atomic.Bool

	hub      *hub
	stdin    *StdinWriter
	activity atomic.Int64 // unix nanoseconds of the last output byte
	cbMu     sync.Mutex
	cbErrs   []error
	liners   []*liner

	done   chan struct{} // the result is ready
	result *Result
	err    error
}

// Pid returns the direct child's process id.
func (p *RunningProcess) Pid() int { return p.pid }

// Mechanism returns the mechanism that holds the tree.
func (p *RunningProcess) Mechanism() contain.Mechanism { return p.container.Mechanism() }

// StartTime returns when the child was spawned.
func (p *RunningProcess) StartTime() time.Time { return p.started }

// Done returns a channel closed once the run has ended and its Result is
// ready. Receiving from it consumes nothing.
func (p *RunningProcess) Done() <-chan struct{} { return p.done }

// Wait waits for the run to end and returns its Result, with the same
// meaning as Cmd.Output. If ctx ends first Wait returns ctx's error and
// leaves the process running.
func (p *RunningProcess) Wait(ctx context.Context) (*Result, error) {
	if ctx == nil {
		return nil, nilContext(p.cmd.name, "Wait")
	}
	select {
	case <-p.done:
		return p.result, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Kill kills the whole tree, waits until its death is confirmed and the
// run has ended, and returns. The Result then says Signaled, unless the
// direct child had already exited by itself when Kill was called: then
// it says how the child ended (the rest of the tree is killed all the
// same). If ctx ends first the error matches ErrTeardownNotConfirmed.
func (p *RunningProcess) Kill(ctx context.Context) error {
	if ctx == nil {
		return nilContext(p.cmd.name, "Kill")
	}
	// The monitor does the killing, so teardown has one owner.
	p.end(0, p.hasExited())
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return &contain.TeardownError{Mechanism: p.Mechanism(), Err: ctx.Err()}
	}
}

// end asks the monitor to end the run as if by o (TimedOut for a
// pipeline's timeout; 0 for a plain kill, reported as Signaled) and
// returns at once. late says whether the child's exit had already been
// seen when the request was decided (see endStages); only the first
// request counts.
func (p *RunningProcess) end(o Outcome, late bool) {
	p.killOnce.Do(func() {
		p.reqOutcome = o
		p.reqLate = late
		close(p.killReq)
	})
}

// hasExited reports whether the direct child's exit has been seen.
func (p *RunningProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Signal sends sig to every member of the tree (see contain.Container
// Signal for what each mechanism can deliver). After the run has ended it
// returns an error matching contain.ErrClosed.
func (p *RunningProcess) Signal(sig os.Signal) error {
	select {
	case <-p.done:
		return contain.ErrClosed
	default:
	}
	err := p.container.Signal(sig)
	if err != nil && p.releasing.Load() {
		// The run ended meanwhile and its container is being removed:
		// whatever the mechanism said (a cgroup file gone, with its
		// path), the answer is that the run is over.
		return fmt.Errorf("proc: %s: signal: the run has ended: %w", p.cmd.name, ErrClosed)
	}
	return err
}
