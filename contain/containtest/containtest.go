package containtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
)

// DefaultPatience is the Options.Patience used when none is given.
const DefaultPatience = 10 * time.Second

// Options say what the suite cannot find out from the backend itself.
// Everything else it derives: whether the backend is usable and which
// limits it enforces (Availability), whether a setsid grandchild stays inside
// (Availability.ContainsSetsid), whether it can freeze (a Freeze of an
// empty container that returns contain.ErrUnsupported means no) and
// whether it can deliver a graceful stop signal (likewise, with Signal).
// The zero Options suit a backend that needs nothing special.
type Options struct {
	// Skip maps the name of a subtest, relative to the test that called
	// TestBackend (for example "Freeze/StopsAndThawResumes"), to the
	// reason it cannot run on this host; it is skipped with that reason.
	// A name that matches no subtest fails the suite, so that a renamed
	// subtest does not silently run again.
	Skip map[string]string

	// Leftovers, if not nil, lists what the backend leaves on the host
	// that the suite cannot see by itself (cgroup directories, say). It
	// is called before and after every subtest, and a subtest fails if
	// the second call lists something the first did not.
	Leftovers func() []string

	// Patience bounds every wait for something that normally takes
	// milliseconds (a child to start, a tree to die). Zero means
	// DefaultPatience. A slow host (an emulator) may need more.
	Patience time.Duration

	// Start, if not nil, is how the suite starts a child that it expects
	// to start; nil means c.Start. It exists for host faults that have
	// nothing to do with the backend (Wine's CreateProcess fails now and
	// then with ERROR_INTERNAL_ERROR): a Start that fails leaves nothing
	// behind, so retrying it with a fresh *exec.Cmd is safe. Every Start
	// that the suite expects to fail calls c.Start itself.
	Start func(c contain.Container, cmd *exec.Cmd) error
}

// TestBackend runs the whole contract of contain.Backend and
// contain.Container against b, as subtests of t named after the
// behaviour they check (see the package documentation for the list).
// A backend that Availability reports unusable is checked for that contract
// alone: NewContainer must fail with an error matching contain.ErrNotUsable.
//
// The suite starts real processes: the test binary itself, re-executed.
// When the binary is re-executed to play a part of the suite (an owner
// that is killed, a scenario that could hang the process that runs it),
// TestBackend plays that part and runs no subtest.
func TestBackend(t *testing.T, b contain.Backend, opts Options) {
	t.Helper()
	if opts.Patience <= 0 {
		opts.Patience = DefaultPatience
	}
	s := &suite{b: b, o: opts}
	s.runPattern = runPattern(t.Name())
	if role != "" {
		s.playRole(t, role)
		return
	}
	s.a = b.Availability()
	s.test(t, subtest{"Availability", testAvailability})
	if !s.a.Usable {
		s.test(t, subtest{"NotUsable", testNotUsable})
		t.Logf("%s is not usable here (%s): only the contract of an unusable backend was checked", b.Mechanism(), s.a.Reason)
		s.checkSkips(t)
		return
	}
	s.capabilities(t)
	for i := 0; i < len(subtests); {
		group, _, nested := strings.Cut(subtests[i].name, "/")
		if !nested {
			s.test(t, subtests[i])
			i++
			continue
		}
		j := i
		for j < len(subtests) && strings.HasPrefix(subtests[j].name, group+"/") {
			j++
		}
		batch := subtests[i:j]
		t.Run(group, func(t *testing.T) {
			for _, st := range batch {
				s.test(t, st)
			}
		})
		i = j
	}
	s.checkSkips(t)
}

// suite is one TestBackend call.
type suite struct {
	b          contain.Backend
	o          Options
	a          contain.Availability
	runPattern string // a -test.run pattern selecting exactly that test

	freeze    bool   // Freeze is supported
	freezeWhy string // what Freeze said when it is not
	term      bool   // Signal delivers testchild.TermSignal (SIGTERM; os.Interrupt on Windows)
	termWhy   string // what Signal said when it does not
}

