//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

// newSub makes a sub of parent and closes it when the test ends.
func newSub(t *testing.T, parent contain.Container, opts contain.Options) contain.Container {
	t.Helper()
	s, err := parent.Sub(context.Background(), opts)
	if err != nil {
		t.Fatal("Sub:", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("sub Close: %v", err)
		}
	})
	return s
}

// openSubs is the number of subs c lists as open.
func openSubs(c contain.Container) int {
	cc := c.(*container)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return len(cc.subs)
}

// nestedDirs lists the directories below dir (the cgroups nested in it).
func nestedDirs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func gone(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s still there: %v", d, err)
		}
	}
}

// sleeper starts a ModeSleep child in c and returns its pid and waiter.
func sleeper(t *testing.T, c contain.Container) (int, func() error) {
	t.Helper()
	cmd := testchild.Command(testchild.ModeSleep)
	done := start(t, c, cmd)
	return cmd.Process.Pid, done
}

func wantClosed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, contain.ErrClosed) {
		t.Errorf("%s = %v, want ErrClosed", what, err)
	}
}

func TestSubIsANestedCgroup(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	s := newSub(t, p, contain.Options{})
	if filepath.Dir(dirOf(s)) != dirOf(p) || !strings.HasPrefix(filepath.Base(dirOf(s)), subPrefix) {
		t.Fatalf("sub at %s, want %s/%s<random>", dirOf(s), dirOf(p), subPrefix)
	}
	if s.Mechanism() != contain.CgroupV2 {
		t.Fatalf("Mechanism = %v", s.Mechanism())
	}
	// A sub's child runs in the sub's cgroup from birth.
	pid, _ := sleeper(t, s)
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := ownCgroup(cg)
	if want := s.(*container).cgpath; own != want {
		t.Fatalf("child's cgroup %q, want %q", own, want)
	}
}

func TestSubMembersListedByParent(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	direct, _ := sleeper(t, p)
	s := newSub(t, p, contain.Options{})
	pidfile := testchild.PidFile(t)
	start(t, s, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)

	pids, err := p.Pids()
	if err != nil {
		t.Fatal(err)
	}
	for role, pid := range tree {
		if !slices.Contains(pids, pid) {
			t.Errorf("sub's %s %d not in the parent's Pids %v", role, pid, pids)
		}
	}
	if !slices.Contains(pids, direct) {
		t.Errorf("parent's own member %d not in its Pids %v", direct, pids)
	}
	subPids, err := s.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(subPids, direct) || len(subPids) != len(tree) {
		t.Errorf("sub's Pids %v, want exactly the tree %v", subPids, tree)
	}
	st, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Processes != len(tree)+1 {
		t.Errorf("parent's Stats.Processes = %d, want %d", st.Processes, len(tree)+1)
	}
}

func TestSubKillLeavesParentAndSiblings(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	direct, _ := sleeper(t, p)
	s1 := newSub(t, p, contain.Options{})
	s2 := newSub(t, p, contain.Options{})
	pidfile := testchild.PidFile(t)
	done := start(t, s1, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)
	sibling, _ := sleeper(t, s2)

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	began := time.Now()
	if err := s1.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("sub's 4-process tree killed and confirmed in %v", time.Since(began))
	for role, pid := range tree {
		if testchild.Alive(pid) {
			t.Errorf("sub's %s %d alive after the sub's Kill", role, pid)
		}
	}
	if err := done(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("sub child's Wait = %v, want killed", err)
	}
	if !testchild.Alive(direct) || !testchild.Alive(sibling) {
		t.Fatalf("the sub's Kill reached the parent's member (alive %v) or the sibling sub's (alive %v)",
			testchild.Alive(direct), testchild.Alive(sibling))
	}
	pids, _ := p.Pids()
	slices.Sort(pids)
	want := []int{direct, sibling}
	slices.Sort(want)
	if !slices.Equal(pids, want) {
		t.Errorf("parent's Pids after the sub's Kill = %v, want %v", pids, want)
	}
	wantClosed(t, "killed sub's Start", s1.Start(testchild.Command(testchild.ModeSleep)))
	_, err := s1.Sub(ctx, contain.Options{})
	wantClosed(t, "killed sub's Sub", err)
	// The parent and the sibling are untouched and still usable.
	if err := start(t, p, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatalf("parent after a sub's Kill: %v", err)
	}
	if err := start(t, s2, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatalf("sibling after a sub's Kill: %v", err)
	}
	newSub(t, p, contain.Options{})

	// Closing the killed sub removes its cgroup and drops it from the
	// parent's list.
	n := openSubs(p)
	if err := s1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dirOf(s1))
	if got := openSubs(p); got != n-1 {
		t.Errorf("parent lists %d open subs after a sub's Close, want %d", got, n-1)
	}
}

