package proc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/teardown"
)

// GroupOptions configure a Group. The zero value is a group in a
// container of the host's default backend, with no limits, killed when
// its owner dies.
type GroupOptions struct {
	// Backend makes the group's container; nil means the host's default
	// (host.Default). An explicit backend never falls back: if it is not
	// usable here NewGroup fails with an error matching
	// contain.ErrNotUsable.
	Backend contain.Backend
	// Limits bound the whole group (every run and adopted process
	// together). A run's own Cmd.Limits bound that run inside them.
	Limits []contain.Limit
	// SurviveOwnerDeath turns off killing the group when the owner process
	// dies abruptly (see contain.Options.KillOnOwnerDeath). A run started
	// in a group that is killed with its owner cannot opt out on its own:
	// Cmd.SurviveOwnerDeath is then an error.
	SurviveOwnerDeath bool
	// Logger receives the group's events (creation, adoption, shutdown);
	// runs log to their Cmd's logger. Nil means no logging.
	Logger *slog.Logger
}

// Group is a shared container for many runs: a test harness's database,
// server and helpers, or a CI agent's jobs. Every run started in it gets
// a nested container of its own (a child cgroup, a process group of its
// own, a nested Job Object), so a run's timeout, cancellation or Kill ends
// only that run's tree while the group lives on; Signal, Suspend, Stats
// and Close reach every member of every run.
//
// A Group is a Runner: Cmd.Runner(g) runs any verb (with retry, where the
// Cmd asks for it) inside the group. Its methods are safe for concurrent
// use. A Group must be closed (Close or Shutdown); until then its members
// live on even after the runs that started them have been waited for.
// Only NewGroup makes one: every method of a zero Group (or a nil *Group)
// fails with an *InvalidError saying so, and its Mechanism is "".
type Group struct {
	ct    contain.Container
	log   *slog.Logger
	watch bool

	// mu is held for reading by every placement (Start, Adopt) from the
	// closed check until the child is in its container, and for writing
	// by Close to set closed: once Close holds it, no placement is under
	// way and none can begin.
	mu     sync.RWMutex
	closed bool

	// runsMu guards runs and adopted.
	runsMu  sync.Mutex
	runs    map[*RunningProcess]struct{}
	adopted []contain.Container

	// closeMu serialises Close and Shutdown; released is set once Close
	// has succeeded.
	closeMu  sync.Mutex
	released bool
}

var _ Runner = (*Group)(nil)