// subtest is one behaviour the suite checks; name is its path below the
// test that called TestBackend.
type subtest struct {
	name string
	f    func(r *run)
}

// subtests are the behaviours of a usable backend, in the order they run;
// a name with a slash runs inside the group its first element names.
var subtests = []subtest{
	{"NewContainer/InvalidLimits", testNewInvalidLimits},
	{"NewContainer/UnenforceableLimits", testNewUnenforceableLimits},
	{"Start/PlacesChildAtBirth", testStartPlaces},
	{"Start/ReportsExitStatus", testStartExitStatus},
	{"Start/OwnProcessGroup", testStartOwnGroup},
	{"Start/CallerSetsid", testStartCallerSetsid},
	{"Start/RefusesConflictingSettings", testStartRefusesConflicting},
	{"Start/FailureLeavesNothing", testStartFailure},
	{"Kill/ConfirmsTreeDead", testKillTree},
	{"Kill/IsTerminal", testKillTerminal},
	{"Kill/EndedContext", testKillEndedContext},
	{"Close/IdempotentAndConcurrent", testCloseConcurrent},
	{"Close/MethodsAfterClose", testMethodsAfterClose},
	{"Signal/ReachesEveryMember", testSignalEveryMember},
	{"Signal/Kill", testSignalKill},
	{"Signal/Undeliverable", testSignalUndeliverable},
	{"Adopt/RunningProcess", testAdoptRunning},
	{"Adopt/NoSuchProcess", testAdoptNoSuchProcess},
	{"Pids/NoZombies", testPidsNoZombies},
	{"Stats/LiveMembers", testStatsLive},
	{"Stats/ExitedMembers", testStatsExited},
	{"Sub/MembersAreTheParents", testSubMembers},
	{"Sub/KillLeavesParentAndSiblings", testSubKill},
	{"Sub/ParentKillKillsEverySub", testSubParentKill},
	{"Sub/ParentCloseReleasesEverySub", testSubParentClose},
	{"Sub/SubOfSub", testSubOfSub},
	{"Sub/ParentSignalReachesSubs", testSubParentSignal},
	{"Sub/SignalReachesOnlyItsTree", testSubSignal},
	{"Sub/Adopt", testSubAdopt},
	{"Sub/Limits", testSubLimits},
	{"Sub/OfKilledOrClosedParent", testSubOfClosed},
	{"Sub/RacesParentTeardown", testSubRaces},
	{"Sub/ClosesRaceParentClose", testSubClosesRace},
	{"Sub/Cycles", testSubCycles},
	{"Freeze/Unsupported", testFreezeUnsupported},
	{"Freeze/StopsAndThawResumes", testFreezeStops},
	{"Freeze/StartFailsWithErrFrozen", testFreezeStartFails},
	{"Freeze/NotConfirmedRollsBack", testFreezeRollback},
	{"Freeze/ParentFreezesSubs", testFreezeSubs},
	{"Freeze/SignalWhileFrozen", testFreezeSignal},
	{"Freeze/ShellStartingCommands", testFreezeShellStartingCommands},
	{"Freeze/Kill", testFreezeKill},
	{"OwnerDeath", testOwnerDeath},
	{"Descriptors", testDescriptors},
}

// test runs one subtest with a fresh harness, unless Options.Skip names
// it.
func (s *suite) test(t *testing.T, st subtest) {
	t.Helper()
	leaf := st.name[strings.LastIndexByte(st.name, '/')+1:]
	t.Run(leaf, func(t *testing.T) {
		if why, ok := s.o.Skip[st.name]; ok {
			t.Skip(why)
		}
		st.f(s.begin(t))
	})
}

// checkSkips fails for every name in Options.Skip that names no subtest.
func (s *suite) checkSkips(t *testing.T) {
	t.Helper()
	for name := range s.o.Skip {
		if name != "Availability" && name != "NotUsable" && !slices.ContainsFunc(subtests, func(st subtest) bool { return st.name == name }) {
			t.Errorf("Options.Skip names %q, which is no subtest of the suite", name)
		}
	}
}

