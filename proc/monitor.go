package proc

import (
	"context"
	"errors"
	"os"
	"slices"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/teardown"
)

const (
	// drainTimeout bounds the wait for pipes to reach EOF once the tree
	// is confirmed dead. Only a process outside the container (a setsid
	// escapee under pgid) can hold a pipe that long.
	drainTimeout = 250 * time.Millisecond
	// drainLimit bounds the whole drain when bytes keep arriving in a
	// pipe after the tree is dead (a holder outside the container that
	// keeps writing).
	drainLimit = 5 * time.Second
)

// testHookMonitor, when set by a test, runs as a monitor starts: a test
// holds it to make the child's exit and a kill request both ready before
// the monitor looks at either.
var testHookMonitor func()

// testHookReleased, when set by a test, runs once the monitor has closed
// the container and before the Result is ready: a test holds it to look
// at the run in that window.
var testHookReleased func()

// monitor waits for the end of the run, tears the tree down and builds
// the Result.
func (p *RunningProcess) monitor(ctx context.Context) {
	c := p.cmd
	var timeout <-chan time.Time
	if c.timeout > 0 {
		t := time.NewTimer(c.timeout)
		defer t.Stop()
		timeout = t.C
	}
	var idle <-chan time.Time
	var idleTimer *time.Timer
	if c.lines.idle > 0 {
		idleTimer = time.NewTimer(c.lines.idle)
		defer idleTimer.Stop()
		idle = idleTimer.C
	}
	if testHookMonitor != nil {
		testHookMonitor()
	}
	var outcome Outcome
	tooLarge, killed, viaReq := false, false, false
	requested := func() {
		viaReq = true
		if outcome = p.reqOutcome; outcome == 0 {
			killed = true
		}
	}
wait:
	select {
	case <-p.exited:
		select {
		case <-p.killReq:
			// Both were ready; which one select picked must not decide
			// the outcome. The check below does.
			requested()
		default:
		}
	case <-idle:
		quiet := time.Since(time.Unix(0, p.activity.Load()))
		if quiet < c.lines.idle {
			idleTimer.Reset(c.lines.idle - quiet)
			goto wait
		}
		outcome = IdleTimedOut
	case <-timeout:
		outcome = TimedOut
	case <-ctx.Done():
		outcome = Cancelled
	case <-p.tooLarge:
		tooLarge = true
	case <-p.killReq:
		requested()
	}
	select {
	case <-p.exited:
		// The child had already exited. A request made before that exit
		// was seen ended the run (a stage that read EOF because the
		// stage before it was just killed, a tree a wider kill reached
		// first); one made after it came too late, and the child's own
		// exit stands.
		if viaReq && p.reqLate {
			viaReq, killed, outcome = false, false, 0
		}
		p.byRequest = viaReq
	default:
		p.byRequest = viaReq
		p.stop(outcome, tooLarge)
	}
	<-p.exited

	// The direct child is gone: kill whatever it left behind, confirm.
	tctx, cancel := teardown.Context()
	defer cancel()
	began := time.Now()
	var errs []error
	if err := p.container.Kill(tctx); err != nil && !errors.Is(err, contain.ErrClosed) {
		errs = append(errs, err)
	}
	if p.escaped.Load() {
		errs = append(errs, &EscapeError{Program: c.name, Pid: p.pid, Mechanism: p.container.Mechanism()})
	}
	usage, _ := p.container.Stats()
	// The tree is dead: a reader that fell behind must no longer hold the
	// drains back (Block applies only while the child can be throttled).
	p.hub.unblock()
	p.stdin.shut()
	if p.feeder != nil {
		// The child is gone: a source failing from now on failed no one.
		p.feeder.ended.Store(true)
	}
	if p.stdinW != nil {
		p.stdinW.Close() // a feeder blocked in a write returns at once
	}
	drained := make(chan struct{})
	go func() { p.drains.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		p.cutDrains(drained)
	}
	var stdinErr error
	if p.feeder != nil && p.feeder.stop() {
		stdinErr = p.feeder.err
	}
	p.releasing.Store(true)
	if err := p.container.Close(tctx); err != nil {
		errs = append(errs, err)
	}
	if testHookReleased != nil {
		testHookReleased()
	}
	code, sig := -1, ""
	if ps := p.ecmd.ProcessState; ps != nil {
		code, sig = exitStatus(ps)
	}
	if (killed || (p.groupKill.Load() && killLeavesNoSignal)) && sig == "" {
		// Killed through RunningProcess.Kill, or by its group, where the
		// OS reports no signal (Windows: TerminateJobObject sets exit
		// code 1).
		sig = signalName(os.Kill)
	}
	if outcome == 0 {
		outcome = Exited
		if sig != "" {
			outcome = Signaled
		}
	}
	e := ending{outcome: outcome, code: code, signal: sig, usage: usage, stdinErr: stdinErr}
	if outcome == Cancelled {
		e.cause = cancelCause(ctx)
	}
	r := p.finish(e)
	for _, err := range r.CallbackErrors {
		p.log.Warn("tether: line callback panicked and was disabled", "program", c.name, "pid", p.pid, "err", err)
	}
	p.log.Info("tether: exited", "program", c.name, "pid", p.pid, "mechanism", r.Mechanism,
		"outcome", r.Outcome.String(), "code", r.ExitCode, "signal", r.Signal,
		"duration", r.Duration, "teardown", time.Since(began))
	p.publish(r, errors.Join(errs...))
}