// NewGroup creates a group and its container, with opts.Limits applied
// before anything runs in it. It fails with a *StartError matching
// ErrContainment (and contain.ErrNotUsable or a *contain.LimitError) when
// the container cannot be made; nothing is left behind then.
func NewGroup(ctx context.Context, opts GroupOptions) (*Group, error) {
	if ctx == nil {
		return nil, nilContext("group", "NewGroup")
	}
	b := opts.Backend
	if b == nil {
		b = host.Default().Backend
	}
	ct, err := b.NewContainer(ctx, contain.Options{Limits: opts.Limits, KillOnOwnerDeath: !opts.SurviveOwnerDeath, Logger: opts.Logger})
	if err != nil {
		return nil, containmentFailed("group", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Group{ct: ct, log: log, watch: !opts.SurviveOwnerDeath, runs: map[*RunningProcess]struct{}{}}
	log.Debug("tether: group created", "mechanism", ct.Mechanism())
	return g, nil
}

// Mechanism returns the mechanism that holds the group's trees ("" for a
// zero Group).
func (g *Group) Mechanism() contain.Mechanism {
	if g.unmade() != nil {
		return ""
	}
	return g.ct.Mechanism()
}

// unmade is the error of every method of a Group that NewGroup did not
// make (a zero Group, or a nil *Group): it has no container, so it has
// nothing to run in, to signal or to close.
func (g *Group) unmade() error {
	if g == nil || g.ct == nil {
		return &InvalidError{Program: "group", Reason: "a zero Group (or a nil *Group) has no container: make one with NewGroup"}
	}
	return nil
}

// Start starts c in the group, in a nested container of its own, and
// returns its handle. Everything c says applies as it would alone
// (timeout, grace, stdin, output modes, streaming, its own limits inside
// the group's); only the runner c names is ignored: the group runs it. On
// a closing or closed group it fails with an error matching ErrClosed and
// spawns nothing. On a suspended group it fails at once with a
// *StartError matching ErrSuspended (and contain.ErrFrozen), spawns
// nothing and leaves no container behind; it does not wait for Resume. A
// Start that meets a Suspend in progress waits for it and then fails so;
// one that meets a Signal waits for the Signal and then starts.
func (g *Group) Start(ctx context.Context, c *Cmd) (*RunningProcess, error) {
	return g.start(ctx, c, true)
}

// Output runs c in the group, as Start then Wait, and returns once its
// own tree is dead. See Cmd.Output for what is data and what is an error.
// It does not retry; for retries and the other verbs use c.Runner(g).
func (g *Group) Output(ctx context.Context, c *Cmd) (*Result, error) {
	p, err := g.start(ctx, c, false)
	if err != nil {
		return nil, err
	}
	rep := p.report()
	return rep.result, rep.err
}

func (g *Group) start(ctx context.Context, c *Cmd, streaming bool) (*RunningProcess, error) {
	if err := g.unmade(); err != nil {
		return nil, err
	}
	if err := c.entry(ctx); err != nil {
		return nil, err
	}
	if c.noOwnerDeath && g.watch {
		return nil, &InvalidError{Program: c.name, Reason: "SurviveOwnerDeath in a group that is killed when its owner dies; create the group with GroupOptions.SurviveOwnerDeath instead"}
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, &StartError{Program: c.name, Err: groupClosed("Start")}
	}
	p, err := startIn(ctx, c, func(ctx context.Context, pr *prepared) (contain.Container, error) {
		// The group decides whether its members die with the owner (a
		// run cannot opt out: see above).
		opts := pr.c.containOptions()
		opts.KillOnOwnerDeath = g.watch
		sub, err := g.ct.Sub(ctx, opts)
		if err != nil {
			if errors.Is(err, contain.ErrClosed) {
				return nil, &StartError{Program: pr.c.name, Err: groupClosed("Start")}
			}
			return nil, containmentFailed(pr.c.name, err)
		}
		return sub, nil
	}, streaming)
	if err != nil {
		return nil, err
	}
	g.runsMu.Lock()
	g.runs[p] = struct{}{}
	g.runsMu.Unlock()
	go func() {
		<-p.Done()
		g.runsMu.Lock()
		delete(g.runs, p)
		g.runsMu.Unlock()
	}()
	return p, nil
}

// warnRuns tells every run, before the group kills its container, that
// the group is killing it, and returns them: a run then reports the kill
// as one even where the OS reports no signal (see noteGroupKill).
func (g *Group) warnRuns() []*RunningProcess {
	g.runsMu.Lock()
	defer g.runsMu.Unlock()
	runs := make([]*RunningProcess, 0, len(g.runs))
	for p := range g.runs {
		p.noteGroupKill()
		runs = append(runs, p)
	}
	return runs
}

func groupClosed(op string) error {
	return fmt.Errorf("proc: group %s: %w", op, ErrClosed)
}

// Signal sends sig to every member of every run and adopted process (see
// contain.Container.Signal for what each mechanism can deliver; on
// Windows only os.Kill). os.Kill is atomic over the whole group where the
// mechanism allows (cgroup v2's cgroup.kill, a Job Object's termination;
// under pgid each run's process group is killed in turn) and is terminal,
// as Close is: the group accepts no new run from then on. Use Close or
// Shutdown to also confirm death and release the group.
func (g *Group) Signal(sig os.Signal) error {
	if err := g.unmade(); err != nil {
		return err
	}
	if sig == os.Kill {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		g.warnRuns()
	}
	return g.ct.Signal(sig)
}

// Suspend stops every member and returns once the mechanism confirms
// it (cgroup v2: cgroup.events says frozen; pgid: every thread stopped).
// Members forked meanwhile are stopped too. It waits for the Starts in
// flight to finish (a fork and exec each), and from then until Resume
// every Start and Output in the group fails at once with an error
// matching ErrSuspended, spawning nothing: a child born into a frozen
// tree would be stopped before it could exec. If the suspension cannot
// be confirmed before ctx ends, it is rolled back (every member resumed)
// and the group is left running; the error wraps ctx's. Job Objects have
// no confirmed freeze: the error matches ErrUnsupported. A suspended
// member still dies on Close.
func (g *Group) Suspend(ctx context.Context) error {
	if ctx == nil {
		return nilContext("group", "Suspend")
	}
	if err := g.unmade(); err != nil {
		return err
	}
	return g.ct.Freeze(ctx)
}

// Resume resumes a suspended group and returns once that is confirmed;
// Start works again from then on.
func (g *Group) Resume(ctx context.Context) error {
	if ctx == nil {
		return nilContext("group", "Resume")
	}
	if err := g.unmade(); err != nil {
		return err
	}
	return g.ct.Thaw(ctx)
}

// ProcessInfo describes one live member of a group.
type ProcessInfo struct {
	Pid int
	// Ppid is the parent's pid.
	Ppid int
	// Name is the command name as the OS keeps it (Linux: at most 15
	// bytes of the executable's name; Windows: the executable file name).
	Name string
	// StartTime is when the process started (Linux: to 10 ms).
	StartTime time.Time
	// Known is false where the OS reports only the pid (the BSDs other
	// than macOS); Ppid, Name and StartTime are then zero.
	Known bool
}

// Processes lists the live members of every run and adopted process,
// sorted by pid. A pid is reported only if it is a member both before and
// after its details are read, so a pid that exited and was recycled by a
// stranger meanwhile is left out rather than misreported.
func (g *Group) Processes() ([]ProcessInfo, error) {
	if err := g.unmade(); err != nil {
		return nil, err
	}
	pids, err := g.ct.Pids()
	if err != nil {
		return nil, err
	}
	infos := make([]ProcessInfo, 0, len(pids))
	for _, pid := range pids {
		in, err := sysproc.ReadInfo(pid)
		if err != nil {
			continue // gone since it was listed
		}
		infos = append(infos, ProcessInfo{Pid: pid, Ppid: in.Ppid, Name: in.Name, StartTime: in.StartTime, Known: in.Known})
	}
	again, err := g.ct.Pids()
	if err != nil {
		return nil, err
	}
	infos = slices.DeleteFunc(infos, func(p ProcessInfo) bool { return !slices.Contains(again, p.Pid) })
	slices.SortFunc(infos, func(a, b ProcessInfo) int { return a.Pid - b.Pid })
	return infos, nil
}

// Stats reports the whole group's resource use (see contain.Stats: what a
// mechanism cannot measure is marked unavailable, never zero).
func (g *Group) Stats() (contain.Stats, error) {
	if err := g.unmade(); err != nil {
		return contain.Stats{}, err
	}
	return g.ct.Stats()
}

// Samples returns an iterator that reads Stats at once and then every
// interval, until ctx ends, the consumer stops, or the group is closed,
// shut down or killed with Signal(os.Kill). A reading that fails is
// yielded with its Err set, and the sampling goes on. A non-positive
// interval is treated as one second.
func (g *Group) Samples(ctx context.Context, interval time.Duration) iter.Seq[Sample] {
	if interval <= 0 {
		interval = time.Second
	}
	return func(yield func(Sample) bool) {
		if ctx == nil {
			yield(Sample{Time: time.Now(), Err: nilContext("group", "Samples")})
			return
		}
		if err := g.unmade(); err != nil {
			yield(Sample{Time: time.Now(), Err: err})
			return
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			st, err := g.ct.Stats()
			// closed is read after Stats: while it is still false the
			// group was not yet closing when Stats read the container.
			// A closing group removes its cgroup, whose Stats then say
			// nothing (every figure unavailable): such a reading is not
			// the group's.
			g.mu.RLock()
			closed := g.closed
			g.mu.RUnlock()
			if closed || errors.Is(err, contain.ErrClosed) {
				return
			}
			if !yield(Sample{Time: time.Now(), Stats: st, Err: err}) || ctx.Err() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}

// Adoption reports how an adopted process is held.
type Adoption struct {
	Pid       int
	Mechanism contain.Mechanism
	// Descendants is true when the process's later children are held
	// too (cgroup v2, Job Objects); its existing children never are.
	Descendants bool
	// Alone is true when the process is tracked on its own, by pid: under
	// pgid a running process cannot be moved into a process group, so
	// nothing it starts later is held.
	Alone bool
}

// Adopt takes the running process pid into the group, in a nested
// container of its own, so that Signal, Suspend, Stats and Close reach it.
// It guards against pid reuse where the OS allows (a pidfd on Linux, a
// process handle on Windows) and fails with an error matching
// contain.ErrNoSuchProcess when pid names no live process, with an error
// matching ErrClosed on a closing group, and with an *InvalidError for the
// calling process itself or pid 1, which Close would otherwise kill.
func (g *Group) Adopt(ctx context.Context, pid int) (Adoption, error) {
	if ctx == nil {
		return Adoption{}, nilContext("group", "Adopt")
	}
	if err := g.unmade(); err != nil {
		return Adoption{}, err
	}
	if pid == os.Getpid() || pid == 1 {
		return Adoption{}, &InvalidError{Reason: fmt.Sprintf("group Adopt: refusing pid %d (the calling process or init)", pid)}
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return Adoption{}, groupClosed("Adopt")
	}
	sub, err := g.ct.Sub(ctx, contain.Options{KillOnOwnerDeath: g.watch, Logger: g.log})
	if err != nil {
		return Adoption{}, err
	}
	if err := sub.Adopt(pid); err != nil {
		tctx, cancel := teardown.Context()
		defer cancel()
		return Adoption{}, errors.Join(err, sub.Close(tctx))
	}
	g.runsMu.Lock()
	g.adopted = append(g.adopted, sub)
	g.runsMu.Unlock()
	a := Adoption{Pid: pid, Mechanism: sub.Mechanism(), Descendants: true}
	if sub.Mechanism() == contain.PGID {
		a.Descendants, a.Alone = false, true
	}
	g.log.Info("tether: process adopted", "pid", pid, "mechanism", a.Mechanism, "alone", a.Alone)
	return a, nil
}

// Close kills every member of every run and adopted process, waits until
// all are confirmed dead and every run has ended (its Result ready), and
// releases the group's container. It is idempotent: once it has
// succeeded, later calls return nil. A Start racing Close either fails
// with an error matching ErrClosed or its tree is dead when Close returns.
// If death cannot be confirmed before ctx ends, Close returns an error
// matching ErrTeardownNotConfirmed and may be called again.
func (g *Group) Close(ctx context.Context) error {
	if ctx == nil {
		return nilContext("group", "Close")
	}
	if err := g.unmade(); err != nil {
		return err
	}
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	return g.closeLocked(ctx)
}

func (g *Group) closeLocked(ctx context.Context) error {
	if g.released {
		return nil
	}
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	runs := g.warnRuns()
	if err := g.ct.Kill(ctx); err != nil {
		return err
	}
	// A run whose direct child the kill did not reach (moved out of the
	// group's container) would never end by itself: ask its monitor to
	// end it, which kills the child by its own handle. For every other
	// run the request comes after the child's death and changes nothing.
	requestEnds(runs, endByGroup, -1)
	for _, p := range runs {
		select {
		case <-p.Done():
		case <-ctx.Done():
			return &contain.TeardownError{Mechanism: g.Mechanism(), Err: ctx.Err()}
		}
	}
	if err := g.ct.Close(ctx); err != nil {
		return err
	}
	g.runsMu.Lock()
	adopted := g.adopted
	g.adopted = nil
	g.runsMu.Unlock()
	var errs []error
	for _, sub := range adopted {
		errs = append(errs, sub.Close(ctx))
	}
	g.released = true
	g.log.Debug("tether: group closed", "mechanism", g.Mechanism())
	return errors.Join(errs...)
}

// ShutdownReport says what a graceful stop did: a Group's Shutdown, or a
// run's (RunningProcess.Stop), whose members are its tree's.
type ShutdownReport struct {
	// Signal is the graceful signal tried (SIGTERM, or the run's Grace
	// signal for Stop; nil on Windows, where a Job Object can only
	// terminate).
	Signal os.Signal
	// Signalled is true when the graceful signal was delivered; SignalErr
	// says why not otherwise (nothing to signal leaves both empty).
	Signalled bool
	SignalErr error
	// Before is the number of live members when Shutdown began; After
	// the number still alive when the grace period ended.
	Before, After int
	// Drained is true when every member exited within the grace period;
	// Escalated when the rest had to be killed.
	Drained, Escalated bool
	// Elapsed is the call's duration (Shutdown's, Stop's), teardown
	// included.
	Elapsed time.Duration
}

// Shutdown ends the group gracefully: it refuses new runs, sends the
// graceful signal (SIGTERM) to every member, waits up to grace for them
// all to exit, then kills whatever is left and closes the group as Close
// does. Where the graceful signal cannot be sent (Windows), it escalates
// at once and says so in the report. The error is Close's.
func (g *Group) Shutdown(ctx context.Context, grace time.Duration) (ShutdownReport, error) {
	if ctx == nil {
		return ShutdownReport{}, nilContext("group", "Shutdown")
	}
	if err := g.unmade(); err != nil {
		return ShutdownReport{}, err
	}
	began := time.Now()
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	rep := ShutdownReport{Signal: teardown.DefaultSignal}
	if g.released {
		rep.Drained, rep.Elapsed = true, time.Since(began)
		return rep, nil
	}
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	pids, _ := g.ct.Pids()
	rep.Before = len(pids)
	rep.After = rep.Before
	if rep.Before > 0 {
		// The kill is closeLocked's, below, also when nothing was left
		// to signal.
		err := teardown.Graceful(rep.Signal, g.ct.Signal, func() {
			rep.Signalled = true
			rep.After = awaitEmpty(g.ct, grace, ctx.Done(), nil)
		}, nil)
		rep.SignalErr = gracefulSignalErr(g.Mechanism(), err)
	}
	rep.Drained = rep.After == 0
	rep.Escalated = !rep.Drained
	err := g.closeLocked(ctx)
	rep.Elapsed = time.Since(began)
	g.log.Info("tether: group shut down", "before", rep.Before, "after", rep.After, "escalated", rep.Escalated, "elapsed", rep.Elapsed)
	return rep, err
}
