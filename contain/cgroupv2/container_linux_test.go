//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	if a := b.Availability(); !a.Usable {
		t.Skipf("cgroup v2 not usable on this host: %s", a.Reason)
	}
	return b
}

// newContainer makes a container of b with limits, closed at cleanup.
func newContainer(t *testing.T, b *Backend, limits ...contain.Limit) contain.Container {
	t.Helper()
	return testchild.NewContainer(t, b, contain.Options{Limits: limits})
}

func dirOf(c contain.Container) string { return c.(*container).dir }

func TestBackendUsableOnProjectHost(t *testing.T) {
	a := New().Availability()
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

// Close removes the container's cgroup, named tether-<owner pid>-<random>
// so that a sweep can tell whose it was, and afterwards every call that
// acts answers ErrClosed (the suite lets a backend answer nil for Kill or
// an empty list for Pids instead; this one does not).
func TestCloseRemovesTheCgroup(t *testing.T) {
	b := usable(t)
	c, err := b.NewContainer(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := dirOf(c)
	if !strings.HasPrefix(filepath.Base(dir), "tether-"+strconv.Itoa(os.Getpid())+"-") {
		t.Fatalf("cgroup %s is not named tether-<owner pid>-<random>", dir)
	}
	testchild.Sleeper(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone(t, dir)
	if err := c.Kill(ctx); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Kill after Close = %v, want ErrClosed", err)
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
	c, err := b.NewContainer(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Sub(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := testchild.Start(t, s, testchild.Command(testchild.ModeSleep))
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

// Memory values are unavailable, not zero, where the memory controller
// is absent (as on hybrid hosts).
func TestStatsMemoryUnavailableWithoutTheController(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	testchild.Sleeper(t, c)
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(filepath.Join(dirOf(c), "memory.current"))
	if statErr != nil && (st.Memory.Valid || st.MemoryPeak.Valid) {
		t.Fatalf("Memory %v, peak %v reported without memory.current", st.Memory, st.MemoryPeak)
	}
	if statErr == nil && !st.Memory.Valid {
		t.Fatal("Memory unavailable although memory.current exists")
	}
}

// limitsHere reports whether this host's parent cgroup can enforce every
// limit kind, and if not why.
func limitsHere(b *Backend) (bool, string) {
	a := b.Availability()
	for _, l := range a.Limits {
		if !l.Supported {
			return false, string(l.Kind) + ": " + l.Reason
		}
	}
	return true, ""
}

func TestLimitsEnforced(t *testing.T) {
	b := usable(t)
	if ok, why := limitsHere(b); !ok {
		t.Skipf("limit enforcement needs the memory, pids and cpu controllers, not available here (%s); the VM suite runs this test", why)
	}
	t.Run("memory", func(t *testing.T) {
		c := newContainer(t, b, contain.MemoryMax(32<<20))
		err := testchild.Start(t, c, testchild.Command(testchild.ModeAlloc, strconv.Itoa(256<<20)))()
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
		err := testchild.Start(t, c, testchild.Command(testchild.ModeSpawn, "40"))()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 {
			t.Fatalf("spawning 40 under pids.max 24: %v, want exit 4 (a spawn refused)", err)
		}
	})
	t.Run("cpu", func(t *testing.T) {
		c := newContainer(t, b, contain.CPUQuota(0.2))
		began := time.Now()
		if err := testchild.Start(t, c, testchild.Command(testchild.ModeSpin, "1s"))(); err != nil {
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
	if a := b.Availability(); a.Usable || !strings.Contains(a.Reason, "does not exist") {
		t.Fatalf("Availability = %+v, want unusable: does not exist", a)
	}
	_, err := b.NewContainer(context.Background(), contain.Options{})
	var nu *contain.NotUsableError
	if !errors.Is(err, contain.ErrNotUsable) || !errors.As(err, &nu) {
		t.Fatalf("NewContainer = %v, want NotUsableError", err)
	}
	for _, bad := range []string{"relative", "/a/../b", "/a/"} {
		if a := New(WithParent(bad)).Availability(); a.Usable {
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
	if err := testchild.Start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatal(err)
	}
}

func TestSweepRemovesEmptyCgroupsOfDeadOwners(t *testing.T) {
	// Under a parent of its own: the stale cgroups made here look like a
	// dead owner's to every tether process, and the first NewContainer of
	// another test binary running at the same time would sweep them (it
	// did, once in 14 CI runs: between the two mkdirs below).
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
	if a := b.Availability(); !strings.Contains(strings.Join(a.Notes, "\n"), "2 empty cgroup(s) of dead tether owners") {
		t.Fatalf("Availability notes do not report the two stale cgroups: %q", a.Notes)
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
// as it was, a cgroup fd of the caller's own: the child would be born
// outside the container. (The suite checks the settings every unix
// backend refuses: another process group, setsid with setpgid.)
func TestStartRefusesACallersCgroupFD(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	attr := syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: 0}
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &attr
	if err := c.Start(cmd); err == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("Start accepted it")
	}
	if cmd.Process != nil || cmd.SysProcAttr != &attr || !attr.UseCgroupFD {
		t.Errorf("Start changed the refused command: process %v, attr %+v", cmd.Process, cmd.SysProcAttr)
	}
	if pids, _ := c.Pids(); len(pids) != 0 {
		t.Errorf("the container holds %v after a refused start", pids)
	}
}
