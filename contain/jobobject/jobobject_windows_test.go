//go:build windows

package jobobject_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/internal/testchild"
)

// The reasons the enforcement tests skip under Wine, measured with Wine 8.0.
const (
	skipProcessLimit = "Wine 8 does not enforce Job Object limits (measured: ActiveProcessLimit=1 let a grandchild start)"
	skipMemoryLimit  = "Wine 8 does not enforce Job Object limits (measured: a 64 MiB JobMemoryLimit is accepted and a child in the job allocates 256 MiB)"
	skipCPULimit     = "Wine 8 does not implement Job Object CPU rate control (measured: SetInformationJobObject(JobObjectCpuRateControlInformation) fails with ERROR_INVALID_PARAMETER)"
	skipCPUTimes     = "Wine 8 reports zero job CPU times (measured: TotalUserTime and TotalKernelTime stay 0 after a child spins for 1 s)"
)

// A killed member exits with code 1, as after os.Process.Kill.
func TestKilledChildExitsWithCodeOne(t *testing.T) {
	c := newContainer(t, contain.Options{})
	cmd := testchild.Command(testchild.ModeSleep)
	startIn(t, c, cmd)
	if err := c.Kill(ctxFor(t, killTimeout)); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("child exit code = %d, want 1 (as os.Process.Kill)", code)
	}
}

func TestDetachedNewGroupChildAndItsTreeStayContained(t *testing.T) {
	c := newContainer(t, contain.Options{})
	pf := testchild.PidFile(t)
	cmd := testchild.Command(testchild.ModeTree, pf)
	// The nearest Windows analogue of setsid: no console, own group.
	own := uint32(windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: own}
	callers := cmd.SysProcAttr
	if err := c.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(ctxFor(t, killTimeout)); _ = cmd.Wait() })
	if f := cmd.SysProcAttr.CreationFlags; f != own|windows.CREATE_SUSPENDED {
		t.Errorf("CreationFlags = %#x, want the caller's %#x plus CREATE_SUSPENDED", f, own)
	}
	if callers.CreationFlags != own {
		t.Errorf("Start changed the caller's SysProcAttr: CreationFlags %#x", callers.CreationFlags)
	}
	tr := testchild.WaitTree(t, pf, treeTimeout)
	waitMembers(t, c, tr.Pids()...)
	if err := c.Kill(ctxFor(t, killTimeout)); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	assertDeadNow(t, tr)
}

// After Close, Pids and Stats answer ErrClosed and Kill nil (Close
// confirmed the tree dead); the suite lets a backend choose either.
func TestMethodsAfterCloseAnswer(t *testing.T) {
	c, err := jobobject.New().NewContainer(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctxFor(t, killTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pids(); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Pids after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Stats(); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Stats after Close = %v, want ErrClosed", err)
	}
	if err := c.Kill(ctxFor(t, killTimeout)); err != nil {
		t.Errorf("Kill after Close = %v, want nil", err)
	}
}

// A container killed between the creation of the suspended child and its
// placement refuses it: the child is terminated before it runs a single
// instruction, and reaped.
func TestKillDuringStartTerminatesChildBeforeItRuns(t *testing.T) {
	c := newContainer(t, contain.Options{})
	out := filepath.Join(testchild.TempDir(t), "appended")
	cmd := testchild.Command(testchild.ModeAppend, out)
	defer jobobject.SetHookCreated(func() {
		if err := c.Kill(ctxFor(t, killTimeout)); err != nil {
			t.Error(err)
		}
	})()
	if err := c.Start(cmd); !errors.Is(err, contain.ErrClosed) {
		t.Fatalf("Start killed meanwhile = %v, want ErrClosed", err)
	}
	if cmd.ProcessState == nil {
		t.Error("Start did not reap the child it refused")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the child ran although placement failed (stat: %v)", err)
	}
}

// Every child roots a console process group of its own
// (CREATE_NEW_PROCESS_GROUP), set on Start's copy of the SysProcAttr.
func TestStartGivesTheChildAProcessGroupOfItsOwn(t *testing.T) {
	c := newContainer(t, contain.Options{})
	cmd := testchild.Command(testchild.ModeSleep)
	callers := &syscall.SysProcAttr{HideWindow: true}
	cmd.SysProcAttr = callers
	if err := start(c, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctxFor(t, killTimeout)); _ = cmd.Wait() })
	if cmd.SysProcAttr.CreationFlags&windows.CREATE_NEW_PROCESS_GROUP == 0 || !cmd.SysProcAttr.HideWindow {
		t.Errorf("the child's SysProcAttr %+v lacks CREATE_NEW_PROCESS_GROUP or the caller's HideWindow", cmd.SysProcAttr)
	}
	if callers.CreationFlags != 0 {
		t.Errorf("Start changed the caller's SysProcAttr: CreationFlags %#x", callers.CreationFlags)
	}
}