// capabilities finds out, on empty containers, whether the backend can
// freeze and deliver a graceful stop signal.
func (s *suite) capabilities(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.o.Patience)
	defer cancel()
	c, err := s.b.NewContainer(ctx, contain.Options{})
	if err != nil {
		t.Fatalf("NewContainer: %v", err)
	}
	defer func() {
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	switch err := c.Freeze(ctx); {
	case err == nil:
		s.freeze = true
		if err := c.Thaw(ctx); err != nil {
			t.Fatalf("Thaw after a Freeze of an empty container: %v", err)
		}
	case errors.Is(err, contain.ErrUnsupported):
		s.freezeWhy = err.Error()
	default:
		t.Fatalf("Freeze of an empty container = %v, want nil or an error matching contain.ErrUnsupported", err)
	}
	switch err := c.Signal(testchild.TermSignal); {
	case err == nil:
		s.term = true
	case errors.Is(err, contain.ErrUnsupported):
		s.termWhy = err.Error()
	default:
		t.Fatalf("Signal(%v) of an empty container = %v, want nil or an error matching contain.ErrUnsupported", testchild.TermSignal, err)
	}
	t.Logf("%s: freeze %v, signal %v %v, contains setsid %v", s.b.Mechanism(), s.freeze, testchild.TermSignal, s.term, s.a.ContainsSetsid)
}

// runPattern is a -test.run pattern that selects exactly the test named
// name (a top-level test or a subtest path).
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// run is the harness of one subtest: it makes containers and children
// that the subtest's cleanup takes down, and at the very end it checks
// that every process the subtest started is dead and that the backend
// left nothing on the host.
type run struct {
	*suite
	t *testing.T

	mu      sync.Mutex
	started []int // every process started, directly or by a tree child
}

func (s *suite) begin(t *testing.T) *run {
	r := &run{suite: s, t: t}
	var before []string
	if s.o.Leftovers != nil {
		before = s.o.Leftovers()
	}
	// Registered first, so it runs last, after every container's Close.
	t.Cleanup(func() {
		r.checkAllDead()
		if s.o.Leftovers != nil {
			var left []string
			for _, x := range s.o.Leftovers() {
				if !slices.Contains(before, x) {
					left = append(left, x)
				}
			}
			if len(left) > 0 {
				t.Errorf("left behind on the host: %v", left)
			}
		}
	})
	return r
}

// ctx is a context bounded by the suite's patience.
func (r *run) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Patience)
	r.t.Cleanup(cancel)
	return ctx
}

// record notes processes the subtest started.
func (r *run) record(pids ...int) {
	r.mu.Lock()
	r.started = append(r.started, pids...)
	r.mu.Unlock()
}