// cutDrains runs once the tree is dead but the drains have not reached
// EOF within drainTimeout. Either someone outside the container holds a
// pipe's write end (an escapee of a process group), and reading must stop
// rather than wait forever; or the host is so loaded that the readers
// have not caught up, and stopping would lose output. Bytes still queued
// in a pipe tell the two apart: reading stops only once every pipe is
// empty (nothing is lost then: an empty pipe whose writers are all dead
// would only give EOF), or after drainLimit whatever is queued, against a
// holder that keeps writing.
func (p *RunningProcess) cutDrains(drained <-chan struct{}) {
	deadline := time.Now().Add(drainLimit - drainTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		queued := 0
		for _, r := range p.reads {
			if n, ok := pendingBytes(r); ok {
				queued += n
			}
		}
		if queued == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-drained:
			return
		case <-tick.C:
		}
	}
	for _, r := range p.reads {
		r.Close()
	}
	<-drained
	p.log.Warn("tether: output pipe not at EOF after the tree died; stopped reading (nothing was queued; a process outside the container may hold it)", "program", p.cmd.name, "pid", p.pid)
}

// stop ends a run that has not ended by itself: a graceful signal to the
// tree and a wait of the grace period if the command asks for one, then
// the kill.
func (p *RunningProcess) stop(outcome Outcome, tooLarge bool) {
	c := p.cmd
	switch {
	case outcome == TimedOut:
		p.log.Warn("tether: timeout", "program", c.name, "pid", p.pid, "after", c.timeout)
	case outcome == Cancelled:
		p.log.Warn("tether: cancelled", "program", c.name, "pid", p.pid)
	case outcome == IdleTimedOut:
		p.log.Warn("tether: idle timeout", "program", c.name, "pid", p.pid, "after", c.lines.idle)
	case tooLarge:
		p.log.Warn("tether: output over its cap", "program", c.name, "pid", p.pid)
	}
	// A kill (a request, an overflow) is never graceful; without a Grace
	// there is no signal to send, and the tree is killed at once.
	var sig os.Signal
	if c.grace.set && c.grace.period > 0 && outcome != 0 {
		sig = c.grace.sig
	}
	_ = teardown.Graceful(sig, p.container.Signal, func() {
		t := time.NewTimer(c.grace.period)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
		case <-p.killReq: // Kill cuts the grace short
		}
	}, p.kill)
}

// kill kills the tree and the direct child, and notes whether the child
// had left its container.
func (p *RunningProcess) kill() {
	tctx, cancel := teardown.Context()
	defer cancel()
	left := p.leftContainer()
	_ = p.container.Kill(tctx)
	// The direct child is ours whatever container it is in now: kill it
	// by its own handle too (a pidfd on Linux, a process handle on
	// Windows), so a child moved out of its container (root can write
	// its pid into another cgroup) cannot outlive its timeout. It is not
	// reaped yet, so its pid names no one else.
	_ = p.ecmd.Process.Kill()
	if left {
		p.escaped.Store(true)
	}
}

// escapeSettle bounds how long leftContainer waits for a direct child
// that its container no longer lists to turn out to be exiting.
const escapeSettle = 100 * time.Millisecond

// leftContainer reports whether the direct child, still alive, is no
// longer a member of the run's container: something moved it out (a
// write to another cgroup's cgroup.procs, a setpgid into another group).
// A child in the middle of its exit is briefly listed nowhere (a cgroup
// drops it before it becomes a zombie), so an unlisted child is given
// escapeSettle to finish exiting before it counts as gone.
func (p *RunningProcess) leftContainer() bool {
	if p.hasExited() {
		return false
	}
	pids, err := p.container.Pids()
	if err != nil || slices.Contains(pids, p.pid) {
		return false
	}
	t := time.NewTimer(escapeSettle)
	defer t.Stop()
	select {
	case <-p.exited:
		return false
	case <-t.C:
		return true
	}
}