func TestParentKillKillsEverySub(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	s1 := newSub(t, p, contain.Options{})
	s2 := newSub(t, p, contain.Options{})
	s2a := newSub(t, s2, contain.Options{})
	pidfile := testchild.PidFile(t)
	done := start(t, s1, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)
	if sid, _ := unix.Getsid(tree["setsid"]); sid != tree["setsid"] {
		t.Fatalf("setsid grandchild has session %d, want its own", sid)
	}
	nested, nestedDone := sleeper(t, s2a)
	direct, directDone := sleeper(t, s2)

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	began := time.Now()
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("parent Kill over 2 subs and a sub of a sub (6 processes) confirmed in %v", time.Since(began))
	for _, pid := range append(tree.Pids(), nested, direct) {
		if testchild.Alive(pid) {
			t.Errorf("pid %d alive after the parent's Kill", pid)
		}
	}
	for _, wait := range []func() error{done, nestedDone, directDone} {
		if err := wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Wait = %v, want killed", err)
		}
	}
	for name, c := range map[string]contain.Container{"parent": p, "sub": s1, "sub with a sub": s2, "sub of a sub": s2a} {
		wantClosed(t, name+" Start", c.Start(testchild.Command(testchild.ModeSleep)))
		wantClosed(t, name+" Adopt", c.Adopt(os.Getpid()))
		_, err := c.Sub(ctx, contain.Options{})
		wantClosed(t, name+" Sub", err)
		// Kill is terminal and idempotent; it still confirms.
		if err := c.Kill(ctx); err != nil {
			t.Errorf("%s Kill after the parent's Kill: %v", name, err)
		}
		if pids, err := c.Pids(); err != nil || len(pids) != 0 {
			t.Errorf("%s Pids = %v, %v", name, pids, err)
		}
	}
}

