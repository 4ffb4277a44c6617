package containtest

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

// testAvailability: Availability names the backend's mechanism, says why
// (not) in Reason, answers for every limit kind once (with a reason where
// it cannot enforce it), says what owner death does, and gives the same
// verdict twice.
func testAvailability(r *run) {
	a := r.a
	if r.b.Mechanism() == "" || a.Mechanism != r.b.Mechanism() {
		r.t.Errorf("Availability().Mechanism = %q, Backend.Mechanism() = %q; want the same, not empty", a.Mechanism, r.b.Mechanism())
	}
	if a.Reason == "" {
		r.t.Error("Availability().Reason is empty: it must say why the backend is (not) usable")
	}
	if a.OwnerDeath == "" {
		r.t.Error("Availability().OwnerDeath is empty")
	}
	var kinds []contain.LimitKind
	for _, l := range a.Limits {
		kinds = append(kinds, l.Kind)
		if !l.Supported && l.Reason == "" {
			r.t.Errorf("limit %s is unsupported without a reason", l.Kind)
		}
	}
	for _, k := range contain.AllLimitKinds {
		if n := countOf(kinds, k); n != 1 {
			r.t.Errorf("Availability().Limits answers for %s %d times, want once (%v)", k, n, kinds)
		}
	}
	if len(kinds) != len(contain.AllLimitKinds) {
		r.t.Errorf("Availability().Limits has kinds %v, want exactly %v", kinds, contain.AllLimitKinds)
	}
	if again := r.b.Availability(); again.Usable != a.Usable || again.Mechanism != a.Mechanism {
		r.t.Errorf("a second Availability says usable %v (%s), the first %v (%s)", again.Usable, again.Reason, a.Usable, a.Reason)
	}
	r.t.Logf("%s: usable %v: %s", a.Mechanism, a.Usable, a.Reason)
}

