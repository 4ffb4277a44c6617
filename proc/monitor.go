package proc

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/teardown"
)

// testHookMonitor, when set by a test, runs as a monitor starts: a test
// holds it to make the child's exit and a kill request both ready before
// the monitor looks at either.
var testHookMonitor func()

// testHookReleased, when set by a test, runs once the monitor has closed
// the container and before the Result is ready: a test holds it to look
// at the run in that window.
var testHookReleased func()

// monitor owns a run from its spawn to its Result: it waits for the end
// of the run, stops the tree when something other than the child ended
// it, tears the tree down, and publishes the Result. Teardown has this
// one owner: two goroutines killing the same container raced (a Kill
// polling cgroup.events while a Close removed the directory).
func (p *RunningProcess) monitor(ctx context.Context) {
	why := p.awaitEnd(ctx)
	why.await()
	p.stopping.Store(true)
	escaped, killed := false, false
	if p.hasExited() {
		// The child had already exited. A request made before that exit
		// was seen ended the run (a stage that read EOF because the
		// stage before it was just killed, a tree a wider kill reached
		// first); one made after it came too late, and the child's own
		// exit stands.
		if why.requested() && why.late {
			why = endRequest{}
		}
	} else {
		escaped, killed = p.stop(why)
	}
	<-p.child.exited

	began := time.Now()
	td := p.teardownTree(escaped)
	r := p.finish(p.ending(ctx, why, killed, td))
	for _, err := range r.CallbackErrors {
		attrs := []any{"program", r.Program, "pid", r.Pid, "err", err}
		var ce *CallbackError
		if errors.As(err, &ce) {
			attrs = append(attrs, "stack", string(ce.Stack))
		}
		p.log.Warn("tether: line callback panicked and was disabled", attrs...)
	}
	if p.log.Enabled(context.Background(), slog.LevelInfo) { // as Info asks
		p.log.Info("tether: exited", "program", r.Program, "pid", r.Pid, "mechanism", r.Mechanism,
			"outcome", r.Outcome.String(), "code", r.ExitCode, "signal", r.Signal,
			"duration", r.Duration, "teardown", time.Since(began))
	}
	p.publish(r, why.requested(), errors.Join(td.errs...))
}

// awaitEnd waits until the direct child exits (the zero endRequest) or
// the run must end first: an end request, the timeout, the idle timeout,
// the context, an overflow.
func (p *RunningProcess) awaitEnd(ctx context.Context) endRequest {
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
	for {
		select {
		case <-p.child.exited:
			select {
			case <-p.ends.arrived:
				// Both were ready; which one select picked must not
				// decide the outcome: the request's late flag does (see
				// monitor).
				return p.ends.first
			default:
				return endRequest{}
			}
		case <-idle:
			quiet := time.Since(p.streams.lastActivity())
			if quiet < c.lines.idle {
				idleTimer.Reset(c.lines.idle - quiet)
				continue
			}
			return endRequest{by: endByIdle}
		case <-timeout:
			return endRequest{by: endByTimeout}
		case <-ctx.Done():
			return endRequest{by: endByCancel}
		case <-p.streams.overflow:
			return endRequest{by: endByOverflow}
		case <-p.ends.arrived:
			return p.ends.first
		}
	}
}

// stop ends a run that has not ended by itself: a graceful signal to the
// tree and a wait of the grace period if the command asks for one (see
// teardown.Graceful), then the kill. It reports whether the direct child
// had left its container, and whether tether had to kill the direct
// child (false when it exited by itself during the grace period: the
// rest of the tree is killed all the same).
func (p *RunningProcess) stop(why endRequest) (escaped, killed bool) {
	c, pid := p.cmd, p.child.pid
	if why.by == endByStop {
		return p.stopGracefully(why.grace)
	}
	switch why.by {
	case endByTimeout, endByChainTimeout:
		p.log.Warn("tether: timeout", "program", c.name, "pid", pid, "after", c.timeout)
	case endByCancel:
		p.log.Warn("tether: cancelled", "program", c.name, "pid", pid)
	case endByIdle:
		p.log.Warn("tether: idle timeout", "program", c.name, "pid", pid, "after", c.lines.idle)
	case endByOverflow:
		p.log.Warn("tether: output over its cap", "program", c.name, "pid", pid)
	}
	// A kill (a request, an overflow) is never graceful; without a Grace
	// there is no signal to send, and the tree is killed at once.
	var sig os.Signal
	if c.grace.set && c.grace.period > 0 && why.graceful() {
		sig = c.grace.sig
	}
	_ = teardown.Graceful(sig, p.container.Signal, func() {
		t := time.NewTimer(c.grace.period)
		defer t.Stop()
		select {
		case <-p.child.exited:
		case <-t.C:
		case <-p.ends.hurry: // Kill cuts the grace short
		}
	}, func() {
		killed = !p.hasExited()
		escaped = p.kill()
	})
	return escaped, killed
}

