package proc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/encoding"
)

const (
	// teardownTimeout bounds the kill-and-confirm at the end of a run. It
	// is independent of the caller's context, which may be what ended.
	teardownTimeout = 10 * time.Second
	// drainTimeout bounds the wait for pipes to reach EOF once the tree
	// is confirmed dead. Only a process outside the container (a setsid
	// escapee under pgid) can hold a pipe that long.
	drainTimeout = 250 * time.Millisecond
	// drainLimit bounds the whole drain when bytes keep arriving in a
	// pipe after the tree is dead (a holder outside the container that
	// keeps writing).
	drainLimit = 5 * time.Second
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

// start validates c, creates the container, spawns the child in it and
// starts the monitor. Nothing is spawned when it fails, and nothing is
// left behind.
func start(ctx context.Context, c *Cmd, backend contain.Backend, streaming bool) (*RunningProcess, error) {
	return startIn(ctx, c, func(ctx context.Context, pr *prepared) (contain.Container, error) {
		return pr.newContainer(ctx, backend)
	}, streaming)
}

// startIn is start with the container made by mk (a fresh one, or a sub
// of a group's).
func startIn(ctx context.Context, c *Cmd, mk func(context.Context, *prepared) (contain.Container, error), streaming bool) (*RunningProcess, error) {
	pr, err := prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	ct, err := mk(ctx, pr)
	if err != nil {
		return nil, err
	}
	return pr.spawn(ctx, ct, streaming)
}

// prepared is a validated command whose exec.Cmd is built but whose
// container is not made yet (a pipeline makes every stage's container
// before it spawns any stage).
type prepared struct {
	c    *Cmd
	ecmd *exec.Cmd
	log  *slog.Logger
}

// prepare validates c and builds its exec.Cmd. It creates nothing that
// needs cleaning up.
func prepare(ctx context.Context, c *Cmd) (*prepared, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, &ExitError{Program: c.name, Outcome: Cancelled, Code: -1, cause: cancelCause(ctx)}
	}
	ecmd := &exec.Cmd{Args: append([]string{c.name}, c.args...), Dir: c.dir}
	if err := c.sys.apply(c.name, ecmd); err != nil {
		return nil, err
	}
	if err := checkDir(c.dir); err != nil {
		return nil, err
	}
	path, err := lookPath(c.name, c.dir)
	if err != nil {
		return nil, err
	}
	ecmd.Path = path
	if err := batchCommandLine(c.name, ecmd); err != nil {
		return nil, err
	}
	if ecmd.Env, err = c.env.environ(); err != nil {
		return nil, err
	}
	if c.stdin.kind == stdinReader && c.stdin.used.Swap(true) {
		return nil, &InvalidError{Program: c.name, Reason: "one-shot stdin reader already consumed by an earlier run; use StdinBytes, StdinLines or StdinFile for a command that runs more than once"}
	}
	log := c.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &prepared{c: c, ecmd: ecmd, log: log}, nil
}

// newContainer makes the run's fresh container.
func (pr *prepared) newContainer(ctx context.Context, backend contain.Backend) (contain.Container, error) {
	c := pr.c
	ct, err := backend.New(ctx, contain.Options{Limits: c.limits, KillOnOwnerDeath: !c.noOwnerDeath, Logger: c.logger})
	if err != nil {
		return nil, &StartError{Program: c.name, Err: &containmentError{err}}
	}
	return ct, nil
}

