// Package supervise keeps a command running: it starts it, waits for it,
// and starts it again as its Options say, with backoff, a crash-loop
// guard and health checks. Every incarnation is a fresh process in a
// fresh container (a proc run), and its whole tree is confirmed dead
// before the next one starts.
//
//	s := supervise.Start(ctx, proc.Command("worker", "--queue", "jobs"), supervise.Options{
//		Restart:     supervise.Always,
//		MaxRestarts: 10,
//	})
//	defer s.Stop(context.Background(), 10*time.Second)
//
// The package is built on proc's public API alone (Cmd.Start, the
// RunningProcess handle, and Cmd.Spec for the Cmd's grace signal and
// logger), as net/http/httputil's ReverseProxy is built on net/http.
package supervise

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/teardown"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/retry"
)

// RestartPolicy says after which runs a Supervisor starts the command
// again.
type RestartPolicy int

// The restart policies. The zero value is OnFailure.
const (
	// OnFailure restarts after a run that did not succeed (proc.Result.Success
	// is false, the start failed, or the health check killed it).
	OnFailure RestartPolicy = iota
	// Always restarts after every run, successful or not.
	Always
	// Never runs the command once.
	Never
)

// String returns the policy's name.
func (p RestartPolicy) String() string {
	switch p {
	case OnFailure:
		return "on failure"
	case Always:
		return "always"
	case Never:
		return "never"
	}
	return "RestartPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Defaults of Options.
const (
	DefaultHealthyAfter   = 10 * time.Second
	DefaultGuardThreshold = 5.0
	DefaultGuardHalfLife  = time.Minute
	DefaultGuardPause     = time.Minute
	DefaultHealthInterval = 10 * time.Second
	DefaultHealthFailures = 3
)

// Options configure a Supervisor (Start). The zero value restarts a
// failing child without limit, with retry's default backoff, the
// crash-loop guard at its defaults and no health check.
type Options struct {
	// Restart says which runs are followed by another (OnFailure by
	// default).
	Restart RestartPolicy

	// MaxRestarts is the most restarts in a row without a healthy run in
	// between; once it is reached, the next run that would be restarted
	// ends the supervision with a *GaveUpError instead. Zero means no
	// limit. A healthy run (see HealthyAfter) starts the count over, so a
	// long-lived worker that crashes once a day is not given up on.
	MaxRestarts int

	// Backoff computes the wait before each restart, as retry.Policy.Delay
	// does (n = 1 for the first restart after a healthy run or the start).
	// Nil means retry's default: exponential from 100 ms doubling to 10 s,
	// with full jitter. A healthy run starts it over at n = 1.
	Backoff retry.Backoff

	// HealthyAfter is how long a run must last (proc.Result.Duration) to count
	// as healthy, however it ended. Zero means DefaultHealthyAfter (10 s).
	HealthyAfter time.Duration

	// The crash-loop guard keeps a failure score: each failed run adds 1
	// and the score halves every GuardHalfLife. When a failure lifts it
	// above GuardThreshold, the supervisor pauses once for GuardPause
	// (instead of the backoff wait) and starts over with a score of 0; the
	// next trip gives up. A healthy run clears the score and re-arms the
	// pause. Zero values mean DefaultGuardThreshold (5),
	// DefaultGuardHalfLife (1 min) and DefaultGuardPause (1 min); a
	// negative GuardThreshold turns the guard off.
	GuardThreshold float64
	GuardHalfLife  time.Duration
	GuardPause     time.Duration

	// StopWhen, when set, is asked about every proc.Result (not about a failed
	// start, which has none); true ends the supervision as finished, with
	// no restart and no error from Wait.
	StopWhen func(*proc.Result) bool

	// Health, when its Check is set, checks every running incarnation.
	Health HealthCheck

	// Clock is the time source for every wait of the supervisor (backoff,
	// pause, health interval, stop grace) and for the guard's decay. Nil
	// means the real clock; tests set a fake one to check exact delays.
	Clock Clock
}

// HealthCheck checks a running child. After Failures checks in a row
// fail, the tree is killed (proc.Result.Outcome Signaled), and the run
// counts as failed: it is restarted under OnFailure and Always.
type HealthCheck struct {
	// Check is called with the running process every Interval, first one
	// Interval after the start. A non-nil error is a failed check. It gets
	// a context that ends after Timeout or when the run ends.
	Check func(ctx context.Context, p *proc.RunningProcess) error
	// Interval between checks; zero means DefaultHealthInterval (10 s).
	Interval time.Duration
	// Timeout of one check; zero means Interval.
	Timeout time.Duration
	// Failures in a row that make the child unhealthy; zero means
	// DefaultHealthFailures (3).
	Failures int
}

// Clock is the time a Supervisor reads and waits on.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// State is where a Supervisor is in its life.
type State int

// The states. Stopped, GaveUp and Finished are final.
const (
	// Starting: an incarnation is being started.
	Starting State = iota + 1
	// Running: an incarnation runs.
	Running
	// Restarting: waiting out the backoff before the next start.
	Restarting
	// Paused: the crash-loop guard tripped; waiting out GuardPause.
	Paused
	// Stopping: Stop was called; the tree is being stopped.
	Stopping
	// Stopped: ended by Stop or by the context.
	Stopped
	// GaveUp: ended by MaxRestarts, the crash-loop guard or an invalid
	// command.
	GaveUp
	// Finished: the restart policy or StopWhen said no further run.
	Finished
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Running:
		return "running"
	case Restarting:
		return "restarting"
	case Paused:
		return "paused"
	case Stopping:
		return "stopping"
	case Stopped:
		return "stopped"
	case GaveUp:
		return "gave up"
	case Finished:
		return "finished"
	}
	return "unknown"
}

