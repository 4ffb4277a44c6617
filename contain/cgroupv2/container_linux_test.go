//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

const patience = testchild.Patience

// usable skips the test when this host cannot run cgroup v2 containers,
// saying exactly why. On the project's machines it is usable, and
// TestBackendUsableOnProjectHost fails if it is not.
func usable(t *testing.T) *Backend {
	t.Helper()
	b := New()
	if a := b.Probe(); !a.Usable {
		t.Skipf("cgroup v2 not usable on this host: %s", a.Reason)
	}
	return b
}

func newContainer(t *testing.T, b *Backend, limits ...contain.Limit) contain.Container {
	t.Helper()
	c, err := b.New(context.Background(), contain.Options{Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// start places cmd in c and reaps it in the background.
func start(t *testing.T, c contain.Container, cmd *exec.Cmd) func() error {
	t.Helper()
	return testchild.Start(t, c, cmd)
}

func dirOf(c contain.Container) string { return c.(*container).dir }

func TestBackendUsableOnProjectHost(t *testing.T) {
	a := New().Probe()
	if os.Getenv("CI") == "" && !strings.Contains(mustRead(t, "/proc/self/mountinfo"), " - cgroup2 ") {
		t.Skip("no cgroup2 mount on this host; the project's machines have one")
	}
	if !a.Usable {
		t.Fatalf("cgroup v2 must be usable on this host kind: %s", a.Reason)
	}
	if !a.ContainsSetsid || a.OwnerDeath == "" || len(a.Limits) != len(contain.AllLimitKinds) {
		t.Fatalf("incomplete availability: %+v", a)
	}
	t.Logf("probe: %s", a.Reason)
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKillConfirmsWholeTreeIncludingEscapees(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	pidfile := testchild.PidFile(t)
	done := start(t, c, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)

	// The escapes really happened: they are not what holds them.
	if sid, _ := unix.Getsid(tree["setsid"]); sid != tree["setsid"] {
		t.Fatalf("setsid grandchild has session %d, want its own", sid)
	}
	if pg, _ := unix.Getpgid(tree["setpgid"]); pg != tree["setpgid"] {
		t.Fatalf("setpgid grandchild has group %d, want its own", pg)
	}
	pids, err := c.Pids()
	if err != nil {
		t.Fatal(err)
	}
	for role, pid := range tree {
		if !slices.Contains(pids, pid) {
			t.Errorf("%s %d not listed in Pids %v", role, pid, pids)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	began := time.Now()
	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill of 4-process tree confirmed in %v", time.Since(began))
	for role, pid := range tree {
		if testchild.Alive(pid) {
			t.Errorf("%s %d alive after Kill returned", role, pid)
		}
	}
	if err := done(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("child's Wait = %v, want killed", err)
	}
	if pids, _ := c.Pids(); len(pids) != 0 {
		t.Errorf("Pids after Kill = %v", pids)
	}
}

func TestKilledContainerIsNeverReused(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	ctx := context.Background()
	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testchild.Command(testchild.ModeSleep)); !errors.Is(err, contain.ErrClosed) {
		t.Fatalf("Start after Kill = %v, want ErrClosed", err)
	}
	if err := c.Adopt(os.Getpid()); !errors.Is(err, contain.ErrClosed) {
		t.Fatalf("Adopt after Kill = %v, want ErrClosed", err)
	}
}

func TestCloseRemovesCgroupAndIsIdempotent(t *testing.T) {
	b := usable(t)
	c, err := b.New(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := dirOf(c)
	if !strings.HasPrefix(filepath.Base(dir), "tether-"+strconv.Itoa(os.Getpid())+"-") {
		t.Fatalf("cgroup %s is not named tether-<owner pid>-<random>", dir)
	}
	cmd := testchild.Command(testchild.ModeSleep)
	done := start(t, c, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- c.Close(ctx) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	_ = done()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cgroup directory still there after Close: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	for name, err := range map[string]error{
		"Start":  c.Start(testchild.Command(testchild.ModeSleep)),
		"Adopt":  c.Adopt(os.Getpid()),
		"Signal": c.Signal(syscall.SIGTERM),
		"Kill":   c.Kill(ctx),
		"Freeze": c.Freeze(ctx),
	} {
		if !errors.Is(err, contain.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if _, err := c.Pids(); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Pids after Close = %v, want ErrClosed", err)
	}
}

// A cgroup removed under the container (systemd removes the cgroups of a
// scope it stopped, after killing what was in them) held nothing when it
// went: Kill and Close succeed, and the container is closed.
func TestCloseAfterTheCgroupWasRemovedUnderIt(t *testing.T) {
	b := usable(t)
	c, err := b.New(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Sub(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := start(t, s, testchild.Command(testchild.ModeSleep))
	// What systemd's stop does: kill everything, then remove the cgroups.
	dir := dirOf(c)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	_ = done()
	testchild.Poll(t, patience, "the cgroup to empty", func() bool { return !populated(dir) || !exists(dir) })
	if err := os.Remove(dirOf(s)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Kill(ctx); err != nil {
		t.Fatalf("Kill of a removed cgroup: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close of a removed cgroup: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close of its sub: %v", err)
	}
	if err := c.Start(testchild.Command(testchild.ModeSleep)); !errors.Is(err, contain.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestFreezeStopsAndThawResumes(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	file := filepath.Join(t.TempDir(), "appended")
	start(t, c, testchild.Command(testchild.ModeAppend, file))
	size := func() int64 {
		fi, err := os.Stat(file)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	testchild.Poll(t, patience, "the child to append", func() bool { return size() > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	frozenAt := size()
	// While frozen the file must not grow. Observe across several
	// scheduler quanta of the child (it appends every millisecond).
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		if s := size(); s != frozenAt {
			t.Fatalf("file grew from %d to %d while frozen", frozenAt, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	testchild.Poll(t, patience, "the child to append again after thaw", func() bool { return size() > frozenAt })
}

func TestSignalReachesEveryMember(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	pidfile := testchild.PidFile(t)
	done := start(t, c, testchild.Command(testchild.ModeTree, pidfile))
	tree := testchild.WaitTree(t, pidfile, patience)
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, tree.Pids()...)
	if err := done(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("child's Wait = %v, want terminated by SIGTERM", err)
	}
	// SIGTERM does not make the container terminal; it is still usable.
	if err := start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatalf("spawn after SIGTERM: %v", err)
	}
}

func TestStatsCountProcessesAndKeepExitedCPU(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	spin := testchild.Command(testchild.ModeSpin, "300ms")
	if err := start(t, c, spin)(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	cpu, ok := st.CPU.Get()
	if !ok || !st.CPUIncludesExited {
		t.Fatalf("CPU unavailable: %+v", st)
	}
	// Compare with what the spinner itself used (its rusage), not with
	// its 300 ms of wall time: on a loaded host it gets less CPU than
	// that, and the cgroup must count whatever it got.
	own := spin.ProcessState.UserTime() + spin.ProcessState.SystemTime()
	if own <= 0 || cpu < own*9/10 {
		t.Fatalf("CPU of the exited spinner = %v in the cgroup, %v by its own rusage", cpu, own)
	}
	if st.Processes != 0 {
		t.Fatalf("Processes = %d after the only child exited", st.Processes)
	}
	t.Logf("exited spinner's CPU still counted: %v (user %v, system %v)", cpu, st.UserCPU, st.SystemCPU)

	pidfile := testchild.PidFile(t)
	start(t, c, testchild.Command(testchild.ModeTree, pidfile))
	testchild.WaitTree(t, pidfile, patience)
	st, err = c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Processes != 4 {
		t.Fatalf("Processes = %d, want 4 (child, grandchild, setsid, setpgid)", st.Processes)
	}
	// Memory values are unavailable, not zero, where the memory
	// controller is absent (as on hybrid hosts).
	if _, err := os.Stat(filepath.Join(dirOf(c), "memory.current")); err != nil && st.Memory.Valid {
		t.Fatalf("Memory reported %v without memory.current", st.Memory)
	}
}

func TestAdoptRunningProcessAndBadPid(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	outside := testchild.Command(testchild.ModeSleep)
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	done := testchild.Reap(t, outside, nil)
	if err := c.Adopt(outside.Process.Pid); err != nil {
		_ = outside.Process.Kill()
		_ = done()
		t.Fatal(err)
	}
	pids, _ := c.Pids()
	if !slices.Contains(pids, outside.Process.Pid) {
		t.Fatalf("adopted pid %d not in %v", outside.Process.Pid, pids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	_ = done()

	c2 := newContainer(t, b)
	for _, pid := range []int{-5, 0, 1 << 30} {
		var nsp *contain.NoSuchProcessError
		if err := c2.Adopt(pid); !errors.Is(err, contain.ErrNoSuchProcess) || !errors.As(err, &nsp) {
			t.Errorf("Adopt(%d) = %v, want NoSuchProcessError", pid, err)
		}
	}
}

func TestInvalidLimitsCreateNothing(t *testing.T) {
	b := usable(t)
	before := testchild.TetherCgroups()
	for _, l := range []contain.Limit{
		contain.MemoryMax(0), contain.MemoryMax(-1), contain.MaxProcesses(0), contain.MaxProcesses(-3),
		contain.CPUQuota(0), contain.CPUQuota(-1), contain.CPUQuota(math.NaN()), contain.CPUQuota(math.Inf(1)),
		{Kind: "bogus", Value: 1},
	} {
		_, err := b.New(context.Background(), contain.Options{Limits: []contain.Limit{l}})
		var le *contain.LimitError
		if !errors.Is(err, contain.ErrInvalidLimit) || !errors.As(err, &le) {
			t.Errorf("New with %v = %v, want an invalid-limit LimitError", l, err)
		}
	}
	_, err := b.New(context.Background(), contain.Options{Limits: []contain.Limit{contain.MemoryMax(1 << 20), contain.MemoryMax(2 << 20)}})
	if !errors.Is(err, contain.ErrInvalidLimit) {
		t.Errorf("duplicate limit kind: %v", err)
	}
	if after := testchild.TetherCgroups(); len(after) != len(before) {
		t.Fatalf("cgroups left behind: %v", after)
	}
}

// limitsHere reports whether this host's parent cgroup can enforce every
// limit kind, and if not why.
func limitsHere(b *Backend) (bool, string) {
	a := b.Probe()
	for _, l := range a.Limits {
		if !l.Supported {
			return false, string(l.Kind) + ": " + l.Reason
		}
	}
	return true, ""
}

func TestUnenforceableLimitFailsCreation(t *testing.T) {
	b := usable(t)
	if ok, _ := limitsHere(b); ok {
		t.Skip("every controller is available here; TestLimitsEnforced covers this host")
	}
	before := testchild.TetherCgroups()
	for _, l := range []contain.Limit{contain.MemoryMax(64 << 20), contain.MaxProcesses(10), contain.CPUQuota(0.5)} {
		_, err := b.New(context.Background(), contain.Options{Limits: []contain.Limit{l}})
		var le *contain.LimitError
		if !errors.Is(err, contain.ErrUnsupported) || !errors.As(err, &le) || le.Limit != l || le.Reason == "" {
			t.Errorf("New with %v = %v, want a LimitError naming it and matching ErrUnsupported", l, err)
			continue
		}
		t.Logf("%v: %v", l, err)
	}
	if after := testchild.TetherCgroups(); len(after) != len(before) {
		t.Fatalf("cgroups left behind: %v", after)
	}
}

func TestLimitsEnforced(t *testing.T) {
	b := usable(t)
	if ok, why := limitsHere(b); !ok {
		t.Skipf("limit enforcement needs the memory, pids and cpu controllers, not available here (%s); the VM suite runs this test", why)
	}
	t.Run("memory", func(t *testing.T) {
		c := newContainer(t, b, contain.MemoryMax(32<<20))
		err := start(t, c, testchild.Command(testchild.ModeAlloc, strconv.Itoa(256<<20)))()
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("256 MiB allocation under a 32 MiB cap: %v, want killed", err)
		}
		st, _ := c.Stats()
		if n, ok := st.OOMKills.Get(); !ok || n == 0 {
			t.Fatalf("OOMKills = %v, want > 0", st.OOMKills)
		}
	})
	t.Run("processes", func(t *testing.T) {
		// pids.max counts tasks, threads included: a Go child has several.
		c := newContainer(t, b, contain.MaxProcesses(24))
		err := start(t, c, testchild.Command(testchild.ModeSpawn, "40"))()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 {
			t.Fatalf("spawning 40 under pids.max 24: %v, want exit 4 (a spawn refused)", err)
		}
	})
	t.Run("cpu", func(t *testing.T) {
		c := newContainer(t, b, contain.CPUQuota(0.2))
		began := time.Now()
		if err := start(t, c, testchild.Command(testchild.ModeSpin, "1s"))(); err != nil {
			t.Fatal(err)
		}
		wall := time.Since(began)
		st, _ := c.Stats()
		cpu, _ := st.CPU.Get()
		if ratio := float64(cpu) / float64(wall); ratio > 0.3 {
			t.Fatalf("CPU %v over %v wall = %.2f cores, want <= 0.3 under a 0.2 quota", cpu, wall, ratio)
		}
	})
}

func TestConfiguredParentThatDoesNotExist(t *testing.T) {
	usable(t)
	b := New(WithParent("/tether-test-no-such-parent"))
	if a := b.Probe(); a.Usable || !strings.Contains(a.Reason, "does not exist") {
		t.Fatalf("Probe = %+v, want unusable: does not exist", a)
	}
	_, err := b.New(context.Background(), contain.Options{})
	var nu *contain.NotUsableError
	if !errors.Is(err, contain.ErrNotUsable) || !errors.As(err, &nu) {
		t.Fatalf("New = %v, want NotUsableError", err)
	}
	for _, bad := range []string{"relative", "/a/../b", "/a/"} {
		if a := New(WithParent(bad)).Probe(); a.Usable {
			t.Errorf("parent %q accepted", bad)
		}
	}
}

// privateParent makes a parent cgroup for one test, next to where this
// process's containers go, and returns the backend that uses it and its
// directory. It is named tether-<pid>-<name>, so a leak would be caught,
// with a name that is not hex, so no sweep takes it for a container.
func privateParent(t *testing.T, name string) (*Backend, string) {
	t.Helper()
	usable(t)
	h, err := discover()
	if err != nil {
		t.Fatal(err)
	}
	ownDir, _ := h.dirOf(h.own)
	parentDir := filepath.Join(ownDir, "tether-"+strconv.Itoa(os.Getpid())+"-"+name)
	if err := os.Mkdir(parentDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = removeTree(parentDir) })
	return New(WithParent(filepath.Join(h.own, filepath.Base(parentDir)))), parentDir
}

func TestConfiguredParentIsUsed(t *testing.T) {
	b, parentDir := privateParent(t, "testparent")
	c := newContainer(t, b)
	if filepath.Dir(dirOf(c)) != parentDir {
		t.Fatalf("container at %s, want under %s", dirOf(c), parentDir)
	}
	if err := start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
}

func TestSweepRemovesEmptyCgroupsOfDeadOwners(t *testing.T) {
	// Under a parent of its own: the stale cgroups made here look like a
	// dead owner's to every tether process, and the first New of another
	// test binary running at the same time would sweep them (it did, once
	// in 14 CI runs: between the two mkdirs below).
	b, parentDir := privateParent(t, "sweeptest")
	// A pid that certainly belonged to a process that is now dead.
	gone := testchild.Command(testchild.ModeExit, "0")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	suffix := "-" + strconv.FormatInt(int64(os.Getpid()), 16)
	dead := filepath.Join(parentDir, "tether-"+strconv.Itoa(gone.Process.Pid)+suffix)
	// The pid is this live process's, but nothing holds the lock: an
	// owner that died and whose pid was reused (here, by this process).
	reused := filepath.Join(parentDir, "tether-"+strconv.Itoa(os.Getpid())+suffix)
	// PID 1 is alive, but that is not what spares it: the lock taken
	// below, as a live owner holds it.
	live := filepath.Join(parentDir, "tether-1"+suffix)
	for _, d := range []string{dead, reused, live, filepath.Join(dead, "nested")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := lockDir(live)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock(&lock)
	// privateParent's cleanup removes them.
	if a := b.Probe(); !strings.Contains(strings.Join(a.Notes, "\n"), "2 empty cgroup(s) of dead tether owners") {
		t.Fatalf("Probe notes do not report the two stale cgroups: %q", a.Notes)
	}
	newContainer(t, b) // the first New sweeps
	for _, d := range []string{dead, reused} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale cgroup %s not swept: %v", d, err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("cgroup of a live owner was removed: %v", err)
	}
}

// Start refuses, spawning nothing and leaving the caller's SysProcAttr
// as it was, settings that would place the child elsewhere: a cgroup of
// the caller's own, another process group, or setsid with setpgid.
func TestStartRefusesConflictingSysProcAttr(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	for name, attr := range map[string]syscall.SysProcAttr{
		"a cgroup fd":        {UseCgroupFD: true, CgroupFD: 0},
		"another group":      {Setpgid: true, Pgid: os.Getpid()},
		"setsid and setpgid": {Setsid: true, Setpgid: true},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := testchild.Command(testchild.ModeSleep)
			cmd.SysProcAttr = &attr
			if err := c.Start(cmd); err == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatal("Start accepted it")
			}
			if cmd.Process != nil || cmd.SysProcAttr != &attr || attr.UseCgroupFD != (name == "a cgroup fd") {
				t.Errorf("Start changed the refused command: process %v, attr %+v", cmd.Process, cmd.SysProcAttr)
			}
		})
	}
	if pids, _ := c.Pids(); len(pids) != 0 {
		t.Errorf("the container holds %v after refused starts", pids)
	}
}

func TestNoDescriptorLeak(t *testing.T) {
	b := usable(t)
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	// Warm up lazily opened runtime descriptors first.
	c := newContainer(t, b)
	if err := start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
	before := count()
	for range 5 {
		c, err := b.New(context.Background(), contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cmd := testchild.Command(testchild.ModeExit, "0")
		if err := c.Start(cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		_ = c.Freeze(context.Background())
		_ = c.Thaw(context.Background())
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if after := count(); after != before {
		t.Fatalf("descriptors: %d before, %d after five container lifecycles", before, after)
	}
}
