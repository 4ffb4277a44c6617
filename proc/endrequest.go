package proc

import (
	"sync"
	"time"
)

// endReason says who or what ended a run that did not end by itself.
// The zero value is a run whose direct child exited by itself.
type endReason int

const (
	// Requests, from outside the monitor (RunningProcess.requestEnd).

	// endByKill: RunningProcess.Kill.
	endByKill endReason = iota + 1
	// endByGroup: the run's Group has killed its container (Close), and
	// asks the run to end in case its child was out of the kill's reach.
	endByGroup
	// endByChain: the run's pipeline ended it (Kill, FailFast).
	endByChain
	// endByChainTimeout: the run's pipeline's own Timeout fired.
	endByChainTimeout
	// endByStop: RunningProcess.Stop, a graceful stop of its own grace
	// period (endRequest.grace).
	endByStop

	// The monitor's own reasons.

	// endByTimeout: the Cmd's Timeout fired.
	endByTimeout
	// endByIdle: the Cmd's IdleTimeout fired.
	endByIdle
	// endByCancel: the run's context ended.
	endByCancel
	// endByOverflow: output passed a cap under CapFail, or a line reader
	// under FailOverflow.
	endByOverflow
)

// endRequest is why a run ends early: a request another part of proc
// sent, or a reason the monitor saw itself. The zero value is a run that
// ended by itself.
type endRequest struct {
	by endReason
	// late says the child's exit had already been seen when the request
	// was decided: the request came too late, and the child's own exit
	// stands.
	late bool
	// grace is a Stop's grace period.
	grace time.Duration
	// delivered, when not nil, is closed once every run that a batch of
	// requests (requestEnds) asks has its request: no run acts on its
	// own before the others have theirs (see requestEnds).
	delivered chan struct{}
}

// await returns once every request of r's batch has been delivered.
func (r endRequest) await() {
	if r.delivered != nil {
		<-r.delivered
	}
}

// requested reports a request from outside the monitor.
func (r endRequest) requested() bool { return r.by >= endByKill && r.by <= endByStop }

// outcome is the Outcome the run reports for r; 0 when it reports how
// the child ended (a kill, an overflow, the child's own exit).
func (r endRequest) outcome() Outcome {
	switch r.by {
	case endByChainTimeout, endByTimeout:
		return TimedOut
	case endByIdle:
		return IdleTimedOut
	case endByCancel:
		return Cancelled
	}
	return 0
}

// killed reports a kill that the run must report as one (Signaled,
// SIGKILL) even where the OS reports no signal (Windows:
// TerminateJobObject leaves exit code 1).
func (r endRequest) killed() bool {
	return r.by == endByKill || r.by == endByGroup || r.by == endByChain
}

// A group's kill is two messages to each of its runs: before it kills
// the container, a notice that it is killing the run (noteGroupKill), so
// that where the OS reports no signal the run still reports a kill, even
// when the kill reaches the child before any request could; and after
// the kill, from Close, an end request (endByGroup) for a run whose child
// the kill did not reach.

// graceful reports whether the Cmd's Grace applies: to a timeout or a
// cancellation, never to a kill or an overflow.
func (r endRequest) graceful() bool { return r.outcome() != 0 }

// endRequests is a run's mailbox of end requests. Only the first request
// counts; it is set before arrived is closed (which newRun makes). Every
// request but a Stop, first or not, also closes hurry, which cuts a grace
// period under way short: a Kill during a Stop's grace, or during the
// grace of a timeout, kills at once, while a Stop that comes during a
// grace leaves it to run its course. The mailbox also takes a group's
// notice that it is killing the run (groupKill, closed once).
type endRequests struct {
	once    sync.Once
	arrived chan struct{}
	first   endRequest

	hurryOnce sync.Once
	hurry     chan struct{}

	groupOnce sync.Once
	groupKill chan struct{}
}

// send delivers r unless a request came first.
func (e *endRequests) send(r endRequest) {
	e.once.Do(func() {
		e.first = r
		close(e.arrived)
	})
	if r.by != endByStop {
		e.hurryOnce.Do(func() { close(e.hurry) })
	}
}

// requestEnd asks the run's monitor to end the run, for the reason by,
// and returns at once. late says whether the child's exit had already
// been seen when the request was decided (see requestEnds for why a
// caller may decide it before it asks). Only the first request counts.
func (p *RunningProcess) requestEnd(by endReason, late bool) {
	p.ends.send(endRequest{by: by, late: late})
}

// noteGroupKill tells the run that its group is killing it: the run then
// reports that kill as Signaled (SIGKILL) where the OS reports no signal
// (killLeavesNoSignal), whatever its child's exit status says.
func (p *RunningProcess) noteGroupKill() {
	p.ends.groupOnce.Do(func() { close(p.ends.groupKill) })
}

// requestEnds asks every run but skip (-1: none) to end, for the reason
// by. Whether each run's exit had already been seen is read for all of
// them before the first is asked: ending one run can make another exit
// (a pipeline's cat reads EOF once the stage before it is killed), and
// that exit is the request's doing, not the run's own.
//
// No run acts on its request before every run has one: otherwise the
// owner's goroutine, preempted between two sends on a loaded machine,
// let the first stage be killed and the next one read EOF and exit
// before its own request arrived, and that exit read as the stage's own
// (seen under Wine on CI, a chain timeout reported as a clean exit).
func requestEnds(runs []*RunningProcess, by endReason, skip int) {
	late := make([]bool, len(runs))
	for j, q := range runs {
		late[j] = q.hasExited()
	}
	delivered := make(chan struct{})
	defer close(delivered)
	for j, q := range runs {
		if j != skip {
			q.ends.send(endRequest{by: by, late: late[j], delivered: delivered})
			if testHookRequested != nil {
				testHookRequested(j)
			}
		}
	}
}

// testHookRequested, when set, runs in requestEnds after the request to
// runs[j] is sent: a test stands in there for a preempted owner.
var testHookRequested func(j int)

// hasExited reports whether the direct child's exit has been seen.
func (p *RunningProcess) hasExited() bool { return p.child.hasExited() }
