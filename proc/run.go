package proc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/gotether/tether/contain"
)

// RunningProcess is a started run. Its methods are safe for concurrent
// use. The run ends when the direct child exits, its timeout fires, its
// context ends, or Kill or Stop is called; then the whole tree is killed,
// its death confirmed, and the output drained before Wait returns.
//
// From the spawn on, the run's monitor (monitor.go) owns its state: other
// parts of proc ask it to end the run through an end request
// (endrequest.go), read the run through the methods the monitor keeps
// true (hasExited, liveStats, isReleasing), and read how it ended from
// its final report.
type RunningProcess struct {
	cmd       *Cmd
	log       *slog.Logger
	container contain.Container

	child   *child      // the direct child (child.go)
	streams *streams    // stdout, stderr, their lines (streams.go)
	stdin   *runStdin   // the child's stdin, on tether's side (stdin.go)
	ends    endRequests // requests to end the run (endrequest.go)
	// term is the terminal of a terminal run (terminal.go): on Unix the
	// master, read as stdout and closed by its drain; on Windows the
	// pseudo console, closed once the child exits. nil without one.
	term *terminal

	// releasing is closed by the monitor before it releases the
	// container, whose Stats may then say nothing and whose Signal may
	// fail with the error of a removed cgroup.
	releasing chan struct{}
	// stopping is set by the monitor once it has decided to end the run
	// (Status: StateStopping).
	stopping atomic.Bool
	// stopped is what the monitor's graceful stop for Stop did; nil when
	// the monitor ended the run otherwise. Set before done is closed.
	stopped *ShutdownReport
	done    chan struct{} // closed once final is set
	final   runReport
}

// newRun makes the handle of a run of c in container ct, its child ch
// not started yet. spawn and the fake (newFake) both build on it, so a
// scripted run is the same machinery as a real one.
func newRun(c *Cmd, ct contain.Container, log *slog.Logger, ch *child) *RunningProcess {
	p := &RunningProcess{cmd: c, log: log, container: ct, child: ch,
		streams: newStreams(c), stdin: newRunStdin(),
		releasing: make(chan struct{}), done: make(chan struct{})}
	p.ends.arrived = make(chan struct{})
	p.ends.groupKill = make(chan struct{})
	p.ends.hurry = make(chan struct{})
	return p
}

// runReport is what a finished run reports: what Wait returns, and how
// the run ended for the parts of proc built on runs.
type runReport struct {
	result *Result
	err    error
	// byRequest is set when an end request (Kill, the run's group, its
	// pipeline), not the child itself, ended the run: a pipeline
	// attributes its failure by it.
	byRequest bool
}

// report returns the run's final report, once the run has ended.
func (p *RunningProcess) report() runReport {
	<-p.done
	return p.final
}

// closed reports whether ch, a channel that is only ever closed, is.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Pid returns the direct child's process id.
func (p *RunningProcess) Pid() int { return p.child.pid }

// Mechanism returns the mechanism that holds the tree.
func (p *RunningProcess) Mechanism() contain.Mechanism { return p.container.Mechanism() }

// StartTime returns when the child was spawned.
func (p *RunningProcess) StartTime() time.Time { return p.child.started }

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
		return p.final.result, p.final.err
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
	p.requestEnd(endByKill, p.hasExited())
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return &contain.TeardownError{Mechanism: p.Mechanism(), Err: ctx.Err()}
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
	if err != nil && p.isReleasing() {
		// The run ended meanwhile and its container is being removed:
		// whatever the mechanism said (a cgroup file gone, with its
		// path), the answer is that the run is over.
		return fmt.Errorf("proc: %s: signal: the run has ended: %w", p.cmd.name, ErrClosed)
	}
	return err
}