// Status is a snapshot of a Supervisor.
type Status struct {
	State State
	// Pid is the running incarnation's direct child, 0 when none runs.
	Pid int
	// Runs counts the incarnations started (or attempted); Restarts is
	// Runs - 1 once the first has started.
	Runs, Restarts int
	// Last is the Result of the most recent run that ended (nil before
	// one has). Earlier Results are not kept: each incarnation's capture
	// is bounded by the Cmd's caps and dropped when the next one ends.
	Last *proc.Result
	// LastErr is the error of the most recent run: its exit error, or why
	// it could not start.
	LastErr error
}

// ErrGaveUp means a Supervisor gave up on its command (see *GaveUpError).
var ErrGaveUp = errors.New("supervise: gave up")

// GaveUpError says why a Supervisor gave up. It matches ErrGaveUp and the
// last run's error.
type GaveUpError struct {
	Program  string
	Reason   string // "max restarts", "crash loop" or "invalid command"
	Restarts int
	Err      error // the last run's error
}

func (e *GaveUpError) Error() string {
	s := "supervise: gave up on " + strconv.Quote(e.Program) + ": " + e.Reason +
		" after " + strconv.Itoa(e.Restarts) + " restarts"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrGaveUp and the last run's error.
func (e *GaveUpError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrGaveUp}
	}
	return []error{ErrGaveUp, e.Err}
}

// EventKind says what a Event reports.
type EventKind int

// The lifecycle events, in the order one incarnation produces them.
const (
	// EventStarted: an incarnation started (Pid, Run).
	EventStarted EventKind = iota + 1
	// EventStartFailed: an incarnation could not start (Err).
	EventStartFailed
	// EventUnhealthy: the health check failed Failures times; the
	// tree is being killed (Pid, Err: the last check's error).
	EventUnhealthy
	// EventExited: an incarnation ended and its tree is dead (Pid,
	// Result).
	EventExited
	// EventRestarting: the next start follows after Delay.
	EventRestarting
	// EventPaused: the crash-loop guard tripped; the next start
	// follows after Delay.
	EventPaused
	// EventGaveUp: the supervision ended with a *GaveUpError (Err).
	EventGaveUp
	// EventStopped: the supervision ended by Stop or the context.
	EventStopped
	// EventFinished: the restart policy or StopWhen ended it.
	EventFinished
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventStartFailed:
		return "start failed"
	case EventUnhealthy:
		return "unhealthy"
	case EventExited:
		return "exited"
	case EventRestarting:
		return "restarting"
	case EventPaused:
		return "paused"
	case EventGaveUp:
		return "gave up"
	case EventStopped:
		return "stopped"
	case EventFinished:
		return "finished"
	}
	return "unknown"
}

