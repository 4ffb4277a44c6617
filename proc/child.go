package proc

import (
	"os"
	"os/exec"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/forker"
)

// child is a run's direct child, started by start and reaped by the
// goroutine start leaves behind, which writes the end's fields and closes
// exited once the child is reaped, so they are read-only from then on
// (process, started and pid from the moment start returns).
type child struct {
	ecmd  *exec.Cmd     // nil for a fake run
	attrs *forker.Attrs // what the forker gives the child, nil for nothing
	// create, when set, creates the child in ct in place of the
	// container's Start of ecmd, and returns it running and placed: a
	// terminal run on Windows, whose pseudo console os/exec cannot
	// attach (terminal_windows.go). A create that fails has left nothing
	// running.
	create  func(ct contain.Container) (*os.Process, error)
	process *os.Process // the running child, from the moment start returns
	pid     int
	started time.Time
	exited  chan struct{}    // closed once the child is reaped
	exitAt  time.Time        // valid once exited is closed
	state   *os.ProcessState // how it ended, valid once exited is closed
}

func newChild(ecmd *exec.Cmd, attrs *forker.Attrs) *child {
	return &child{ecmd: ecmd, attrs: attrs, exited: make(chan struct{})}
}

// start starts the child in ct, then reaps it in a goroutine of its
// own: the container places the child (and, with a parent-death signal,
// forks it from a thread that never exits: see internal/forker), and a
// Start that fails has left nothing running and nothing to reap. began
// runs once the child is running, before start returns.
func (ch *child) start(ct contain.Container, began func(time.Time)) error {
	if ch.create != nil {
		proc, err := ch.create(ct)
		if err != nil {
			return err
		}
		ch.process = proc
	} else {
		if err := startBound(ct.Start, ch.ecmd, ch.attrs); err != nil {
			return err
		}
		ch.process = ch.ecmd.Process
	}
	ch.started = time.Now()
	ch.pid = ch.process.Pid
	began(ch.started)
	go ch.reap()
	return nil
}

// reap waits for the started child and records its end.
func (ch *child) reap() {
	// Wait's error says no more than the state does (status).
	if ch.create != nil {
		ch.state, _ = ch.process.Wait()
	} else {
		_ = ch.ecmd.Wait()
		ch.state = ch.ecmd.ProcessState
	}
	ch.reaped(time.Now())
}

// startBound starts ecmd with start (a container's Start, or Detach's)
// with attrs bound to it, so that the forker, which every tether backend
// forks through, gives them to the child before its program runs. A start
// that did not go through the forker (a Backend from elsewhere) has
// started the child without them: it is killed and reaped, and the run
// fails with ErrUnsupported, rather than go on without what the Cmd asked
// for.
func startBound(start func(*exec.Cmd) error, ecmd *exec.Cmd, attrs *forker.Attrs) error {
	if attrs == nil {
		return start(ecmd)
	}
	withdraw := forker.Bind(ecmd, *attrs)
	err := start(ecmd)
	if applied := withdraw(); err != nil || applied {
		return err
	}
	_ = ecmd.Process.Kill()
	_ = ecmd.Wait()
	return &contain.UnsupportedError{Mechanism: "proc", Op: "process attributes (Rlimit, Nice, OOMScoreAdj, Umask)",
		Reason: "the backend did not start the child through tether's forker, so they could not be given before the program ran; the child was killed"}
}

// reaped records the child's end at t.
func (ch *child) reaped(t time.Time) {
	ch.exitAt = t
	close(ch.exited)
}

// hasExited reports whether the child's exit has been seen.
func (ch *child) hasExited() bool { return closed(ch.exited) }

// status reads how the reaped child ended: its exit code, or the signal
// that killed it (code -1).
func (ch *child) status() (code int, signal string) {
	if ps := ch.state; ps != nil {
		return exitStatus(ps)
	}
	return -1, ""
}

// kill kills the child by its own handle (a pidfd on Linux, a process
// handle on Windows), whatever container it is in now. It is not reaped
// yet, so its pid names no one else.
func (ch *child) kill() { _ = ch.process.Kill() }
