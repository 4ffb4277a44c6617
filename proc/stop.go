package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/teardown"
)

// Stop ends the run gracefully, as Group.Shutdown ends a group: it sends
// the graceful signal to every member of the run's tree, waits up to
// grace for them all (the direct child included) to exit, then kills
// whatever is left, confirms the tree's death, and returns once the run
// has ended, its Result ready as Wait returns it. The report says what
// happened, in Shutdown's terms: Before counts the tree's live members
// when the stop began, After those still alive when the grace ended;
// Drained says every member exited within the grace, Escalated that it
// did not: tether killed what was left (the direct child too if it had
// left its container), or a Kill cut the grace short.
//
// The signal is the Cmd's Grace signal if it set one (other than
// os.Kill), else SIGTERM. Windows has no graceful signal for a Job
// Object: there Stop kills at once, and the report says so (Escalated,
// SignalErr matching ErrUnsupported). A zero grace sends no signal: Stop
// is then Kill with a report. A negative grace, or a nil ctx, is an
// *InvalidError (ErrInvalid), and nothing is stopped.
//
// The Result says how the direct child ended, as for Kill: a child that
// exits during the grace reports Outcome Exited with its own code (exit
// 0 is success: it did what it was asked), or Signaled with the graceful
// signal if it died of it, Killed false; one that outlives the grace is
// killed: Outcome Signaled, Signal SIGKILL, Killed true, and Err is the
// *ExitError of a kill. The rest of the tree is killed all the same,
// with no effect on the Result.
//
// The run's monitor does the stopping, so a Stop never races the run's
// own end. Once the stop has begun the run's Timeout, IdleTimeout and
// context no longer apply; a Kill, its group's Close or its pipeline's
// end cut the grace short and kill at once. If the run was already
// ending when Stop came (its child had exited, or its Timeout, context,
// a Kill, its group, its pipeline or another Stop was ending it), Stop
// sends nothing and waits for that end: it returns the other Stop's
// report if a Stop did the ending (a later Stop's grace is ignored),
// else a report with nothing counted (Before 0, Drained true). On a run
// that has ended Stop returns such a report at once, with no error, as
// Kill returns nil there; Wait's Result says how the run ended.
//
// If ctx ends first Stop returns at once, with an error matching
// ErrTeardownNotConfirmed and ctx's error and a report with only Signal
// and Elapsed set; the stop goes on, and the tree is still killed when
// the grace ends. Elapsed is this call's duration, teardown included.
func (p *RunningProcess) Stop(ctx context.Context, grace time.Duration) (ShutdownReport, error) {
	if ctx == nil {
		return ShutdownReport{}, nilContext(p.cmd.name, "Stop")
	}
	if grace < 0 {
		return ShutdownReport{}, &InvalidError{Program: p.cmd.name, Reason: fmt.Sprintf("Stop was given a negative grace period (%v)", grace)}
	}
	began := time.Now()
	ended := ShutdownReport{Signal: p.stopSignal(), Drained: true}
	if closed(p.done) {
		ended.Elapsed = time.Since(began)
		return ended, nil
	}
	p.ends.send(endRequest{by: endByStop, grace: grace, late: p.hasExited()})
	select {
	case <-p.done:
	case <-ctx.Done():
		return ShutdownReport{Signal: p.stopSignal(), Elapsed: time.Since(began)},
			&contain.TeardownError{Mechanism: p.Mechanism(), Err: ctx.Err()}
	}
	rep := ended
	if p.stopped != nil {
		rep = *p.stopped
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// stopSignal is the signal Stop sends: the Cmd's Grace signal, unless
// it is none or os.Kill (nothing graceful about it), else the default.
func (p *RunningProcess) stopSignal() os.Signal {
	if g := p.cmd.grace; g.set && g.sig != nil && g.sig != os.Kill {
		return g.sig
	}
	return teardown.DefaultSignal
}

// stopGracefully is the monitor's side of Stop, for a run whose child has
// not exited: the graceful signal, a wait of up to grace for every
// member and the direct child to be gone (a Kill cuts it short), then
// the kill. It records the report in p.stopped and returns what stop
// does.
func (p *RunningProcess) stopGracefully(grace time.Duration) (escaped, killed bool) {
	rep := ShutdownReport{Signal: p.stopSignal()}
	pids, err := p.container.Pids()
	rep.Before, rep.After = len(pids), len(pids)
	p.log.Info("tether: stopping", "program", p.cmd.name, "pid", p.child.pid, "grace", grace, "members", rep.Before)
	// An empty tree has nothing to signal (as for Shutdown); the direct
	// child is then on its way out, or out of its container, and the
	// kill below deals with both. A zero grace signals nothing.
	if grace > 0 && (err != nil || len(pids) > 0) {
		serr := teardown.Graceful(rep.Signal, p.container.Signal, func() {
			rep.Signalled = true
			rep.After = awaitEmpty(p.container, grace, p.ends.hurry, p.hasExited)
		}, nil)
		rep.SignalErr = gracefulSignalErr(p.container.Mechanism(), serr)
	}
	// A Kill, the group's Close or the pipeline's end during the grace
	// killed the tree (or is about to): it did not drain, though it may
	// be empty by now. Read after the wait, so a tree that drained by
	// itself just before such a kill counts as killed: the report never
	// claims a drain that a kill did.
	cut := closed(p.ends.hurry) || closed(p.ends.groupKill)
	killed = !p.hasExited()
	escaped = p.kill()
	rep.Drained = rep.After == 0 && !killed && !cut
	rep.Escalated = !rep.Drained
	p.stopped = &rep
	p.log.Info("tether: stopped", "program", p.cmd.name, "pid", p.child.pid, "before", rep.Before, "after", rep.After,
		"escalated", rep.Escalated, "killed", killed)
	return escaped, killed
}

// gracefulSignalErr is SignalErr of a graceful stop whose signal was not
// delivered: teardown's error, or, where the system has no graceful
// signal, an error matching ErrUnsupported.
func gracefulSignalErr(m contain.Mechanism, err error) error {
	if errors.Is(err, teardown.ErrNoSignal) {
		return contain.Unsupported(m, "graceful signal", "a Job Object can only terminate its processes")
	}
	return err
}

// awaitEmpty polls ct's member count until it is zero (and gone, when not
// nil, reports true), grace has passed or cut is closed, and returns the
// last count.
func awaitEmpty(ct contain.Container, grace time.Duration, cut <-chan struct{}, gone func() bool) int {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	wait := 200 * time.Microsecond
	for {
		pids, err := ct.Pids()
		if err == nil && len(pids) == 0 && (gone == nil || gone()) {
			return 0
		}
		t := time.NewTimer(wait)
		select {
		case <-cut:
			t.Stop()
			return len(pids)
		case <-deadline.C:
			t.Stop()
			pids, _ = ct.Pids()
			return len(pids)
		case <-t.C:
		}
		wait = min(wait*2, 20*time.Millisecond)
	}
}