func TestParentCloseReleasesEverySub(t *testing.T) {
	b := usable(t)
	// Warm up what the runtime opens lazily (pidfd, pipes of a reaper).
	warm := newContainer(t, b)
	if err := start(t, warm, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
	before := fdCount(t)

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	p, err := b.New(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2a, err := s2.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{dirOf(p), dirOf(s1), dirOf(s2), dirOf(s2a)}
	pidfile := testchild.PidFile(t)
	cmd := testchild.Command(testchild.ModeTree, pidfile)
	if err := s2a.Start(cmd); err != nil {
		t.Fatal(err)
	}
	tree := testchild.WaitTree(t, pidfile, patience)
	sl := testchild.Command(testchild.ModeSleep)
	if err := s1.Start(sl); err != nil {
		t.Fatal(err)
	}

	// The subs are never closed before the parent: its Close must do it.
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dirs...)
	for _, pid := range append(tree.Pids(), sl.Process.Pid) {
		if testchild.Alive(pid) {
			t.Errorf("pid %d alive after the parent's Close", pid)
		}
	}
	_ = cmd.Wait()
	_ = sl.Wait()
	if after := fdCount(t); after != before {
		t.Errorf("descriptors: %d before, %d after the parent's Close with open subs", before, after)
	}
	for name, c := range map[string]contain.Container{"sub": s1, "sub with a sub": s2, "sub of a sub": s2a} {
		if err := c.Close(ctx); err != nil {
			t.Errorf("%s Close after the parent's Close = %v, want nil", name, err)
		}
		wantClosed(t, name+" Start", c.Start(testchild.Command(testchild.ModeSleep)))
		_, err := c.Pids()
		wantClosed(t, name+" Pids", err)
	}
	_, err = p.Sub(ctx, contain.Options{})
	wantClosed(t, "closed parent's Sub", err)
	if after := fdCount(t); after != before {
		t.Errorf("descriptors: %d before, %d after every Close", before, after)
	}
}

func TestSubCyclesLeaveNothing(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	ctx := context.Background()
	// One cycle with a process first, to warm up lazily opened descriptors.
	s, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := start(t, s, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	before := fdCount(t)
	const n = 1000
	began := time.Now()
	for i := range n {
		s, err := p.Sub(ctx, contain.Options{})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%250 == 0 {
			// Now and then a sub that ran something, and one with a sub.
			if err := start(t, s, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sub(ctx, contain.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(ctx); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	t.Logf("%d Sub+Close cycles in %v (%v each)", n, time.Since(began), time.Since(began)/n)
	if d := nestedDirs(t, dirOf(p)); len(d) != 0 {
		t.Fatalf("%d cgroups left in the parent: %v", len(d), d[:min(len(d), 5)])
	}
	if got := openSubs(p); got != 0 {
		t.Fatalf("parent still lists %d subs", got)
	}
	if after := fdCount(t); after != before {
		t.Fatalf("descriptors: %d before, %d after %d cycles", before, after, n)
	}
}

func TestSubOfSub(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	s := newSub(t, p, contain.Options{})
	ss := newSub(t, s, contain.Options{})
	if filepath.Dir(dirOf(ss)) != dirOf(s) {
		t.Fatalf("sub of a sub at %s, want under %s", dirOf(ss), dirOf(s))
	}
	pidfile := testchild.PidFile(t)
	start(t, ss, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)
	mid, _ := sleeper(t, s)
	for name, c := range map[string]contain.Container{"parent": p, "sub": s} {
		pids, err := c.Pids()
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range tree.Pids() {
			if !slices.Contains(pids, pid) {
				t.Errorf("%s Pids %v lack the sub of a sub's %d", name, pids, pid)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := ss.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, tree.Pids()...)
	if !testchild.Alive(mid) {
		t.Fatal("the sub of a sub's Kill reached its parent's member")
	}
	// Closing the middle sub kills its own member, removes both
	// cgroups, and releases the sub of a sub.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dirOf(s), dirOf(ss))
	testchild.WaitDead(t, patience, mid)
	if err := ss.Close(ctx); err != nil {
		t.Fatalf("sub of a sub's Close after its parent's = %v, want nil", err)
	}
	if got := openSubs(p); got != 0 {
		t.Fatalf("parent lists %d subs after its only sub closed", got)
	}
	// The top container is untouched.
	if err := start(t, p, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
}

func TestParentSignalReachesSubMembers(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	other := newContainer(t, b)
	s := newSub(t, p, contain.Options{})
	ss := newSub(t, s, contain.Options{})
	pidfile := testchild.PidFile(t)
	done := start(t, s, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)
	deep, deepDone := sleeper(t, ss)
	bystander, _ := sleeper(t, other)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, append(tree.Pids(), deep)...)
	for _, wait := range []func() error{done, deepDone} {
		if err := wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
			t.Errorf("Wait = %v, want terminated by SIGTERM", err)
		}
	}
	if !testchild.Alive(bystander) {
		t.Fatal("the parent's Signal reached another container's member")
	}
	// SIGTERM is not terminal: the subs still take processes.
	if err := start(t, ss, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatalf("spawn in a sub after the parent's SIGTERM: %v", err)
	}
}

func TestWithinComparesWholeElements(t *testing.T) {
	for _, tc := range []struct {
		p, cg string
		want  bool
	}{
		{"/tether-1-ab", "/tether-1-ab", true},
		{"/tether-1-ab/sub-cd", "/tether-1-ab", true},
		{"/tether-1-ab/sub-cd/sub-ef", "/tether-1-ab/sub-cd", true},
		{"/tether-1-abc", "/tether-1-ab", false},
		{"/tether-1-ab/sub-cdx", "/tether-1-ab/sub-cd", false},
		{"/x/tether-1-ab", "/tether-1-ab", false},
		{"/tether-1-ab", "/tether-1-ab/sub-cd", false},
	} {
		if got := within(tc.p, tc.cg); got != tc.want {
			t.Errorf("within(%q, %q) = %v, want %v", tc.p, tc.cg, got, tc.want)
		}
	}
}

func TestParentFreezeFreezesSubs(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	s := newSub(t, p, contain.Options{})
	file := filepath.Join(testchild.TempDir(t), "appended")
	cmd := testchild.Command(testchild.ModeAppend, file)
	done := start(t, s, cmd)
	size := func() int64 {
		fi, err := os.Stat(file)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	testchild.Poll(t, patience, "the sub's child to append", func() bool { return size() > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := p.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if !frozenNow(dirOf(s)) {
		t.Fatal("sub's cgroup.events does not say frozen 1 after the parent's Freeze")
	}
	frozenAt := size()
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		if sz := size(); sz != frozenAt {
			t.Fatalf("the sub's child appended (%d -> %d) while the parent was frozen", frozenAt, sz)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A signal to the frozen sub is delivered at once, without the sub's
	// own freeze-and-thaw (which could not be confirmed under the
	// parent's freeze), and acts on thaw.
	began := time.Now()
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took >= time.Second {
		t.Errorf("Signal of a sub inside a frozen parent took %v", took)
	}
	if !testchild.Alive(cmd.Process.Pid) {
		t.Fatal("the frozen child died before the thaw")
	}
	if err := p.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	if frozenNow(dirOf(s)) {
		t.Fatal("sub still frozen after the parent's Thaw")
	}
	testchild.WaitDead(t, patience, cmd.Process.Pid)
	if err := done(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Wait = %v, want terminated after the thaw", err)
	}

	// And a running child resumes after the parent's Thaw.
	file2 := filepath.Join(testchild.TempDir(t), "appended")
	start(t, s, testchild.Command(testchild.ModeAppend, file2))
	size2 := func() int64 {
		fi, err := os.Stat(file2)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	testchild.Poll(t, patience, "the second child to append", func() bool { return size2() > 0 })
	if err := p.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	at := size2()
	if err := p.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	testchild.Poll(t, patience, "the sub's child to append again after the parent's Thaw", func() bool { return size2() > at })
}

func TestParentStatsCountSubCPU(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	s, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := start(t, s, testchild.Command(testchild.ModeSpin, "300ms"))(); err != nil {
		t.Fatal(err)
	}
	// The spinner spins for wall time: on a loaded machine it gets less
	// CPU than that, so the sub's own count is the reference.
	sst, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	subCPU, ok := sst.CPU.Get()
	if !ok || subCPU <= 0 {
		t.Fatalf("sub's CPU = %v after a 300ms spinner", sst.CPU)
	}
	check := func(when string) {
		t.Helper()
		st, err := p.Stats()
		if err != nil {
			t.Fatal(err)
		}
		cpu, ok := st.CPU.Get()
		if !ok || !st.CPUIncludesExited || cpu < subCPU {
			t.Fatalf("%s: parent's CPU = %v, want >= the sub's %v (its exited spinner)", when, st.CPU, subCPU)
		}
		if st.Processes != 0 {
			t.Fatalf("%s: parent's Processes = %d", when, st.Processes)
		}
		t.Logf("%s: parent's CPU %v, the sub's %v", when, cpu, subCPU)
	}
	check("sub open")
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	check("sub closed")
}

func TestSubLimits(t *testing.T) {
	b := usable(t)
	ctx := context.Background()
	lims := []contain.Limit{contain.MemoryMax(64 << 20), contain.MaxProcesses(24), contain.CPUQuota(0.5)}
	if ok, _ := limitsHere(b); !ok {
		// Here Sub must fail as New does, through the same code.
		p := newContainer(t, b)
		for _, l := range lims {
			_, newErr := b.New(ctx, contain.Options{Limits: []contain.Limit{l}})
			_, err := p.Sub(ctx, contain.Options{Limits: []contain.Limit{l}})
			var le, newLE *contain.LimitError
			if !errors.As(newErr, &newLE) {
				t.Fatalf("New with %v = %v, want a LimitError", l, newErr)
			}
			if !errors.Is(err, contain.ErrUnsupported) || !errors.As(err, &le) || le.Limit != l || le.Reason == "" {
				t.Errorf("Sub with %v = %v, want a LimitError naming it and matching ErrUnsupported", l, err)
				continue
			}
			ctrl := controllerFor[l.Kind]
			if !strings.Contains(le.Reason, "the "+ctrl+" controller is not available in "+dirOf(p)) ||
				!strings.Contains(newLE.Reason, "the "+ctrl+" controller is not available in ") {
				t.Errorf("Sub's reason %q and New's %q differ in kind", le.Reason, newLE.Reason)
			}
			t.Logf("Sub with %v: %v", l, err)
		}
		_, err := p.Sub(ctx, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(0)}})
		if !errors.Is(err, contain.ErrInvalidLimit) {
			t.Errorf("Sub with an invalid limit = %v, want ErrInvalidLimit", err)
		}
		if d := nestedDirs(t, dirOf(p)); len(d) != 0 {
			t.Fatalf("failed Subs left cgroups: %v", d)
		}
		return
	}
	// With the controllers: a parent holding a process directly cannot
	// delegate them (no internal processes), one without can.
	busy := newContainer(t, b, lims...)
	sleeper(t, busy)
	_, err := busy.Sub(ctx, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(24)}})
	var le *contain.LimitError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "hold") {
		t.Fatalf("Sub with a limit in a container holding a process = %v, want a LimitError about its processes", err)
	}
	p := newContainer(t, b, lims...)
	s := newSub(t, p, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(24)}})
	err = start(t, s, testchild.Command(testchild.ModeSpawn, "40"))()
	if err == nil || !strings.Contains(err.Error(), "exit status 4") {
		t.Fatalf("spawning 40 under a sub's pids.max 24: %v, want exit 4", err)
	}
}

func TestSubOfKilledOrClosedParent(t *testing.T) {
	b := usable(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	killed := newContainer(t, b)
	if err := killed.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := killed.Sub(ctx, contain.Options{})
	wantClosed(t, "Sub of a killed container", err)
	closed, err := b.New(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = closed.Sub(ctx, contain.Options{})
	wantClosed(t, "Sub of a closed container", err)
	// Killing an empty parent with an empty sub still marks the sub.
	p := newContainer(t, b)
	s := newSub(t, p, contain.Options{})
	if err := p.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, "Start in a sub of an empty killed parent", s.Start(testchild.Command(testchild.ModeSleep)))
}

func TestSubOwnerDeathRegistration(t *testing.T) {
	b := usable(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	base := watchdog.Registered()

	// A registered parent's kill covers its subs: nothing more.
	covered, err := b.New(ctx, contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := covered.Sub(ctx, contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sub(ctx, contain.Options{KillOnOwnerDeath: true}); err != nil {
		t.Fatal(err)
	}
	if got := watchdog.Registered(); got != base+1 {
		t.Fatalf("Registered = %d, want %d: subs of a registered container register nothing", got, base+1)
	}
	if err := covered.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := watchdog.Registered(); got != base {
		t.Fatalf("Registered = %d after Close, want %d", got, base)
	}

	// Under an unregistered parent the sub registers itself, its own
	// sub does not, and either Close withdraws it.
	plain := newContainer(t, b)
	for _, closeParent := range []bool{false, true} {
		s, err := plain.Sub(ctx, contain.Options{KillOnOwnerDeath: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sub(ctx, contain.Options{KillOnOwnerDeath: true}); err != nil {
			t.Fatal(err)
		}
		if got := watchdog.Registered(); got != base+1 {
			t.Fatalf("Registered = %d, want %d", got, base+1)
		}
		if closeParent {
			if err := plain.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := watchdog.Registered(); closeParent && got != base {
			t.Fatalf("Registered = %d after the parent's Close, want %d", got, base)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got := watchdog.Registered(); got != base {
			t.Fatalf("Registered = %d after Close, want %d", got, base)
		}
	}
}

// TestSubRacesParentTeardown runs Subs (each placing a process) against
// the parent's Kill or Close: every Sub fails with ErrClosed or its
// cgroup is dead and, once the parent's Close returns, removed.
func TestSubRacesParentTeardown(t *testing.T) {
	b := usable(t)
	for round := range 6 {
		killFirst := round%2 == 0
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		p, err := b.New(ctx, contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu      sync.Mutex
			subs    []contain.Container
			procs   []*os.Process
			waiters []func() error
			wg      sync.WaitGroup
			stop    = make(chan struct{})
		)
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					s, err := p.Sub(ctx, contain.Options{})
					if err != nil {
						if !errors.Is(err, contain.ErrClosed) {
							t.Errorf("Sub racing the parent's teardown = %v, want ErrClosed", err)
						}
						return
					}
					mu.Lock()
					subs = append(subs, s)
					even := len(subs)%2 == 0
					mu.Unlock()
					// Sometimes a sub of the sub, sometimes a process.
					if even {
						if ss, err := s.Sub(ctx, contain.Options{}); err == nil {
							mu.Lock()
							subs = append(subs, ss)
							mu.Unlock()
						} else if !errors.Is(err, contain.ErrClosed) {
							t.Errorf("sub's Sub = %v", err)
						}
						continue
					}
					cmd := testchild.Command(testchild.ModeSleep)
					if s.Start(cmd) != nil {
						continue // the sub was killed or closed meanwhile
					}
					w := make(chan error, 1)
					go func() { w <- cmd.Wait() }()
					mu.Lock()
					procs = append(procs, cmd.Process)
					waiters = append(waiters, sync.OnceValue(func() error { return <-w }))
					mu.Unlock()
				}
			})
		}
		testchild.Poll(t, patience, "a few subs", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(subs) >= 4
		})
		if killFirst {
			if err := p.Kill(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		gone(t, dirOf(p))
		for _, s := range subs {
			if err := s.Close(ctx); err != nil {
				t.Errorf("sub Close after the parent's = %v", err)
			}
		}
		for i, pr := range procs {
			if err := waiters[i](); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Errorf("pid %d: Wait = %v, want killed", pr.Pid, err)
			}
		}
		t.Logf("round %d (kill first %v): %d subs, %d processes", round, killFirst, len(subs), len(procs))
		cancel()
	}
}

// TestSubsCloseWhileParentCloses closes subs concurrently with their
// parent: nothing fails, and nothing is left.
func TestSubsCloseWhileParentCloses(t *testing.T) {
	b := usable(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for range 5 {
		p, err := b.New(ctx, contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var subs []contain.Container
		for i := range 20 {
			s, err := p.Sub(ctx, contain.Options{})
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, s)
			if i%4 == 0 {
				ss, err := s.Sub(ctx, contain.Options{})
				if err != nil {
					t.Fatal(err)
				}
				subs = append(subs, ss)
			}
		}
		sleeper(t, subs[0])
		errs := make(chan error, len(subs)+1)
		for _, s := range subs {
			go func() { errs <- s.Close(ctx) }()
		}
		go func() { errs <- p.Close(ctx) }()
		for range len(subs) + 1 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		gone(t, dirOf(p))
	}
}

func TestSweepRemovesStaleNestedTree(t *testing.T) {
	// Under a parent of its own, for the reason given in
	// TestSweepRemovesEmptyCgroupsOfDeadOwners.
	b, parentDir := privateParent(t, "nestedsweeptest")
	gonePid := testchild.Command(testchild.ModeExit, "0")
	if err := gonePid.Run(); err != nil {
		t.Fatal(err)
	}
	suffix := "-" + strconv.FormatInt(int64(os.Getpid()), 16)
	stale := filepath.Join(parentDir, "tether-"+strconv.Itoa(gonePid.Process.Pid)+suffix+"a")
	busy := filepath.Join(parentDir, "tether-"+strconv.Itoa(gonePid.Process.Pid)+suffix+"b")
	for _, d := range []string{
		stale, filepath.Join(stale, "sub-1"), filepath.Join(stale, "sub-1", "sub-2"), filepath.Join(stale, "sub-3"),
		busy, filepath.Join(busy, "sub-1"), filepath.Join(busy, "sub-1", "sub-2"), filepath.Join(busy, "sub-3"),
	} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = writeFile(busy, "cgroup.kill", "1")
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = waitEvent(ctx, busy, "populated", 0)
		_ = removeTree(busy)
		_ = removeTree(stale)
	})
	// A live process deep in the other stale tree: never killed, never
	// removed, reported.
	fd, err := unix.Open(filepath.Join(busy, "sub-1", "sub-2"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	err = cmd.Start()
	_ = unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })

	a := b.Probe()
	if !strings.Contains(strings.Join(a.Notes, "\n"), busy) {
		t.Fatalf("Probe notes do not report the populated stale tree %s: %q", busy, a.Notes)
	}
	newContainer(t, b) // the first New sweeps
	gone(t, stale)
	for _, d := range []string{filepath.Join(busy, "sub-1", "sub-2"), filepath.Join(busy, "sub-3")} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("the sweep removed part of a populated stale tree: %v", err)
		}
	}
	if !testchild.Alive(cmd.Process.Pid) {
		t.Fatal("the sweep killed a process")
	}
}