// checkAllDead fails for every process the subtest started that is still
// alive once everything was closed, and kills it by pid.
func (r *run) checkAllDead() {
	r.mu.Lock()
	pids := slices.Clone(r.started)
	r.mu.Unlock()
	deadline := time.Now().Add(r.o.Patience)
	for {
		var left []int
		for _, p := range pids {
			if sysproc.Alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Errorf("processes the subtest started are alive after it ended (killed now): %v", left)
			killPids(left...)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killPids kills processes the suite started itself, by pid.
func killPids(pids ...int) {
	for _, p := range pids {
		if pr, err := os.FindProcess(p); err == nil {
			_ = pr.Kill()
			_ = pr.Release()
		}
	}
}

// newContainer makes a container that is closed when the subtest ends;
// that Close must succeed.
func (r *run) newContainer(opts contain.Options) contain.Container {
	r.t.Helper()
	c, err := r.b.NewContainer(r.ctx(), opts)
	return r.closedAtEnd("NewContainer", c, err)
}

// newSub makes a sub of p that is closed when the subtest ends; that
// Close must succeed, whatever happened to p.
func (r *run) newSub(p contain.Container, opts contain.Options) contain.Container {
	r.t.Helper()
	s, err := p.Sub(r.ctx(), opts)
	return r.closedAtEnd("Sub", s, err)
}

// closedAtEnd fails the subtest unless made (NewContainer or Sub)
// returned a container c and no error, and closes c when the subtest
// ends; that Close must succeed.
func (r *run) closedAtEnd(made string, c contain.Container, err error) contain.Container {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("%s: %v", made, err)
	}
	if c == nil {
		r.t.Fatalf("%s returned neither a container nor an error", made)
	}
	r.t.Cleanup(func() {
		if err := c.Close(r.ctx()); err != nil {
			r.t.Errorf("Close at the end of the subtest of a container from %s: %v", made, err)
		}
	})
	return c
}

// child is a process the suite started.
type child struct {
	cmd  *exec.Cmd
	pid  int
	wait func() error // cmd.Wait's error, as often as asked
}

// startCmd starts cmd in c, the way Options.Start says.
func (r *run) startCmd(c contain.Container, cmd *exec.Cmd) error {
	if r.o.Start != nil {
		return r.o.Start(c, cmd)
	}
	return c.Start(cmd)
}

// start starts cmd in c, failing the subtest if it cannot, and reaps it
// in the background. When the subtest ends, c is killed and the child
// must be reaped within the suite's patience.
func (r *run) start(c contain.Container, cmd *exec.Cmd) *child {
	r.t.Helper()
	if err := r.startCmd(c, cmd); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	return r.reap(cmd, func() { _ = c.Kill(r.ctx()) })
}

// outsider starts a sleeping child in no container; it is killed when
// the subtest ends.
func (r *run) outsider() *child {
	r.t.Helper()
	cmd := command(modeSleep)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting a child outside any container: %v", err)
	}
	return r.reap(cmd, func() { _ = cmd.Process.Kill() })
}

// reap waits for the started cmd in the background. At cleanup it calls
// kill, then waits for the reaper.
func (r *run) reap(cmd *exec.Cmd, kill func()) *child {
	ch := &child{cmd: cmd, pid: cmd.Process.Pid}
	r.record(ch.pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ch.wait = sync.OnceValue(func() error { return <-done })
	r.t.Cleanup(func() {
		kill()
		reaped := make(chan struct{})
		go func() { _ = ch.wait(); close(reaped) }()
		select {
		case <-reaped:
		case <-time.After(r.o.Patience):
			r.t.Errorf("child %d not reaped within %v of the end of the subtest", ch.pid, r.o.Patience)
		}
	})
	return ch
}

// sleeper starts a sleeping child in c.
func (r *run) sleeper(c contain.Container) *child {
	r.t.Helper()
	return r.start(c, command(modeSleep))
}

// exitIn runs a child that exits with code in c and fails unless it
// does: proof that c still places and runs children.
func (r *run) exitIn(what string, c contain.Container, code int) {
	r.t.Helper()
	ch := r.start(c, command(modeExit, strconv.Itoa(code)))
	err := ch.wait()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		r.t.Errorf("%s: a child's Wait = %v", what, err)
		return
	}
	if got != code {
		r.t.Errorf("%s: a child exited %d, want %d", what, got, code)
	}
}

// startPiped starts cmd in c like start, with its stdout on a pipe whose
// read end it returns.
func (r *run) startPiped(c contain.Container, cmd *exec.Cmd, what string) (*child, *os.File) {
	r.t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout = pw
	// Registered before the start, so it runs after the child is killed,
	// when a reader has seen EOF.
	r.t.Cleanup(func() { _ = pr.Close() })
	err = r.startCmd(c, cmd)
	_ = pw.Close()
	if err != nil {
		r.t.Fatalf("Start of %s: %v", what, err)
	}
	return r.reap(cmd, func() { _ = c.Kill(r.ctx()) }), pr
}

// tree is what a tree child reported: role -> pid.
type tree map[string]int

// contained lists the members the container must hold: the child, the
// plain grandchild and, where the backend contains them, the escapees.
func (tr tree) contained(a contain.Availability) []int {
	out := []int{tr["child"], tr["grandchild"]}
	if a.ContainsSetsid {
		out = append(out, tr.escapees()...)
	}
	return out
}

// escapees lists the grandchildren that tried to leave.
func (tr tree) escapees() []int {
	var out []int
	for _, role := range testchild.EscapeRoles {
		out = append(out, tr[role])
	}
	return out
}

// all lists every pid of the tree.
func (tr tree) all() []int {
	var out []int
	for _, p := range tr {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// startTree starts a tree child in c and returns its pids once every
// grandchild runs and each escapee has really left (on unix: its own
// session or process group). When the subtest ends, escapees the backend
// does not contain are killed by pid.
func (r *run) startTree(c contain.Container) (tree, *child) {
	r.t.Helper()
	ch, pr := r.startPiped(c, command(modeTree), "a tree child")
	tr := r.readTree(pr, "tree child")
	if len(tr) == 0 {
		r.t.Fatalf("the tree child %d ended without reporting its tree (Wait: %v)", ch.pid, ch.wait())
	}
	r.record(tr.all()...)
	if !r.a.ContainsSetsid {
		esc := tr.escapees()
		r.t.Cleanup(func() { killPids(esc...) })
	}
	for _, role := range testchild.EscapeRoles {
		if ok, err := escaped(role, tr[role]); !ok {
			r.t.Fatalf("the %s grandchild %d did not leave its group (%v): the tree shows nothing", role, tr[role], err)
		}
	}
	return tr, ch
}

// readTree reads "ROLE PID" lines up to "ready" from rd, within the
// suite's patience; it returns nil if rd ends first.
func (r *run) readTree(rd *os.File, what string) tree {
	r.t.Helper()
	type result struct {
		tr  tree
		err error
	}
	got := make(chan result, 1)
	go func() {
		tr := tree{}
		sc := bufio.NewScanner(rd)
		for sc.Scan() {
			ln := sc.Text()
			if ln == "ready" {
				got <- result{tr: tr}
				return
			}
			role, p, ok := strings.Cut(ln, " ")
			n, err := strconv.Atoi(p)
			if !ok || err != nil {
				got <- result{err: fmt.Errorf("bad line %q", ln)}
				return
			}
			tr[role] = n
		}
		got <- result{}
	}()
	// A cold emulator starts three executables here.
	select {
	case res := <-got:
		if res.err != nil {
			r.t.Fatalf("%s: %v", what, res.err)
		}
		return res.tr
	case <-time.After(2 * r.o.Patience):
		r.t.Fatalf("%s: no report within %v", what, 2*r.o.Patience)
	}
	return nil
}

// ticker is a child that writes the time (the wall clock, which every
// process shares) every millisecond. Lines may sit in the pipe for a
// while, so what tells that the child ran after a moment is a time after
// it, not a line arriving after it.
type ticker struct {
	*child
	last atomic.Int64 // the latest time the child wrote, in Unix ns
}

// startTicker starts a ticker in c and waits for its first ticks.
func (r *run) startTicker(c contain.Container) *ticker {
	r.t.Helper()
	ch, pr := r.startPiped(c, command(modeTick), "a ticking child")
	tk := &ticker{child: ch}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if ns, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil && ns > tk.last.Load() {
				tk.last.Store(ns)
			}
		}
	}()
	tk.waitTicks(r, "the child to tick")
	return tk
}

// waitTicks waits until the ticker has written a time later than now.
func (tk *ticker) waitTicks(r *run, what string) {
	r.t.Helper()
	from := time.Now().UnixNano()
	r.poll(what, func() bool { return tk.last.Load() > from })
}

// still fails if the ticker writes a time later than now during a
// window: a stopped child must not run. A window, not a
// synchronisation: a running child writes every millisecond, a hundred
// times in it.
func (tk *ticker) still(r *run, what string) {
	r.t.Helper()
	from := time.Now().UnixNano()
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if last := tk.last.Load(); last > from {
			r.t.Fatalf("%s: the child ran %v after it should have been stopped", what, time.Duration(last-from))
		}
	}
}