// kill kills the tree and, by its own handle, the direct child, so a
// child moved out of its container (root can write its pid into another
// cgroup) cannot outlive its timeout. It reports whether the child had
// left its container.
//
// The kill comes first and the question after: a child still alive once
// its container has confirmed its whole tree dead is not in it. Asking
// first (listing the container's members) put a scan of /proc before
// the SIGKILL of a process group, 5 ms and more for a large tree.
func (p *RunningProcess) kill() (escaped bool) {
	tctx, cancel := teardown.Context()
	defer cancel()
	err := p.container.Kill(tctx)
	escaped = err == nil && p.outlivedContainer()
	p.child.kill()
	return escaped
}

// escapeSettle bounds how long outlivedContainer waits for a direct
// child that is still alive to turn out to be exiting.
const escapeSettle = 100 * time.Millisecond

// outlivedContainer reports whether the direct child is still alive
// although its container has just confirmed its whole tree dead:
// something moved it out (a write to another cgroup's cgroup.procs, a
// setpgid into another group). The child is not reaped yet, so its pid
// is its own; a zombie counts as dead. A child in the middle of its exit
// can still look alive for a moment, so one that does is given
// escapeSettle to finish exiting before it counts as gone.
func (p *RunningProcess) outlivedContainer() bool {
	if p.hasExited() || !sysproc.Alive(p.child.pid) {
		return false
	}
	t := time.NewTimer(escapeSettle)
	defer t.Stop()
	select {
	case <-p.child.exited:
		return false
	case <-t.C:
		return true
	}
}

// torn is what tearing a tree down found: its final usage, the Stdin
// reader's failure, and what went wrong (the tree's death not confirmed,
// an escaped child, the container not released).
type torn struct {
	usage    contain.Stats
	stdinErr error
	errs     []error
}

// teardownTree runs once the direct child is gone: it kills whatever the
// child left behind and confirms its death, reads the tree's final usage,
// lets the pipes drain, ends the stdin side, and releases the container.
func (p *RunningProcess) teardownTree(escaped bool) torn {
	tctx, cancel := teardown.Context()
	defer cancel()
	var td torn
	if err := p.container.Kill(tctx); err != nil && !errors.Is(err, contain.ErrClosed) {
		td.errs = append(td.errs, err)
	}
	if escaped {
		td.errs = append(td.errs, &EscapeError{Program: p.cmd.name, Pid: p.child.pid, Mechanism: p.container.Mechanism()})
	}
	td.usage, _ = p.container.Stats()
	// The tree is dead: a reader that fell behind must no longer hold the
	// drains back (Block applies only while the child can be throttled).
	p.streams.unblock()
	p.stdin.childGone()
	if p.streams.settle() {
		p.log.Warn("tether: output pipe not at EOF after the tree died; stopped reading (nothing was queued; a process outside the container may hold it)", "program", p.cmd.name, "pid", p.child.pid)
	}
	td.stdinErr = p.stdin.stop()
	close(p.releasing)
	if err := p.container.Close(tctx); err != nil {
		td.errs = append(td.errs, err)
	}
	if testHookReleased != nil {
		testHookReleased()
	}
	return td
}

// ending says how the run ended, from why the monitor ended it, the
// child's exit status and what the teardown found.
func (p *RunningProcess) ending(ctx context.Context, why endRequest, stopKilled bool, td torn) ending {
	code, sig := p.child.status()
	groupKilled := closed(p.ends.groupKill)
	killed := stopKilled || why.killed() || groupKilled
	if killed && sig == "" && (stopKilled || why.killed() || killLeavesNoSignal) {
		// Killed by tether (its timeout or context, RunningProcess.Kill,
		// its group or its pipeline) where the OS reports no signal
		// (Windows: TerminateJobObject sets exit code 1).
		sig = signalName(os.Kill)
	}
	outcome := why.outcome()
	if outcome == 0 {
		outcome = Exited
		if sig != "" {
			outcome = Signaled
		}
	}
	e := ending{outcome: outcome, code: code, signal: sig, killed: killed && sig != "", usage: td.usage, stdinErr: td.stdinErr}
	if outcome == Cancelled {
		e.cause = cancelCause(ctx)
	}
	return e
}

// Reads of the run by others than the monitor (Profile, Signal) go
// through these: once the monitor has begun to release the container,
// what the container says is about its removal, not about the run.

// isReleasing reports whether the monitor has begun to release the
// container.
func (p *RunningProcess) isReleasing() bool { return closed(p.releasing) }

// liveStats reads the tree's usage while the run lives; ok is false when
// the reading failed or was taken while the container was being released
// (a removed cgroup has no cpu.stat left).
func (p *RunningProcess) liveStats() (contain.Stats, bool) {
	st, err := p.container.Stats()
	// releasing is read after Stats: if it is still open, the container
	// was not yet being released when Stats read it.
	return st, err == nil && !p.isReleasing()
}