// What a job can measure: no current memory and no OOM count ever; CPU
// times, including exited members, and the peak on Windows, not under
// Wine, whose values are fake zeros.
func TestStatsSayWhatAJobMeasures(t *testing.T) {
	c := newContainer(t, contain.Options{})
	pf := testchild.PidFile(t)
	startTree(t, c, testchild.Command(testchild.ModeTree, pf), pf)
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Memory.Valid || s.OOMKills.Valid {
		t.Errorf("Stats reports Memory %v and OOMKills %v; a job has no source for either", s.Memory, s.OOMKills)
	}
	if jobobject.UnderWine() {
		if s.CPU.Valid || s.UserCPU.Valid || s.SystemCPU.Valid || s.MemoryPeak.Valid {
			t.Errorf("under Wine Stats reports CPU %v user %v system %v peak %v; Wine's values are fake zeros",
				s.CPU, s.UserCPU, s.SystemCPU, s.MemoryPeak)
		}
	} else if !s.CPU.Valid || !s.CPUIncludesExited || !s.MemoryPeak.Valid || s.MemoryPeak.Value == 0 {
		t.Errorf("Stats = %+v, want CPU including exited members and a non-zero peak", s)
	}
}

func TestPidsGrowsItsBufferForLargeTrees(t *testing.T) {
	t.Cleanup(jobobject.SetPidListInitial(1))
	c := newContainer(t, contain.Options{})
	pf := testchild.PidFile(t)
	tr := startTree(t, c, testchild.Command(testchild.ModeTree, pf), pf)
	got, err := c.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tr) {
		t.Fatalf("Pids with a 1-slot first buffer = %v, want the %d members %v", got, len(tr), tr)
	}
}

func TestAdoptRefusesTheOwnerItself(t *testing.T) {
	c := newContainer(t, contain.Options{})
	if err := c.Adopt(os.Getpid()); err == nil {
		t.Fatal("Adopt(own pid) succeeded: closing the container would kill the test")
	}
	if pids, err := c.Pids(); err != nil || len(pids) != 0 {
		t.Fatalf("Pids after a refused Adopt = %v, %v; want none", pids, err)
	}
}

func TestSignalKillTerminatesTreeButKeepsContainerOpen(t *testing.T) {
	c := newContainer(t, contain.Options{})
	pf := testchild.PidFile(t)
	tr := startTree(t, c, testchild.Command(testchild.ModeTree, pf), pf)
	if err := c.Signal(os.Kill); err != nil {
		t.Fatalf("Signal(os.Kill): %v", err)
	}
	testchild.WaitDead(t, killTimeout, tr.Pids()...)

	// Signal is not Kill: the container still accepts a new member.
	cmd := testchild.Command(testchild.ModeExit, "7")
	startIn(t, c, cmd)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Fatalf("a child started after Signal(os.Kill) exited %d, want 7", code)
	}
}

func TestAvailabilityReportsJobObjectsUsable(t *testing.T) {
	a := jobobject.New().Availability()
	if !a.Usable || a.Mechanism != contain.JobObject || !a.ContainsSetsid {
		t.Fatalf("Availability = %+v, want usable job objects that contain detached descendants", a)
	}
	if !strings.Contains(a.OwnerDeath, "KILL_ON_JOB_CLOSE") {
		t.Errorf("OwnerDeath = %q, want it to name KILL_ON_JOB_CLOSE", a.OwnerDeath)
	}
	var kinds []contain.LimitKind
	for _, l := range a.Limits {
		kinds = append(kinds, l.Kind)
		if jobobject.UnderWine() && (l.Supported || l.Reason != jobobject.WineLimitsReason) {
			t.Errorf("under Wine limit %s = %+v, want unsupported: %q", l.Kind, l, jobobject.WineLimitsReason)
		}
	}
	if !slices.Equal(kinds, contain.AllLimitKinds) {
		t.Errorf("Availability limit kinds = %v, want %v", kinds, contain.AllLimitKinds)
	}
}