// poll calls cond until it is true, or fails the subtest after the
// suite's patience.
func (r *run) poll(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(r.o.Patience)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %v waiting for %s", r.o.Patience, what)
		}
		time.Sleep(wait)
	}
}

// waitDead waits until every pid is dead (a zombie counts as dead).
func (r *run) waitDead(what string, pids ...int) {
	r.t.Helper()
	r.poll(what, func() bool { return !slices.ContainsFunc(pids, sysproc.Alive) })
}

// deadNow fails for every pid still alive: after a confirmed kill there is
// nothing left to wait for.
func (r *run) deadNow(what string, pids ...int) {
	r.t.Helper()
	for _, p := range pids {
		if sysproc.Alive(p) {
			r.t.Errorf("%s: pid %d is alive", what, p)
		}
	}
}

// aliveNow fails for every pid that is dead.
func (r *run) aliveNow(what string, pids ...int) {
	r.t.Helper()
	for _, p := range pids {
		if !sysproc.Alive(p) {
			r.t.Errorf("%s: pid %d died", what, p)
		}
	}
}

// pids returns c's members, sorted, failing the subtest on an error.
func (r *run) pids(what string, c contain.Container) []int {
	r.t.Helper()
	p, err := c.Pids()
	if err != nil {
		r.t.Fatalf("%s Pids: %v", what, err)
	}
	p = slices.Clone(p)
	slices.Sort(p)
	return p
}

