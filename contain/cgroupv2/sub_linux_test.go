//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

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

func gone(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s still there: %v", d, err)
		}
	}
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
	s := testchild.NewSub(t, p, contain.Options{})
	if filepath.Dir(dirOf(s)) != dirOf(p) || !strings.HasPrefix(filepath.Base(dirOf(s)), subPrefix) {
		t.Fatalf("sub at %s, want %s/%s<random>", dirOf(s), dirOf(p), subPrefix)
	}
	if s.Mechanism() != contain.CgroupV2 {
		t.Fatalf("Mechanism = %v", s.Mechanism())
	}
	// A sub's child runs in the sub's cgroup from birth.
	pid, _ := testchild.Sleeper(t, s)
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := sysproc.CgroupV2Path(cg)
	if want := s.(*container).cgpath; own != want {
		t.Fatalf("child's cgroup %q, want %q", own, want)
	}
}

// The cgroup side of a sub's end (the suite checks the processes): a
// killed sub's Close removes its cgroup and drops it from the parent's
// list; closing a sub removes its own subs' cgroups too; the parent's
// Close removes every cgroup of subs never closed and gives back every
// descriptor.
func TestSubCgroupsAreRemoved(t *testing.T) {
	b := usable(t)
	// Warm up what the runtime opens lazily (pidfd, pipes of a reaper).
	warm := newContainer(t, b)
	if err := testchild.Start(t, warm, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
	before := testchild.OpenFDs(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	p, err := b.NewContainer(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	killed, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testchild.Sleeper(t, killed)
	if err := killed.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := killed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dirOf(killed))
	if n := openSubs(p); n != 0 {
		t.Errorf("parent lists %d open subs after its killed sub's Close", n)
	}
	mid, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deep, err := mid.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dirOf(deep)) != dirOf(mid) {
		t.Fatalf("sub of a sub at %s, want under %s", dirOf(deep), dirOf(mid))
	}
	testchild.Sleeper(t, deep)
	if err := mid.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dirOf(mid), dirOf(deep))
	if err := deep.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := openSubs(p); n != 0 {
		t.Errorf("parent lists %d open subs after its only sub closed", n)
	}
	s1, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := s1.Sub(ctx, contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sl := testchild.Command(testchild.ModeSleep)
	if err := s2.Start(sl); err != nil {
		t.Fatal(err)
	}
	dirs := []string{dirOf(p), dirOf(s1), dirOf(s2)}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dirs...)
	_ = sl.Wait()
	if after := testchild.OpenFDs(t); after != before {
		t.Errorf("descriptors: %d before, %d after the parent's Close with open subs", before, after)
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
	if err := testchild.Start(t, s, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	before := testchild.OpenFDs(t)
	const n = 1000
	began := time.Now()
	for i := range n {
		s, err := p.Sub(ctx, contain.Options{})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%250 == 0 {
			// Now and then a sub that ran something, and one with a sub.
			if err := testchild.Start(t, s, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
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
	if after := testchild.OpenFDs(t); after != before {
		t.Fatalf("descriptors: %d before, %d after %d cycles", before, after, n)
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

// The parent's Freeze freezes a sub's cgroup (cgroup.events says so),
// and a signal to that sub is delivered at once, without the sub's own
// freeze-and-thaw (which could not be confirmed under the parent's
// freeze), acting on thaw.
func TestParentFreezeFreezesSubs(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	s := testchild.NewSub(t, p, contain.Options{})
	file := filepath.Join(testchild.TempDir(t), "appended")
	cmd := testchild.Command(testchild.ModeAppend, file)
	done := testchild.Start(t, s, cmd)
	// A child that appends has its runtime up, with its signal handlers.
	testchild.Poll(t, patience, "the sub's child to append", func() bool {
		fi, err := os.Stat(file)
		return err == nil && fi.Size() > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := p.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if !frozenNow(dirOf(s)) {
		t.Fatal("sub's cgroup.events does not say frozen 1 after the parent's Freeze")
	}
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
	if err := done(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Wait = %v, want terminated after the thaw", err)
	}
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
	if err := testchild.Start(t, s, testchild.Command(testchild.ModeSpin, "300ms"))(); err != nil {
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
		// Here Sub must fail as NewContainer does, through the same code.
		p := newContainer(t, b)
		for _, l := range lims {
			_, newErr := b.NewContainer(ctx, contain.Options{Limits: []contain.Limit{l}})
			_, err := p.Sub(ctx, contain.Options{Limits: []contain.Limit{l}})
			var le, newLE *contain.LimitError
			if !errors.As(newErr, &newLE) {
				t.Fatalf("NewContainer with %v = %v, want a LimitError", l, newErr)
			}
			if !errors.Is(err, contain.ErrUnsupported) || !errors.As(err, &le) || le.Limit != l || le.Reason == "" {
				t.Errorf("Sub with %v = %v, want a LimitError naming it and matching ErrUnsupported", l, err)
				continue
			}
			ctrl := Controller(l.Kind)
			if !strings.Contains(le.Reason, "the "+ctrl+" controller is not available in "+dirOf(p)) ||
				!strings.Contains(newLE.Reason, "the "+ctrl+" controller is not available in ") {
				t.Errorf("Sub's reason %q and NewContainer's %q differ in kind", le.Reason, newLE.Reason)
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
	testchild.Sleeper(t, busy)
	_, err := busy.Sub(ctx, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(24)}})
	var le *contain.LimitError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "hold") {
		t.Fatalf("Sub with a limit in a container holding a process = %v, want a LimitError about its processes", err)
	}
	p := newContainer(t, b, lims...)
	agreesWithContainerd(t, p, lims...)
	s := testchild.NewSub(t, p, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(24)}})
	agreesWithContainerd(t, s, contain.MaxProcesses(24))
	err = testchild.Start(t, s, testchild.Command(testchild.ModeSpawn, "40"))()
	if err == nil || !strings.Contains(err.Error(), "exit status 4") {
		t.Fatalf("spawning 40 under a sub's pids.max 24: %v, want exit 4", err)
	}
}

// Signal(os.Kill) writes cgroup.kill, which is terminal here (the suite
// lets a backend choose): even an empty parent's marks its empty sub.
func TestSignalKillOfAnEmptyParentClosesItsSub(t *testing.T) {
	b := usable(t)
	p := newContainer(t, b)
	s := testchild.NewSub(t, p, contain.Options{})
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
	covered, err := b.NewContainer(ctx, contain.Options{KillOnOwnerDeath: true})
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

	a := b.Availability()
	if !strings.Contains(strings.Join(a.Notes, "\n"), busy) {
		t.Fatalf("Availability notes do not report the populated stale tree %s: %q", busy, a.Notes)
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