func countOf[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// testNotUsable: an unusable backend's NewContainer fails with a
// *NotUsableError naming the mechanism, with or without limits, and makes
// nothing.
func testNotUsable(r *run) {
	for _, opts := range []contain.Options{{}, {KillOnOwnerDeath: true, Limits: []contain.Limit{contain.MaxProcesses(10)}}} {
		c, err := r.b.NewContainer(r.ctx(), opts)
		if c != nil {
			_ = c.Close(r.ctx())
			r.t.Errorf("NewContainer(%+v) of an unusable backend returned a container", opts)
		}
		var nu *contain.NotUsableError
		if !errors.Is(err, contain.ErrNotUsable) || !errors.As(err, &nu) || nu.Mechanism != r.b.Mechanism() || nu.Reason == "" {
			r.t.Errorf("NewContainer(%+v) = %v; want a *contain.NotUsableError for %s with a reason", opts, err, r.b.Mechanism())
		}
	}
}

// invalidLimits are limit sets that no backend may accept.
var invalidLimits = [][]contain.Limit{
	{contain.MemoryMax(0)},
	{contain.MemoryMax(-1)},
	{contain.MaxProcesses(0)},
	{contain.MaxProcesses(-3)},
	{{Kind: contain.ProcessLimit, Value: 1.5}},
	{contain.CPUQuota(0)},
	{contain.CPUQuota(-1)},
	{contain.CPUQuota(math.NaN())},
	{contain.CPUQuota(math.Inf(1))},
	{{Kind: "bogus", Value: 1}},
	{{}},
	{contain.MemoryMax(1 << 30), contain.MemoryMax(2 << 30)},
}

// testNewInvalidLimits: NewContainer with an invalid limit fails with a
// *LimitError matching ErrInvalidLimit and makes nothing.
func testNewInvalidLimits(r *run) {
	checkInvalid(r, "NewContainer", func(o contain.Options) (contain.Container, error) { return r.b.NewContainer(r.ctx(), o) })
}

// checkInvalid checks that NewContainer or Sub (make) fails with a
// *LimitError matching ErrInvalidLimit, making nothing, for each of
// invalidLimits.
func checkInvalid(r *run, what string, make func(contain.Options) (contain.Container, error)) {
	r.t.Helper()
	for _, ls := range invalidLimits {
		c, err := make(contain.Options{Limits: ls})
		if c != nil {
			_ = c.Close(r.ctx())
			r.t.Errorf("%s with %v returned a container", what, ls)
		}
		var le *contain.LimitError
		if !errors.Is(err, contain.ErrInvalidLimit) || !errors.As(err, &le) {
			r.t.Errorf("%s with %v = %v, want a *contain.LimitError matching ErrInvalidLimit", what, ls, err)
		}
	}
}

// validLimits are limits every kind of host could enforce, generous
// enough for the suite's children.
var validLimits = map[contain.LimitKind]contain.Limit{
	contain.MemoryLimit:  contain.MemoryMax(1 << 30),
	contain.ProcessLimit: contain.MaxProcesses(1000),
	contain.CPULimit:     contain.CPUQuota(1),
}

// checkUnenforceable checks what NewContainer or Sub (make) does with one
// valid limit of each kind: a kind that Availability says cannot be
// enforced fails with a *LimitError naming it and matching ErrUnsupported,
// making nothing; one that can gives a container.
func checkUnenforceable(r *run, what string, make func(contain.Options) (contain.Container, error)) {
	r.t.Helper()
	for _, ls := range r.a.Limits {
		l := validLimits[ls.Kind]
		c, err := make(contain.Options{Limits: []contain.Limit{l}})
		if ls.Supported {
			if err != nil {
				r.t.Errorf("%s with %v, which Availability says is enforced = %v", what, l, err)
				continue
			}
			if err := c.Close(r.ctx()); err != nil {
				r.t.Errorf("Close of a container with %v: %v", l, err)
			}
			continue
		}
		if c != nil {
			_ = c.Close(r.ctx())
			r.t.Errorf("%s with %v, which Availability says cannot be enforced, returned a container", what, l)
		}
		var le *contain.LimitError
		if !errors.Is(err, contain.ErrUnsupported) || !errors.As(err, &le) || le.Limit != l || le.Reason == "" || le.Mechanism != r.b.Mechanism() {
			r.t.Errorf("%s with %v = %#v; want a *contain.LimitError for %s naming the limit, with a reason, matching ErrUnsupported", what, l, err, r.b.Mechanism())
		}
	}
}

// testNewUnenforceableLimits: see checkUnenforceable.
func testNewUnenforceableLimits(r *run) {
	checkUnenforceable(r, "NewContainer", func(o contain.Options) (contain.Container, error) { return r.b.NewContainer(r.ctx(), o) })
}

// testStartPlaces: a started child is a member at once, with its
// mechanism, and so is a second one; Stats counts them; Start leaves a
// SysProcAttr the caller shares alone.
func testStartPlaces(r *run) {
	c := r.newContainer(contain.Options{})
	if c.Mechanism() != r.b.Mechanism() {
		r.t.Errorf("container Mechanism = %q, backend %q", c.Mechanism(), r.b.Mechanism())
	}
	first := command(modeSleep)
	shared := &syscall.SysProcAttr{}
	first.SysProcAttr = shared
	a := r.start(c, first)
	if !reflect.DeepEqual(*shared, syscall.SysProcAttr{}) {
		r.t.Errorf("Start changed the caller's SysProcAttr: %+v", *shared)
	}
	second := command(modeSleep)
	second.SysProcAttr = shared
	b := r.start(c, second)
	if !reflect.DeepEqual(*shared, syscall.SysProcAttr{}) {
		r.t.Errorf("the second Start changed the caller's SysProcAttr: %+v", *shared)
	}
	// Listed from the moment Start returns: no poll.
	r.wantPids("container", c, a.pid, b.pid)
	st, err := c.Stats()
	if err != nil {
		r.t.Fatalf("Stats: %v", err)
	}
	if st.Processes != 2 {
		r.t.Errorf("Stats.Processes = %d, want 2", st.Processes)
	}
}

// testStartExitStatus: a contained child runs to its end normally (a
// child created suspended was resumed) and its exit status reaches Wait,
// as the first child of a container and as a later one.
func testStartExitStatus(r *run) {
	r.exitIn("a fresh container", r.newContainer(contain.Options{}), 7)
	c := r.newContainer(contain.Options{})
	r.sleeper(c)
	r.exitIn("a container with a member", c, 3)
}

// testStartOwnGroup: the first child leads a process group of its own,
// never the owner's, and no later child joins the owner's group.
func testStartOwnGroup(r *run) {
	if !processGroups {
		r.t.Skip("this OS has no process groups to inspect (Windows' console process groups cannot be queried)")
	}
	c := r.newContainer(contain.Options{})
	first := r.sleeper(c)
	second := r.sleeper(c)
	if pg, err := groupOf(first.pid); err != nil || pg != first.pid {
		r.t.Errorf("first child %d: process group %d (%v), want its own", first.pid, pg, err)
	}
	if pg, err := groupOf(second.pid); err != nil || pg == ownGroup() {
		r.t.Errorf("second child %d: process group %d (%v), the owner's is %d; want another", second.pid, pg, err, ownGroup())
	}
	s := r.newSub(c, contain.Options{})
	inSub := r.sleeper(s)
	if pg, err := groupOf(inSub.pid); err != nil || pg != inSub.pid {
		r.t.Errorf("a sub's first child %d: process group %d (%v), want its own", inSub.pid, pg, err)
	}
}

// testStartCallerSetsid: a first child that asks for a session of its
// own gets it (a session leader leads its own group) and is contained.
func testStartCallerSetsid(r *run) {
	attr := sessionLeader()
	if attr == nil {
		r.t.Skip("this OS has no sessions")
	}
	c := r.newContainer(contain.Options{})
	cmd := command(modeSleep)
	cmd.SysProcAttr = attr
	ch := r.start(c, cmd)
	if pg, err := groupOf(ch.pid); err != nil || pg != ch.pid {
		r.t.Errorf("Setsid child %d: process group %d (%v), want its own", ch.pid, pg, err)
	}
	r.wantPids("container", c, ch.pid)
	if err := c.Kill(r.ctx()); err != nil {
		r.t.Fatalf("Kill: %v", err)
	}
	r.deadNow("after Kill", ch.pid)
}

// testStartRefusesConflicting: settings that would put the child outside
// the container's reach fail Start before anything is spawned, leaving
// the caller's SysProcAttr as it was, and the container usable.
func testStartRefusesConflicting(r *run) {
	for name, mk := range conflictingAttrs() {
		c := r.newContainer(contain.Options{})
		for _, where := range []string{"as the first child", "after another child"} {
			attr, orig := mk(), mk()
			cmd := command(modeSleep)
			cmd.SysProcAttr = attr
			err := c.Start(cmd)
			if cmd.Process != nil {
				r.record(cmd.Process.Pid)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			if err == nil || cmd.Process != nil {
				r.t.Errorf("%s, %s: Start = %v (process %v), want an error and no process", name, where, err, cmd.Process)
			}
			if cmd.SysProcAttr != attr || !reflect.DeepEqual(attr, orig) {
				r.t.Errorf("%s, %s: Start changed the refused command's SysProcAttr to %+v", name, where, cmd.SysProcAttr)
			}
			if where == "as the first child" {
				r.wantPids("after a refused Start", c)
				r.sleeper(c)
			}
		}
	}
}

// testStartFailure: a Start that fails (no such program) starts nothing,
// leaves no member, and the container works afterwards.
func testStartFailure(r *run) {
	c := r.newContainer(contain.Options{})
	missing := filepath.Join(os.TempDir(), "containtest-no-such-program-"+time.Now().Format("150405.000000000"))
	cmd := exec.Command(missing)
	if err := c.Start(cmd); err == nil || cmd.Process != nil {
		if cmd.Process != nil {
			r.record(cmd.Process.Pid)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		r.t.Fatalf("Start of %s = %v (process %v), want an error and no process", missing, err, cmd.Process)
	}
	r.wantPids("after a failed Start", c)
	r.exitIn("the container after a failed Start", c, 0)
}

// testKillTree: Kill returns once every member is dead, a setsid
// grandchild included where the backend contains it; one it does not
// contain is not listed and survives, as Availability says.
func testKillTree(r *run) {
	c := r.newContainer(contain.Options{})
	tr, ch := r.startTree(c)
	got := r.pids("container", c)
	for _, p := range tr.contained(r.a) {
		if !slices.Contains(got, p) {
			r.t.Errorf("member %d of the tree %v not listed in Pids %v", p, tr, got)
		}
	}
	if !r.a.ContainsSetsid {
		for _, p := range tr.escapees() {
			if slices.Contains(got, p) {
				r.t.Errorf("escapee %d listed in Pids %v, although Availability.ContainsSetsid is false", p, got)
			}
		}
	}
	began := time.Now()
	if err := c.Kill(r.ctx()); err != nil {
		r.t.Fatalf("Kill: %v", err)
	}
	r.t.Logf("Kill of a %d-process tree confirmed in %v", len(tr.contained(r.a)), time.Since(began))
	r.deadNow("after Kill returned", tr.contained(r.a)...)
	if err := ch.wait(); !killedBy(err, os.Kill) {
		r.t.Errorf("the tree child's Wait = %v, want killed", err)
	}
	r.wantPids("after Kill", c)
	if !r.a.ContainsSetsid {
		r.aliveNow("an escapee, which Availability says the backend does not contain, after Kill", tr.escapees()...)
	}
}

// testKillTerminal: a killed container takes no new process, adoption or
// sub, and Kill again confirms at once.
func testKillTerminal(r *run) {
	c := r.newContainer(contain.Options{})
	ch := r.sleeper(c)
	if err := c.Kill(r.ctx()); err != nil {
		r.t.Fatalf("Kill: %v", err)
	}
	r.deadNow("after Kill", ch.pid)
	r.wantClosed("killed container", c)
	for i := range 2 {
		if err := c.Kill(r.ctx()); err != nil {
			r.t.Errorf("Kill #%d after Kill = %v, want nil", i+2, err)
		}
	}
	r.freezeKilled("after Kill", c)
}

// freezeKilled checks a Freeze of a killed container. The contract
// leaves it open: nothing in it runs, so a Freeze may succeed (then Thaw
// must too), or fail with ErrClosed, or ErrUnsupported without a freeze.
func (r *run) freezeKilled(what string, c contain.Container) {
	r.t.Helper()
	switch err := c.Freeze(r.ctx()); {
	case err == nil:
		if err := c.Thaw(r.ctx()); err != nil && !errors.Is(err, contain.ErrClosed) {
			r.t.Errorf("Thaw %s = %v, want nil or ErrClosed", what, err)
		}
	case errors.Is(err, contain.ErrClosed), errors.Is(err, contain.ErrUnsupported):
	default:
		r.t.Errorf("Freeze %s = %v, want nil, ErrClosed or ErrUnsupported", what, err)
	}
}

// testKillEndedContext: a Kill whose context has ended either confirms
// anyway or fails with a *TeardownError matching ErrTeardownNotConfirmed
// and the context's error, listing what it could not confirm dead; a
// later Kill confirms.
func testKillEndedContext(r *run) {
	c := r.newContainer(contain.Options{})
	ch := r.sleeper(c)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Kill(ended)
	var te *contain.TeardownError
	if err != nil {
		if !errors.As(err, &te) || !errors.Is(err, contain.ErrTeardownNotConfirmed) || !errors.Is(err, context.Canceled) || te.Mechanism != r.b.Mechanism() {
			r.t.Fatalf("Kill with an ended context = %v; want nil or a *contain.TeardownError matching ErrTeardownNotConfirmed and context.Canceled", err)
		}
		for _, p := range te.Remaining {
			if p != ch.pid {
				r.t.Errorf("TeardownError.Remaining = %v lists %d, which is no member (the member is %d)", te.Remaining, p, ch.pid)
			}
		}
	}
	if err := c.Kill(r.ctx()); err != nil {
		r.t.Fatalf("Kill after a Kill with an ended context: %v", err)
	}
	r.deadNow("after Kill", ch.pid)
}

// testCloseConcurrent: concurrent Closes, racing readers, signals and
// Kills, all return nil once the tree is dead (a Kill may say ErrClosed);
// later Closes return nil too.
func testCloseConcurrent(r *run) {
	c, err := r.b.NewContainer(r.ctx(), contain.Options{})
	if err != nil {
		r.t.Fatalf("NewContainer: %v", err)
	}
	tr, _ := r.startTree(c)
	sub, err := c.Sub(r.ctx(), contain.Options{})
	if err != nil {
		r.t.Fatalf("Sub: %v", err)
	}
	inSub := r.sleeper(sub)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			_, _ = c.Pids()
			_, _ = c.Stats()
			_ = c.Signal(r.signal())
			if i%2 == 1 {
				if err := c.Kill(r.ctx()); err != nil && !errors.Is(err, contain.ErrClosed) {
					r.t.Errorf("Kill racing Close: %v", err)
				}
			}
			errs[i] = c.Close(r.ctx())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			r.t.Errorf("concurrent Close #%d: %v", i+1, err)
		}
	}
	r.deadNow("after Close returned", append(tr.contained(r.a), inSub.pid)...)
	for i := range 2 {
		if err := c.Close(r.ctx()); err != nil {
			r.t.Errorf("Close #%d after a successful Close = %v, want nil", i+1, err)
		}
	}
	if err := sub.Close(r.ctx()); err != nil {
		r.t.Errorf("sub Close after the parent's = %v, want nil", err)
	}
}

// testMethodsAfterClose: a closed container refuses everything that
// would change it with ErrClosed; what only reads may instead answer
// that it is empty.
func testMethodsAfterClose(r *run) {
	c, err := r.b.NewContainer(r.ctx(), contain.Options{})
	if err != nil {
		r.t.Fatalf("NewContainer: %v", err)
	}
	r.sleeper(c)
	if err := c.Close(r.ctx()); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	r.wantClosed("closed container", c)
	r.wantErr("Signal(os.Kill) after Close", c.Signal(os.Kill), contain.ErrClosed)
	if err := c.Kill(r.ctx()); err != nil && !errors.Is(err, contain.ErrClosed) {
		r.t.Errorf("Kill after Close = %v, want nil or ErrClosed", err)
	}
	if err := c.Freeze(r.ctx()); !errors.Is(err, contain.ErrClosed) && !errors.Is(err, contain.ErrUnsupported) {
		r.t.Errorf("Freeze after Close = %v, want ErrClosed (or ErrUnsupported)", err)
	}
	if p, err := c.Pids(); (err != nil && !errors.Is(err, contain.ErrClosed)) || len(p) != 0 {
		r.t.Errorf("Pids after Close = %v, %v; want ErrClosed or no member", p, err)
	}
	if st, err := c.Stats(); (err != nil && !errors.Is(err, contain.ErrClosed)) || st.Processes != 0 {
		r.t.Errorf("Stats after Close = %+v, %v; want ErrClosed or no process", st, err)
	}
}

// testSignalEveryMember: Signal reaches the tree (the setsid grandchild
// where the backend contains it), a second child and an adopted process,
// and a container that got a graceful signal takes new children.
func testSignalEveryMember(r *run) {
	if !r.term {
		r.t.Skipf("the backend cannot deliver %v (%s); Signal/Kill covers os.Kill", testchild.TermSignal, r.termWhy)
	}
	c := r.newContainer(contain.Options{})
	tr, ch := r.startTree(c)
	second := r.sleeper(c)
	adopted := r.outsider()
	if err := c.Adopt(adopted.pid); err != nil {
		r.t.Fatalf("Adopt: %v", err)
	}
	if err := c.Signal(testchild.TermSignal); err != nil {
		r.t.Fatalf("Signal(%v): %v", testchild.TermSignal, err)
	}
	r.waitDead("every member to die of the signal", append(tr.contained(r.a), second.pid, adopted.pid)...)
	for name, w := range map[string]func() error{"tree child": ch.wait, "second child": second.wait, "adopted process": adopted.wait} {
		if err := w(); !killedBy(err, testchild.TermSignal) {
			r.t.Errorf("%s: Wait = %v, want ended by %v", name, err, testchild.TermSignal)
		}
	}
	if !r.a.ContainsSetsid {
		r.aliveNow("an escapee the backend does not contain, after Signal", tr.escapees()...)
	}
	r.exitIn("a sub of the container after a graceful Signal", r.newSub(c, contain.Options{}), 0)
}

// testSignalKill: Signal(os.Kill) kills every member; whether the
// container takes new children afterwards is the backend's choice (a
// cgroup's kill is terminal), but it answers ErrClosed if it does not.
// (A sub is what is asked, not a Start: a container whose every member
// has ended may not be joined again, see the package documentation.)
func testSignalKill(r *run) {
	c := r.newContainer(contain.Options{})
	tr, ch := r.startTree(c)
	second := r.sleeper(c)
	if err := c.Signal(os.Kill); err != nil {
		r.t.Fatalf("Signal(os.Kill): %v", err)
	}
	r.waitDead("every member to die of os.Kill", append(tr.contained(r.a), second.pid)...)
	if err := ch.wait(); !killedBy(err, os.Kill) {
		r.t.Errorf("the tree child's Wait = %v, want killed", err)
	}
	switch sub, err := c.Sub(r.ctx(), contain.Options{}); {
	case err == nil:
		defer func() { _ = sub.Close(r.ctx()) }()
		r.exitIn("a sub made after Signal(os.Kill)", sub, 0)
	case errors.Is(err, contain.ErrClosed):
		r.t.Log("Signal(os.Kill) is terminal for this backend: Sub fails with ErrClosed")
	default:
		r.t.Errorf("Sub after Signal(os.Kill) = %v, want a sub or ErrClosed", err)
	}
}

// fakeSignal is an os.Signal no mechanism can deliver.
type fakeSignal struct{}

func (fakeSignal) String() string { return "containtest's fake signal" }
func (fakeSignal) Signal()        {}

// testSignalUndeliverable: a signal the mechanism cannot deliver is
// refused with ErrUnsupported, and nothing is signalled.
func testSignalUndeliverable(r *run) {
	c := r.newContainer(contain.Options{})
	ch := r.sleeper(c)
	err := c.Signal(fakeSignal{})
	if !errors.Is(err, contain.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		r.t.Errorf("Signal(%v) = %v, want an error matching contain.ErrUnsupported and errors.ErrUnsupported", fakeSignal{}, err)
	}
	if !r.term {
		r.wantErr("Signal("+testchild.TermSignal.String()+")", c.Signal(testchild.TermSignal), contain.ErrUnsupported)
	}
	r.aliveNow("after an undeliverable Signal", ch.pid)
}

// testAdoptRunning: an adopted process is a member (listed, counted) and
// dies with the container.
func testAdoptRunning(r *run) {
	c := r.newContainer(contain.Options{})
	o := r.outsider()
	if err := c.Adopt(o.pid); err != nil {
		r.t.Fatalf("Adopt(%d): %v", o.pid, err)
	}
	r.wantPids("after Adopt", c, o.pid)
	if st, err := c.Stats(); err != nil || st.Processes != 1 {
		r.t.Errorf("Stats after Adopt = %+v, %v; want 1 process", st, err)
	}
	r.killAdopted("Kill", c, o)
}

// killAdopted kills c, which holds the adopted process o, and checks
// that o is dead and was killed.
func (r *run) killAdopted(what string, c contain.Container, o *child) {
	r.t.Helper()
	if err := c.Kill(r.ctx()); err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
	r.deadNow("the adopted process after "+what, o.pid)
	if err := o.wait(); !killedBy(err, os.Kill) {
		r.t.Errorf("the adopted process's Wait after %s = %v, want killed", what, err)
	}
}

// testAdoptNoSuchProcess: Adopt of a pid that names no live process
// fails with a *NoSuchProcessError for that pid: nonsense pids, one
// beyond any pid range, an exited child not reaped yet (a zombie counts
// as dead), and a reaped one.
func testAdoptNoSuchProcess(r *run) {
	c := r.newContainer(contain.Options{})
	pids := []int{0, -5, 1 << 30}
	if zombiesVisible {
		cmd := command(modeExit, "0")
		if err := cmd.Start(); err != nil {
			r.t.Fatal(err)
		}
		r.record(cmd.Process.Pid)
		zp := cmd.Process.Pid
		r.waitDead("the child to exit", zp)
		if err := waitExited(zp); err != nil {
			r.t.Fatalf("waitid(%d, WNOWAIT): %v", zp, err)
		}
		// Not reaped yet: its pid cannot have been reused.
		zerr := c.Adopt(zp)
		if err := cmd.Wait(); err != nil {
			r.t.Fatal(err)
		}
		checkNoSuchProcess(r, "an exited, unreaped child", zp, zerr)
		pids = append(pids, zp)
	}
	for _, p := range pids {
		checkNoSuchProcess(r, "", p, c.Adopt(p))
	}
	r.wantPids("after the refused adoptions", c)
}

func checkNoSuchProcess(r *run, what string, pid int, err error) {
	r.t.Helper()
	var ns *contain.NoSuchProcessError
	if !errors.Is(err, contain.ErrNoSuchProcess) || !errors.As(err, &ns) || ns.Pid != pid {
		r.t.Errorf("Adopt(%d) %s = %v, want a *contain.NoSuchProcessError for it", pid, what, err)
	}
}

// testPidsNoZombies: a member that has exited but is not reaped yet is
// not listed or counted.
func testPidsNoZombies(r *run) {
	if !zombiesVisible {
		r.t.Skip("without /proc an exited, unreaped child cannot be told from a live one here")
	}
	c := r.newContainer(contain.Options{})
	live := r.sleeper(c)
	cmd := command(modeExit, "0")
	if err := r.startCmd(c, cmd); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	r.record(cmd.Process.Pid)
	defer func() { _ = cmd.Wait() }()
	r.waitDead("the child to exit", cmd.Process.Pid)
	r.waitPids("with an exited, unreaped member", c, live.pid)
	if st, err := c.Stats(); err != nil || st.Processes != 1 {
		r.t.Errorf("Stats = %+v, %v; want 1 process (the exited one is no member)", st, err)
	}
}

// testStatsLive: Processes counts the live members; a measurement the
// backend reports as available is a real one while a member spins (never
// a zero standing in for "unknown").
func testStatsLive(r *run) {
	c := r.newContainer(contain.Options{})
	tr, _ := r.startTree(c)
	spinner := r.start(c, command(modeSpin, "1h"))
	want := len(tr.contained(r.a)) + 1
	st, err := c.Stats()
	if err != nil {
		r.t.Fatalf("Stats: %v", err)
	}
	if st.Processes != want {
		r.t.Errorf("Stats.Processes = %d, want %d (%v and the spinner %d)", st.Processes, want, tr.contained(r.a), spinner.pid)
	}
	if st.CPU.Valid {
		r.poll("the spinner's CPU time to show", func() bool {
			st, err = c.Stats()
			return err == nil && st.CPU.Value > 0
		})
	}
	if st.UserCPU.Valid && st.SystemCPU.Valid && st.CPU.Valid && st.UserCPU.Value+st.SystemCPU.Value > st.CPU.Value+time.Second {
		r.t.Errorf("user %v + system %v CPU exceed the total %v", st.UserCPU, st.SystemCPU, st.CPU)
	}
	if st.Memory.Valid && st.Memory.Value == 0 {
		r.t.Errorf("Stats.Memory is available and 0 with %d live members", want)
	}
	if st.MemoryPeak.Valid && st.MemoryPeak.Value == 0 {
		r.t.Errorf("Stats.MemoryPeak is available and 0 with %d live members", want)
	}
	if n, ok := st.OOMKills.Get(); ok && n != 0 {
		r.t.Errorf("Stats.OOMKills = %d without any limit", n)
	}
	r.t.Logf("Stats: processes %d, CPU %v (user %v, system %v, includes exited %v), memory %v, peak %v, OOM kills %v",
		st.Processes, st.CPU, st.UserCPU, st.SystemCPU, st.CPUIncludesExited, st.Memory, st.MemoryPeak, st.OOMKills)
}

// testStatsExited: once the only member has exited, Processes is 0, and
// where CPUIncludesExited says so its CPU time is still counted: at least
// nine tenths of what the child's own rusage says it used.
func testStatsExited(r *run) {
	c := r.newContainer(contain.Options{})
	spinner := r.start(c, command(modeSpin, "300ms"))
	if err := spinner.wait(); err != nil {
		r.t.Fatalf("spinner: %v", err)
	}
	r.waitPids("after the only member exited", c)
	st, err := c.Stats()
	if err != nil {
		r.t.Fatalf("Stats: %v", err)
	}
	if st.Processes != 0 {
		r.t.Errorf("Stats.Processes = %d after the only member exited", st.Processes)
	}
	if !st.CPU.Valid || !st.CPUIncludesExited {
		r.t.Logf("CPU %v, includes exited %v: nothing to check for an exited member", st.CPU, st.CPUIncludesExited)
		return
	}
	own := spinner.cmd.ProcessState.UserTime() + spinner.cmd.ProcessState.SystemTime()
	if st.CPU.Value < own*9/10 {
		r.t.Errorf("Stats.CPU = %v after the spinner exited, its own rusage says %v", st.CPU.Value, own)
	}
	r.t.Logf("the exited spinner's CPU: %v counted, %v by its rusage", st.CPU.Value, own)
}