// wantPids fails unless c lists exactly want.
func (r *run) wantPids(what string, c contain.Container, want ...int) {
	r.t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if got := r.pids(what, c); !slices.Equal(got, want) {
		r.t.Errorf("%s Pids = %v, want exactly %v", what, got, want)
	}
}

// waitPids polls until c lists exactly want: a member that has just
// been killed may take a moment to leave the list where the mechanism
// lists processes, not its own records.
func (r *run) waitPids(what string, c contain.Container, want ...int) {
	r.t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	var got []int
	deadline := time.Now().Add(r.o.Patience)
	for {
		got = r.pids(what, c)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s Pids = %v, want exactly %v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantErr fails unless err matches target.
func (r *run) wantErr(what string, err, target error) {
	r.t.Helper()
	if !errors.Is(err, target) {
		r.t.Errorf("%s = %v, want an error matching %v", what, err, target)
	}
}

// wantRefused checks that c refuses a new child with target. A Start
// refused because the container is frozen must spawn nothing; one
// refused for another reason may have created a child, but then it must
// have killed and reaped it (the contract of a failed Start).
func (r *run) wantRefused(what string, c contain.Container, target error) {
	r.t.Helper()
	cmd := command(modeExit, "0")
	err := c.Start(cmd)
	if cmd.Process != nil {
		r.record(cmd.Process.Pid)
		if err == nil || cmd.ProcessState == nil || errors.Is(target, contain.ErrFrozen) {
			_ = cmd.Process.Kill()
			if cmd.ProcessState == nil {
				_ = cmd.Wait()
			}
			r.t.Errorf("%s: Start = %v, and it started pid %d; want %v and no process", what, err, cmd.Process.Pid, target)
			return
		}
	}
	r.wantErr(what+": Start", err, target)
}

// wantClosed checks that c takes no new process, adoption or sub.
func (r *run) wantClosed(what string, c contain.Container) {
	r.t.Helper()
	r.wantRefused(what, c, contain.ErrClosed)
	o := r.outsider()
	r.wantErr(what+": Adopt", c.Adopt(o.pid), contain.ErrClosed)
	if !sysproc.Alive(o.pid) {
		r.t.Errorf("%s: the process Adopt refused died", what)
	}
	s, err := c.Sub(r.ctx(), contain.Options{})
	if s != nil {
		_ = s.Close(r.ctx())
		r.t.Errorf("%s: Sub returned a sub (error %v)", what, err)
	}
	r.wantErr(what+": Sub", err, contain.ErrClosed)
}

// signal is the signal the subtests send to stop members without
// killing the container: the graceful one where the backend delivers it,
// else os.Kill.
func (r *run) signal() os.Signal {
	if r.term {
		return testchild.TermSignal
	}
	return os.Kill
}