// Event is one lifecycle event of a Supervisor.
type Event struct {
	Kind EventKind
	Time time.Time // by the supervisor's Clock
	Run  int       // the incarnation, 1 for the first
	Pid  int
	// Result is set on EventExited.
	Result *proc.Result
	// Delay is set on EventRestarting and EventPaused.
	Delay time.Duration
	// Err is set on EventStartFailed, EventUnhealthy, EventGaveUp, and
	// on EventStopped by a context.
	Err error
	// Dropped counts the events this reader lost just before this one
	// because it fell more than EventBuffer events behind.
	Dropped int
}

// EventBuffer is how many recent events a Supervisor keeps for its
// readers.
const EventBuffer = 256

// Supervisor keeps a command running in a fresh container per
// incarnation. Its methods are safe for concurrent use.
type Supervisor struct {
	cmd  *proc.Cmd
	name string // the program, as Cmd.Name says
	opts Options
	clk  Clock
	log  *slog.Logger

	// stopReq ends when Stop is called; stopGrace is set before.
	stopReq   context.Context
	stopNow   context.CancelFunc
	stopOnce  sync.Once
	stopGrace time.Duration
	done      chan struct{}

	mu      sync.Mutex
	status  Status
	final   error
	events  []Event       // the last EventBuffer
	base    int           // sequence number of events[0]
	changed chan struct{} // closed and replaced on every event
	closed  bool
}

// Start starts c under supervision and returns at once; the first
// incarnation starts in the background. Every incarnation is a fresh
// process in a fresh container, started with ctx (c.Start); its whole
// tree is dead before the next one starts.
//
// ctx ending is terminal: the running incarnation is stopped as its
// context ending always stops a run (with the Cmd's Grace, if set, else
// killed at once), no restart follows, and Wait returns ctx's error. An
// invalid command or options (a nil c or ctx included) end the
// supervision at once with a *GaveUpError matching proc.ErrInvalid (or,
// for what Cmd.Validate rejects otherwise, contain.ErrInvalidLimit or
// proc.ErrUnsupported): no restart could start it.
//
// Each lifecycle event is logged as one event to the Cmd's Logger (with
// program, run, pid, outcome, delay; never arguments, environment or
// output), besides the Cmd's own spawn and exit events.
func Start(ctx context.Context, c *proc.Cmd, opts Options) *Supervisor {
	spec := c.Spec()
	s := &Supervisor{
		cmd: c, name: spec.Name, opts: opts, clk: opts.Clock, log: spec.Logger,
		done: make(chan struct{}), changed: make(chan struct{}),
	}
	s.stopReq, s.stopNow = context.WithCancel(context.Background())
	if s.clk == nil {
		s.clk = realClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	switch {
	case c == nil:
		err = &proc.InvalidError{Reason: "nil *Cmd"}
	case ctx == nil:
		err = nilContext(s.name, "supervise.Start")
	}
	if err != nil {
		// Given up before the loop starts: a nil context must not crash
		// the loop's goroutine.
		gerr := &GaveUpError{Program: s.name, Reason: "invalid command", Err: err}
		s.end(Event{Kind: EventGaveUp, Err: gerr}, GaveUp, gerr)
		return s
	}
	go s.loop(ctx)
	return s
}

// nilContext is the error of an entry point given a nil context.Context,
// worded as proc words its own.
func nilContext(program, entry string) error {
	return &proc.InvalidError{Program: program, Reason: entry + " was given a nil context.Context"}
}

func (o Options) validate() string {
	switch {
	case o.Restart < OnFailure || o.Restart > Never:
		return "unknown restart policy"
	case o.MaxRestarts < 0:
		return "negative maximum of restarts"
	case o.HealthyAfter < 0 || o.GuardHalfLife < 0 || o.GuardPause < 0:
		return "negative supervisor duration"
	case o.Health.Interval < 0 || o.Health.Timeout < 0 || o.Health.Failures < 0:
		return "negative health check setting"
	}
	return ""
}

// withDefaults fills in the zero options (a negative GuardThreshold
// stays: it turns the guard off).
func (o Options) withDefaults() Options {
	o.HealthyAfter = cmp.Or(o.HealthyAfter, DefaultHealthyAfter)
	o.GuardThreshold = cmp.Or(o.GuardThreshold, DefaultGuardThreshold)
	o.GuardHalfLife = cmp.Or(o.GuardHalfLife, DefaultGuardHalfLife)
	o.GuardPause = cmp.Or(o.GuardPause, DefaultGuardPause)
	o.Health.Interval = cmp.Or(o.Health.Interval, DefaultHealthInterval)
	o.Health.Timeout = cmp.Or(o.Health.Timeout, o.Health.Interval)
	o.Health.Failures = cmp.Or(o.Health.Failures, DefaultHealthFailures)
	return o
}

// Status returns a snapshot of the supervisor.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Done returns a channel closed once the supervision has ended (Stopped,
// GaveUp or Finished) and the last tree is dead.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Wait waits for the supervision to end and returns the final Status and
// error: nil after Stop, after StopWhen matched, or when the last run
// succeeded; a *GaveUpError when it gave up; ctx's error (with its cause)
// when the context given to Start ended; the last run's error when the restart
// policy ended it after a failure (Never). If Wait's own ctx ends first it
// returns the current Status and ctx's error; the supervision goes on.
func (s *Supervisor) Wait(ctx context.Context) (Status, error) {
	if ctx == nil {
		return s.Status(), nilContext(s.cmd.String(), "Supervisor.Wait")
	}
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.status, s.final
	case <-ctx.Done():
		return s.Status(), ctx.Err()
	}
}