func TestLimitsUnderWineAreRefusedNotFaked(t *testing.T) {
	if !jobobject.UnderWine() {
		t.Skip("not under Wine: real Windows enforces limits (see the enforcement tests)")
	}
	for _, l := range []contain.Limit{contain.MemoryMax(64 << 20), contain.MaxProcesses(1), contain.CPUQuota(0.5)} {
		c, err := jobobject.New().NewContainer(context.Background(), contain.Options{Limits: []contain.Limit{l}})
		if c != nil {
			_ = c.Close(context.Background())
			t.Errorf("NewContainer(%v) under Wine created a container that would not enforce it", l)
		}
		var le *contain.LimitError
		if !errors.As(err, &le) || !errors.Is(err, contain.ErrUnsupported) ||
			le.Mechanism != contain.JobObject || le.Reason != jobobject.WineLimitsReason || le.Limit != l {
			t.Errorf("NewContainer(%v) under Wine = %#v, want a *contain.LimitError matching ErrUnsupported", l, err)
		}
	}
}

func TestProcessLimitRefusesGrandchild(t *testing.T) {
	if jobobject.UnderWine() {
		t.Skip(skipProcessLimit)
	}
	c := newContainer(t, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(1)}})
	cmd := testchild.Command(testchild.ModeTree, testchild.PidFile(t))
	startIn(t, c, cmd)
	_ = cmd.Wait()
	// ModeTree exits 3 when it cannot start a grandchild.
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("tree child under a 1-process cap exited %d, want 3 (grandchild refused)", code)
	}
}

func TestMemoryLimitStopsAllocatingChild(t *testing.T) {
	if jobobject.UnderWine() {
		t.Skip(skipMemoryLimit)
	}
	c := newContainer(t, contain.Options{Limits: []contain.Limit{contain.MemoryMax(64 << 20)}})
	cmd := helperCommand(helperAlloc, "256")
	var out strings.Builder
	cmd.Stdout = &out
	startIn(t, c, cmd)
	err := cmd.Wait()
	if err == nil || strings.Contains(out.String(), "allocated") {
		t.Fatalf("a child under a 64 MiB cap allocated 256 MiB (err %v, output %q)", err, out.String())
	}
}

func TestCPUTimeCountsSpinningChild(t *testing.T) {
	if jobobject.UnderWine() {
		t.Skip(skipCPUTimes)
	}
	c := newContainer(t, contain.Options{})
	cmd := testchild.Command(testchild.ModeSpin, "300ms")
	startIn(t, c, cmd)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !s.CPU.Valid || !s.CPUIncludesExited || s.CPU.Value < 100*time.Millisecond {
		t.Fatalf("Stats after a 300 ms spin: CPU %v (includes exited %v), want at least 100ms", s.CPU, s.CPUIncludesExited)
	}
}

func TestCPUQuotaCapsSpinningChild(t *testing.T) {
	if jobobject.UnderWine() {
		t.Skip(skipCPULimit)
	}
	c := newContainer(t, contain.Options{Limits: []contain.Limit{contain.CPUQuota(0.1)}})
	cmd := testchild.Command(testchild.ModeSpin, "1s")
	began := time.Now()
	startIn(t, c, cmd)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(began)
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// 0.1 cores over the wall time, with generous room for the scheduler's
	// granularity; an uncapped spin would use about the whole wall time.
	if limit := wall / 3; s.CPU.Value > limit {
		t.Fatalf("a child capped at 0.1 cores used %v CPU in %v wall time, want under %v", s.CPU.Value, wall, limit)
	}
}

func TestCPURateRounding(t *testing.T) {
	for _, tc := range []struct {
		cores float64
		ncpu  int
		want  uint32
	}{
		{1, 2, 5000},
		{0.5, 4, 1250},
		{2, 2, 10000},
		{8, 2, 10000},  // above the machine: a no-op 100 % cap
		{0.001, 64, 1}, // finer than Windows can express: the finest cap
		{0.001, 2, 5},
		{1.5, 0, 10000}, // no processor count: treated as one processor
	} {
		if got := jobobject.CPURate(tc.cores, tc.ncpu); got != tc.want {
			t.Errorf("cpuRate(%v cores, %d cpus) = %d, want %d", tc.cores, tc.ncpu, got, tc.want)
		}
	}
}