// spawn opens the child's streams, spawns it in ct and starts the
// monitor. On failure it closes ct and everything it opened.
func (pr *prepared) spawn(ctx context.Context, ct contain.Container, streaming bool) (_ *RunningProcess, err error) {
	c, ecmd, log := pr.c, pr.ecmd, pr.log
	p := &RunningProcess{cmd: c, ecmd: ecmd, container: ct, log: log,
		exited: make(chan struct{}), done: make(chan struct{}), tooLarge: make(chan struct{}),
		killReq: make(chan struct{})}
	ls := c.lines.withDefaults()
	p.hub = newHub(ls.bufLines, ls.bufBytes, ls.policy, p.overCap)
	p.stdin = &StdinWriter{err: errNotInteractive}
	// Lines are made when someone can read them: a started process (its
	// streams may be read later) or OnLine callbacks. A plain Output
	// without callbacks pays nothing for them.
	viaStart := streaming // only Start hands out the interactive stdin
	streaming = streaming || len(ls.onLine) > 0

	// Everything opened for the child; closed in the parent after Start
	// (and on any failure).
	var childFiles []*os.File
	fail := func(err error) (*RunningProcess, error) {
		for _, f := range childFiles {
			f.Close()
		}
		for _, f := range p.reads {
			f.Close()
		}
		if p.stdinW != nil {
			p.stdinW.Close()
		}
		tctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
		defer cancel()
		if cerr := ct.Close(tctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	keep := func(f *os.File) *os.File {
		if f != nil {
			childFiles = append(childFiles, f)
		}
		return f
	}

	stdin, stdinW, feed, err := c.stdin.open()
	if err != nil {
		return fail(&StartError{Program: c.name, Err: err})
	}
	if stdin != nil && stdin != os.Stdin {
		keep(stdin)
	}
	if stdin != nil {
		ecmd.Stdin = stdin
	}
	switch {
	case c.stdin.kind == stdinInteractive && viaStart:
		p.stdin = &StdinWriter{w: stdinW}
	case c.stdin.kind == stdinInteractive:
		// Nobody can write to it (Output and the other verbs have no
		// handle): the child reads EOF at once, as documented.
		_ = stdinW.Close()
	default:
		p.stdinW = stdinW
	}
	for _, s := range []struct {
		spec  outSpec
		owner *os.File
		dst   **capture
		set   func(*os.File)
	}{
		{c.stdout, os.Stdout, &p.outCap, func(f *os.File) { ecmd.Stdout = f }},
		{c.stderr, os.Stderr, &p.errCap, func(f *os.File) { ecmd.Stderr = f }},
	} {
		child, read, err := s.spec.open(s.owner)
		if err != nil {
			return fail(&StartError{Program: c.name, Err: err})
		}
		if child != nil && child != s.owner {
			keep(child)
		}
		if child != nil {
			s.set(child)
		}
		if read != nil {
			p.reads = append(p.reads, read)
			cp := &capture{r: read, limit: s.spec.limit, policy: s.spec.policy, tee: s.spec.w, over: p.overCap, activity: &p.activity}
			if streaming {
				st := Stdout
				if s.dst == &p.errCap {
					st = Stderr
				}
				cp.lines = p.newLiner(st, ls)
			}
			*s.dst = cp
		}
	}
	// Start and reap in one goroutine. The container places the child
	// (and, with a parent-death signal, forks it from a thread that never
	// exits: see internal/forker); a Start that fails has left nothing
	// running and nothing to reap.
	started := make(chan error, 1)
	go func() {
		if err := ct.Start(ecmd); err != nil {
			started <- err
			return
		}
		p.started = time.Now()
		p.hub.started = p.started
		p.activity.Store(p.started.UnixNano())
		started <- nil
		p.waitErr = ecmd.Wait()
		p.exitAt = time.Now()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return fail(startError(c.name, err))
	}
	p.pid = ecmd.Process.Pid
	for _, f := range childFiles {
		f.Close()
	}
	if feed != nil {
		p.feeder = feed
		go feed.run()
	}
	for _, cp := range []*capture{p.outCap, p.errCap} {
		if cp != nil {
			p.drains.Add(1)
			go func() { defer p.drains.Done(); cp.drain() }()
		}
	}
	log.Info("tether: spawned", "program", c.name, "pid", p.pid, "mechanism", ct.Mechanism())
	go p.monitor(ctx)
	return p, nil
}

func (p *RunningProcess) newLiner(st Stream, ls lineSpec) *liner {
	enc := ls.enc[st]
	if enc == (encoding.Encoding{}) {
		enc = encoding.UTF8
	}
	l := &liner{
		stream: st,
		r:      encoding.NewLineReader(enc, encoding.SplitterOptions{Terminators: ls.terms, MaxLine: ls.maxLine}),
		hub:    p.hub,
		cbs:    ls.onLine,
		dead:   make([]bool, len(ls.onLine)),
		panics: &p.cbErrs,
		mu:     &p.cbMu,
	}
	p.liners = append(p.liners, l)
	return l
}

// startError classifies a failed exec.Cmd.Start.
func startError(program string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return &NotFoundError{Program: program, Err: err}
	}
	return &StartError{Program: program, Err: err}
}

func (p *RunningProcess) overCap() {
	p.tooLargeOnce.Do(func() { close(p.tooLarge) })
}

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
	tctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
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
	p.hub.release()
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
	select {
	case <-p.tooLarge:
		tooLarge = true
	default:
	}

	r := &Result{
		Program:   c.name,
		Args:      append([]string(nil), c.args...),
		Outcome:   outcome,
		ExitCode:  -1,
		Duration:  p.exitAt.Sub(p.started),
		Mechanism: p.container.Mechanism(),
		Pid:       p.pid,
		Usage:     usage,
		Attempts:  1,
		okCodes:   c.okCodes,
		tooLarge:  tooLarge,
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
	r.Signal = sig
	if outcome == 0 {
		if sig != "" {
			r.Outcome = Signaled
		} else {
			r.Outcome, r.ExitCode = Exited, code
		}
	}
	if outcome == Cancelled {
		r.cancelErr = cancelCause(ctx)
	}
	if p.outCap != nil {
		r.Stdout = p.outCap.bytes()
		r.StdoutTotal, r.StdoutTruncated = p.outCap.stats()
	}
	if p.errCap != nil {
		r.Stderr = p.errCap.bytes()
		r.StderrTotal, r.StderrTruncated = p.errCap.stats()
	}
	r.enc = c.lines.enc
	r.Streams = p.hub.snapshot()
	for _, l := range p.liners {
		if l.stream == Stdout {
			r.Streams.Stdout.Replaced = l.r.Replaced()
		} else {
			r.Streams.Stderr.Replaced = l.r.Replaced()
		}
	}
	p.cbMu.Lock()
	r.CallbackErrors = p.cbErrs
	p.cbMu.Unlock()
	for _, err := range r.CallbackErrors {
		p.log.Warn("tether: line callback panicked and was disabled", "program", c.name, "pid", p.pid, "err", err)
	}
	p.log.Info("tether: exited", "program", c.name, "pid", p.pid, "mechanism", r.Mechanism,
		"outcome", r.Outcome.String(), "code", r.ExitCode, "signal", r.Signal,
		"duration", r.Duration, "teardown", time.Since(began))

	r.StdinErr = stdinErr
	p.result = r
	switch {
	case len(errs) > 0:
		p.log.Warn("tether: teardown not confirmed", "program", c.name, "pid", p.pid, "err", errors.Join(errs...))
		p.err = errors.Join(errs...)
	case r.Outcome == Cancelled || r.tooLarge:
		p.err = r.Err()
	case stdinErr != nil:
		p.log.Warn("tether: reading the stdin source failed", "program", c.name, "pid", p.pid, "err", stdinErr)
		p.err = &StdinError{Program: c.name, Err: stdinErr}
	}
	close(p.done)
	p.hub.close(Event{Kind: EventExited, Time: time.Now(), Result: r})
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
	if c.grace.set && c.grace.period > 0 && outcome != 0 {
		if err := p.container.Signal(c.grace.sig); err == nil {
			t := time.NewTimer(c.grace.period)
			select {
			case <-p.exited:
			case <-t.C:
			case <-p.killReq: // Kill cuts the grace short
			}
			t.Stop()
		}
	}
	tctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
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