// Stop ends the supervision: no restart follows, and the running
// incarnation (if any) is sent a graceful signal (the Cmd's Grace signal,
// else SIGTERM) to its whole tree, given up to grace to exit, then
// killed. A grace of 0 kills at once. Where the mechanism cannot deliver
// the signal (Windows has no signals) the tree is killed at once.
//
// Stop returns once the supervision has ended and the tree is dead, or
// with ctx's error if ctx ends first (the stop goes on; Wait reports its
// end). Stopping an ended supervisor does nothing.
func (s *Supervisor) Stop(ctx context.Context, grace time.Duration) error {
	if ctx == nil {
		return nilContext(s.cmd.String(), "Supervisor.Stop")
	}
	s.stopOnce.Do(func() {
		s.stopGrace = grace
		s.stopNow()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Events returns the lifecycle events. Each iteration is a reader of its
// own: it sees the recent events (up to the last EventBuffer,
// so usually all of them from the start), then every new one, and ends
// after the final event (EventStopped, EventGaveUp or
// EventFinished). Readers never slow the supervisor: a reader more
// than EventBuffer events behind loses the oldest, counted in
// the Dropped field of the next event it gets.
func (s *Supervisor) Events() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		next := 0
		for {
			s.mu.Lock()
			dropped := 0
			if next < s.base {
				dropped, next = s.base-next, s.base
			}
			if next < s.base+len(s.events) {
				ev := s.events[next-s.base]
				s.mu.Unlock()
				next++
				ev.Dropped = dropped
				if !yield(ev) {
					return
				}
				continue
			}
			closed, changed := s.closed, s.changed
			s.mu.Unlock()
			if closed {
				return
			}
			<-changed
		}
	}
}

// publish records ev, applies set to the status under the same lock, and
// logs the event.
func (s *Supervisor) publish(ev Event, set func(*Status)) {
	ev.Time = s.clk.Now()
	s.mu.Lock()
	if set != nil {
		set(&s.status)
	}
	s.events = append(s.events, ev)
	if len(s.events) > EventBuffer {
		n := len(s.events) - EventBuffer
		s.events = append(s.events[:0:0], s.events[n:]...)
		s.base += n
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	attrs := []any{"program", s.name, "run", ev.Run}
	level := slog.LevelInfo
	switch ev.Kind {
	case EventStarted:
		attrs = append(attrs, "pid", ev.Pid)
	case EventExited:
		r := ev.Result
		attrs = append(attrs, "pid", ev.Pid, "outcome", r.Outcome.String(), "code", r.ExitCode, "signal", r.Signal, "duration", r.Duration)
	case EventRestarting, EventPaused:
		attrs = append(attrs, "delay", ev.Delay)
		level = slog.LevelWarn
	case EventUnhealthy:
		attrs = append(attrs, "pid", ev.Pid)
		level = slog.LevelWarn
	case EventStartFailed, EventGaveUp:
		// Start and give-up errors name the program and the reason, not
		// output; exit errors are not logged (their tails are output).
		var ee *proc.ExitError
		if ev.Err != nil && !errors.As(ev.Err, &ee) {
			attrs = append(attrs, "err", ev.Err)
		}
		level = slog.LevelError
	}
	s.log.Log(context.Background(), level, "tether: supervisor "+ev.Kind.String(), attrs...)
}

// end publishes the final event and releases Wait and the readers.
func (s *Supervisor) end(ev Event, state State, final error) {
	s.publish(ev, func(st *Status) { st.State, st.Pid = state, 0 })
	s.mu.Lock()
	s.final = final
	s.closed = true
	s.mu.Unlock()
	close(s.done)
}

func (s *Supervisor) setState(state State) {
	s.mu.Lock()
	s.status.State = state
	s.mu.Unlock()
}

// sleep waits d on the clock; false when the supervision must end first.
func (s *Supervisor) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-s.clk.After(d):
		return ctx.Err() == nil && !s.stopping()
	case <-ctx.Done():
		return false
	case <-s.stopReq.Done():
		return false
	}
}

// stopping reports whether Stop was called.
func (s *Supervisor) stopping() bool { return s.stopReq.Err() != nil }

// stopped ends the supervision by Stop or ctx.
func (s *Supervisor) stopped(ctx context.Context, run int) {
	var err error
	if ctx.Err() != nil && !s.stopping() {
		err = ctx.Err()
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, err) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
	}
	s.end(Event{Kind: EventStopped, Run: run, Err: err}, Stopped, err)
}

func (s *Supervisor) loop(ctx context.Context) {
	o := s.opts.withDefaults()
	name := s.name
	if reason := s.opts.validate(); reason != "" {
		err := &GaveUpError{Program: name, Reason: "invalid command", Err: &proc.InvalidError{Program: name, Reason: reason}}
		s.end(Event{Kind: EventGaveUp, Err: err}, GaveUp, err)
		return
	}
	backoff := retry.Policy{Backoff: o.Backoff}
	var (
		streak  int // restarts since the last healthy run
		prev    time.Duration
		score   float64
		scoreAt time.Time
		tripped bool
	)
	for run := 1; ; run++ {
		if ctx.Err() != nil || s.stopping() {
			s.stopped(ctx, run-1)
			return
		}
		s.mu.Lock()
		s.status.State, s.status.Runs = Starting, run
		s.status.Restarts = run - 1
		s.mu.Unlock()

		r, unhealthy, err := s.runOnce(ctx, run, o)
		if neverStarts(err) {
			gerr := &GaveUpError{Program: name, Reason: "invalid command", Restarts: run - 1, Err: err}
			s.end(Event{Kind: EventGaveUp, Run: run, Err: gerr}, GaveUp, gerr)
			return
		}
		if ctx.Err() != nil || s.stopping() {
			s.stopped(ctx, run)
			return
		}
		if r != nil && o.StopWhen != nil && o.StopWhen(r) {
			s.end(Event{Kind: EventFinished, Run: run}, Finished, nil)
			return
		}
		failed := r == nil || !r.Success() || unhealthy
		if o.Restart == Never || (o.Restart == OnFailure && !failed) {
			s.end(Event{Kind: EventFinished, Run: run}, Finished, err)
			return
		}
		if r != nil && r.Duration >= o.HealthyAfter {
			streak, prev, score, tripped = 0, 0, 0, false
		}
		if o.MaxRestarts > 0 && streak >= o.MaxRestarts {
			gerr := &GaveUpError{Program: name, Reason: "max restarts", Restarts: run - 1, Err: err}
			s.end(Event{Kind: EventGaveUp, Run: run, Err: gerr}, GaveUp, gerr)
			return
		}
		streak++
		kind, delay := EventRestarting, time.Duration(0)
		if failed && o.GuardThreshold > 0 {
			now := s.clk.Now()
			if score > 0 {
				score *= math.Exp2(-float64(now.Sub(scoreAt)) / float64(o.GuardHalfLife))
			}
			score, scoreAt = score+1, now
			if score > o.GuardThreshold {
				if tripped {
					gerr := &GaveUpError{Program: name, Reason: "crash loop", Restarts: run - 1, Err: err}
					s.end(Event{Kind: EventGaveUp, Run: run, Err: gerr}, GaveUp, gerr)
					return
				}
				tripped, score = true, 0
				kind, delay = EventPaused, o.GuardPause
			}
		}
		if kind == EventRestarting {
			delay = backoff.Delay(streak, prev, err)
			prev = delay
		}
		state := Restarting
		if kind == EventPaused {
			state = Paused
		}
		s.publish(Event{Kind: kind, Run: run, Delay: delay}, func(st *Status) { st.State = state })
		if !s.sleep(ctx, delay) {
			s.stopped(ctx, run)
			return
		}
	}
}

// neverStarts reports a run error that every restart would repeat: the
// command is malformed (proc.ErrInvalid, an invalid limit) or asks for
// what cannot be done here (proc.ErrUnsupported).
func neverStarts(err error) bool {
	var ie *proc.InvalidError
	return errors.As(err, &ie) || errors.Is(err, contain.ErrInvalidLimit) || errors.Is(err, proc.ErrUnsupported)
}

// runOnce starts one incarnation and waits until its tree is dead. It
// returns the Result (nil if the start failed), whether the health check
// killed it, and the run's error.
func (s *Supervisor) runOnce(ctx context.Context, run int, o Options) (*proc.Result, bool, error) {
	p, err := s.cmd.Start(ctx)
	if err != nil {
		s.publish(Event{Kind: EventStartFailed, Run: run, Err: err}, func(st *Status) { st.LastErr = err })
		return nil, false, err
	}
	pid := p.Pid()
	s.publish(Event{Kind: EventStarted, Run: run, Pid: pid}, func(st *Status) { st.State, st.Pid = Running, pid })

	var unhealthy bool
	var checks sync.WaitGroup
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	if o.Health.Check != nil {
		checks.Add(1)
		go func() {
			defer checks.Done()
			if err := s.watchHealth(hctx, p, o.Health); err != nil {
				unhealthy = true
				s.publish(Event{Kind: EventUnhealthy, Run: run, Pid: pid, Err: err}, nil)
				kctx, cancel := teardown.Context()
				defer cancel()
				_ = p.Kill(kctx)
			}
		}()
	}
	select {
	case <-p.Done():
	case <-s.stopReq.Done():
		s.setState(Stopping)
		s.stopProcess(p)
	}
	<-p.Done()
	hcancel()
	checks.Wait()

	r, err := p.Wait(context.Background()) // the run is done: at once
	if err == nil && r != nil {
		err = r.Err()
	}
	if unhealthy && err == nil {
		err = errors.New("supervise: the process was killed by its health check")
	}
	s.publish(Event{Kind: EventExited, Run: run, Pid: pid, Result: r},
		func(st *Status) { st.Pid, st.Last, st.LastErr = 0, r, err })
	return r, unhealthy, err
}

// watchHealth runs the checks until the run ends (nil) or Failures
// checks in a row failed (the last check's error).
func (s *Supervisor) watchHealth(ctx context.Context, p *proc.RunningProcess, h HealthCheck) error {
	fails := 0
	for {
		select {
		case <-s.clk.After(h.Interval):
		case <-p.Done():
			return nil
		case <-ctx.Done():
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, h.Timeout)
		err := h.Check(cctx, p)
		cancel()
		if err == nil {
			fails = 0
			continue
		}
		select {
		case <-p.Done():
			return nil // the run ended on its own; its exit says why
		default:
		}
		if fails++; fails >= h.Failures {
			return err
		}
	}
}

// stopProcess sends the graceful signal, waits up to the grace, and
// kills the tree.
func (s *Supervisor) stopProcess(p *proc.RunningProcess) {
	// A grace of 0 sends nothing; the grace is measured on the clock.
	var sig os.Signal
	if s.stopGrace > 0 {
		if sig = s.cmd.Spec().Grace; sig == nil {
			sig = teardown.DefaultSignal
		}
	}
	_ = teardown.Graceful(sig, p.Signal, func() {
		select {
		case <-p.Done():
		case <-s.clk.After(s.stopGrace):
		}
	}, func() {
		kctx, cancel := teardown.Context()
		defer cancel()
		_ = p.Kill(kctx)
	})
}
