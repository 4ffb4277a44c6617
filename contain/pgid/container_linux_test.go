//go:build linux

package pgid

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
)

const patience = testchild.Patience

func newContainer(t *testing.T) *Container {
	t.Helper()
	c, err := New().New(context.Background(), contain.Options{})
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
	return c.(*Container)
}

// start places cmd in c and reaps it in the background (testchild.Start).
func start(t *testing.T, c *Container, cmd *exec.Cmd) (wait func() error) {
	t.Helper()
	return testchild.Start(t, c, cmd)
}

// reap is testchild.Reap.
var reap = testchild.Reap

func killCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// startTree starts a ModeTree child in c and waits until both escapees
// have really left the group, so that what the test observes next is the
// documented weakness and not a race with the escape. Cleanup kills the
// escapees by pid: they are out of the container's reach.
func startTree(t *testing.T, c *Container) (*exec.Cmd, testchild.Tree, func() error) {
	t.Helper()
	pidfile := testchild.PidFile(t)
	cmd := testchild.Command(testchild.ModeTree, pidfile)
	wait := start(t, c, cmd)
	tr := testchild.WaitTree(t, pidfile, patience)
	escapees := []int{tr["setsid"], tr["setpgid"]}
	t.Cleanup(func() {
		testchild.KillPids(escapees...)
		testchild.WaitDead(t, patience, escapees...)
	})
	testchild.Poll(t, patience, "the escapees to leave the group", func() bool {
		sid, err1 := unix.Getsid(tr["setsid"])
		pg, err2 := unix.Getpgid(tr["setpgid"])
		return err1 == nil && err2 == nil && sid == tr["setsid"] && pg == tr["setpgid"]
	})
	for _, p := range escapees {
		if pg, err := unix.Getpgid(p); err != nil || pg == cmd.Process.Pid {
			t.Fatalf("escapee %d: pgid %d, %v; want a group of its own", p, pg, err)
		}
	}
	if pg, err := unix.Getpgid(tr["grandchild"]); err != nil || pg != cmd.Process.Pid {
		t.Fatalf("grandchild: pgid %d, %v; want %d", pg, err, cmd.Process.Pid)
	}
	return cmd, tr, wait
}

func TestKillKillsTheGroupButNotTheEscapees(t *testing.T) {
	c := newContainer(t)
	_, tr, wait := startTree(t, c)

	begin := time.Now()
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal("Kill:", err)
	}
	t.Logf("kill to confirmed death: %v", time.Since(begin))
	for _, role := range []string{"child", "grandchild"} {
		if testchild.Alive(tr[role]) {
			t.Errorf("%s %d is alive after Kill", role, tr[role])
		}
	}
	// The documented weakness: whoever leaves the group escapes Kill.
	for _, role := range []string{"setsid", "setpgid"} {
		if !testchild.Alive(tr[role]) {
			t.Errorf("escapee %s %d died: the test no longer shows the weakness", role, tr[role])
		}
	}
	var ee *exec.ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("child's Wait = %v, want killed by SIGKILL", err)
	}
	if err := c.Start(testchild.Command(testchild.ModeSleep)); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Start after Kill = %v, want ErrClosed", err)
	}
}

func TestKillReachesTheGroupAfterTheLeaderIsReaped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pidfd bool
	}{
		{"pidfd group signal", true},
		{"killpg fallback", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newContainer(t)
			cmd, tr, wait := startTree(t, c)
			c.mu.Lock()
			if tc.pidfd && !c.leader.groupSignal {
				c.mu.Unlock()
				t.Skip("kernel lacks PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9+)")
			}
			c.leader.groupSignal = tc.pidfd
			c.mu.Unlock()

			// Kill and reap only the leader: the grandchild stays in the
			// group, whose id is now pinned by the grandchild alone.
			_ = cmd.Process.Kill()
			_ = wait()
			if !testchild.Alive(tr["grandchild"]) {
				t.Fatal("grandchild died with the leader")
			}
			if pids, err := c.Pids(); err != nil || !slices.Equal(pids, []int{tr["grandchild"]}) {
				t.Fatalf("Pids = %v, %v; want only the grandchild %d", pids, err, tr["grandchild"])
			}
			if err := c.Kill(killCtx(t)); err != nil {
				t.Fatal("Kill:", err)
			}
			if testchild.Alive(tr["grandchild"]) {
				t.Fatal("grandchild is alive after Kill")
			}
		})
	}
}

func TestPidsAndStatsCountTheGroupButNotTheEscapees(t *testing.T) {
	c := newContainer(t)
	_, tr, _ := startTree(t, c)

	want := []int{tr["child"], tr["grandchild"]}
	slices.Sort(want)
	pids, err := c.Pids()
	if err != nil || !slices.Equal(pids, want) {
		t.Fatalf("Pids = %v, %v; want %v", pids, err, want)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Processes != 2 {
		t.Errorf("Stats.Processes = %d, want 2", st.Processes)
	}
	if !st.CPU.Valid || !st.UserCPU.Valid || !st.SystemCPU.Valid || st.CPUIncludesExited {
		t.Errorf("CPU = %v user %v system %v includes exited %v; want available, live members only",
			st.CPU, st.UserCPU, st.SystemCPU, st.CPUIncludesExited)
	}
	if st.CPU.Value != st.UserCPU.Value+st.SystemCPU.Value {
		t.Errorf("CPU %v != user %v + system %v", st.CPU.Value, st.UserCPU.Value, st.SystemCPU.Value)
	}
	if m, ok := st.Memory.Get(); !ok || m == 0 {
		t.Errorf("Memory = %v, want the members' resident set", st.Memory)
	}
	if st.MemoryPeak.Valid || st.OOMKills.Valid {
		t.Errorf("MemoryPeak %v, OOMKills %v: a process group cannot measure them", st.MemoryPeak, st.OOMKills)
	}
}

func TestStatsSumsCPU(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeAppend, t.TempDir()+"/out")
	start(t, c, cmd)
	testchild.Poll(t, patience, "the child to use CPU time", func() bool {
		st, err := c.Stats()
		return err == nil && st.CPU.Value > 0
	})
}

// fileSize returns the size of path, or -1.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func TestFreezeStopsAndThawResumes(t *testing.T) {
	c := newContainer(t)
	out := t.TempDir() + "/out"
	cmd := testchild.Command(testchild.ModeAppend, out)
	start(t, c, cmd)
	testchild.Poll(t, patience, "the child to write", func() bool { return fileSize(out) > 0 })

	if err := c.Freeze(killCtx(t)); err != nil {
		t.Fatal("Freeze:", err)
	}
	st, err := sysproc.ReadStat(cmd.Process.Pid)
	if err != nil || st.State != 'T' {
		t.Fatalf("child state %q, %v after Freeze; want T", st.State, err)
	}
	// The child appends every millisecond: across these samples a running
	// child would have grown the file many times over.
	frozen := fileSize(out)
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		if n := fileSize(out); n != frozen {
			t.Fatalf("file grew from %d to %d bytes after Freeze", frozen, n)
		}
	}

	if err := c.Thaw(killCtx(t)); err != nil {
		t.Fatal("Thaw:", err)
	}
	testchild.Poll(t, patience, "the file to grow again", func() bool { return fileSize(out) > frozen })

	// A frozen group still dies on Kill.
	if err := c.Freeze(killCtx(t)); err != nil {
		t.Fatal("second Freeze:", err)
	}
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal("Kill of a frozen group:", err)
	}
	if err := c.Freeze(killCtx(t)); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Freeze after Kill = %v, want ErrClosed", err)
	}
}

func TestCloseKillsAndIsIdempotent(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	wait := start(t, c, cmd)
	if !testchild.Alive(cmd.Process.Pid) {
		t.Fatal("child died before Close")
	}
	for i := range 3 {
		if err := c.Close(killCtx(t)); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if testchild.Alive(cmd.Process.Pid) {
		t.Fatal("child alive after Close")
	}
	_ = wait()
	if err := c.Start(testchild.Command(testchild.ModeSleep)); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if err := c.Adopt(os.Getppid()); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Adopt after Close = %v, want ErrClosed", err)
	}
	if err := c.Signal(syscall.SIGTERM); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Signal after Close = %v, want ErrClosed", err)
	}
	if pids, err := c.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("Pids after Close = %v, %v; want none", pids, err)
	}
}

func TestCloseIsSafeConcurrently(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	start(t, c, cmd)
	if !testchild.Alive(cmd.Process.Pid) {
		t.Fatal("child died before Close")
	}
	ctx := killCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			// Readers race the teardown too.
			_, _ = c.Pids()
			_, _ = c.Stats()
			_ = c.Signal(syscall.SIGCONT)
			errs[i] = c.Close(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d: %v", i, err)
		}
	}
	if testchild.Alive(cmd.Process.Pid) {
		t.Fatal("child alive after Close")
	}
}

func TestKillTimesOutWithTeardownError(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	start(t, c, cmd)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Members are confirmed on the first check only once SIGKILL has
	// landed, which an already-cancelled context does not wait for; either
	// outcome is allowed, but a failure must be a TeardownError.
	err := c.Kill(ctx)
	var te *contain.TeardownError
	if err != nil && (!errors.As(err, &te) || !errors.Is(err, contain.ErrTeardownNotConfirmed) || !errors.Is(err, context.Canceled)) {
		t.Fatalf("Kill = %v, want nil or a TeardownError matching context.Canceled", err)
	}
	if err != nil && !slices.Contains(te.Remaining, cmd.Process.Pid) {
		t.Errorf("Remaining = %v, want the child %d", te.Remaining, cmd.Process.Pid)
	}
}

func TestAdoptedProcessIsKilledWithTheContainer(t *testing.T) {
	c := newContainer(t)
	outside := testchild.Command(testchild.ModeSleep)
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	wait := reap(t, outside, func(context.Context) error { return outside.Process.Kill() })
	if err := c.Adopt(outside.Process.Pid); err != nil {
		t.Fatal("Adopt:", err)
	}
	if pids, err := c.Pids(); err != nil || !slices.Equal(pids, []int{outside.Process.Pid}) {
		t.Fatalf("Pids = %v, %v; want the adopted %d", pids, err, outside.Process.Pid)
	}
	if st, err := c.Stats(); err != nil || st.Processes != 1 {
		t.Fatalf("Stats = %+v, %v; want 1 process", st, err)
	}
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal("Kill:", err)
	}
	var ee *exec.ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("adopted child's Wait = %v, want killed by SIGKILL", err)
	}
}

func TestAdoptRejectsMissingProcesses(t *testing.T) {
	c := newContainer(t)

	// A zombie counts as dead, so it cannot be adopted.
	zombie := testchild.Command(testchild.ModeExit, "0")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	testchild.Poll(t, patience, "the child to become a zombie", func() bool {
		st, err := sysproc.ReadStat(zombie.Process.Pid)
		return err == nil && st.State == 'Z'
	})
	zpid := zombie.Process.Pid
	err := c.Adopt(zpid)
	if werr := zombie.Wait(); werr != nil {
		t.Fatal(werr)
	}
	for _, tc := range []struct {
		name string
		pid  int
		err  error
	}{
		{"zombie", zpid, err},
		{"reaped", zpid, c.Adopt(zpid)},
		{"beyond pid_max", 1 << 30, c.Adopt(1 << 30)},
		{"zero", 0, c.Adopt(0)},
	} {
		var ns *contain.NoSuchProcessError
		if !errors.As(tc.err, &ns) || ns.Pid != tc.pid || !errors.Is(tc.err, contain.ErrNoSuchProcess) {
			t.Errorf("Adopt(%s %d) = %v, want a NoSuchProcessError", tc.name, tc.pid, tc.err)
		}
	}
	if err := c.Adopt(os.Getpid()); err == nil {
		t.Error("Adopt(self) succeeded")
	}
}

func TestSecondCommandJoinsTheLeadersGroup(t *testing.T) {
	c := newContainer(t)
	first := testchild.Command(testchild.ModeSleep)
	start(t, c, first)
	second := testchild.Command(testchild.ModeSleep)
	// A SysProcAttr the caller shares must not be changed under it.
	shared := &syscall.SysProcAttr{}
	second.SysProcAttr = shared
	start(t, c, second)
	if shared.Setpgid || shared.Pgid != 0 {
		t.Errorf("Start changed the caller's SysProcAttr: %+v", shared)
	}
	if pg, err := unix.Getpgid(second.Process.Pid); err != nil || pg != first.Process.Pid {
		t.Fatalf("second command: pgid %d, %v; want the leader's %d", pg, err, first.Process.Pid)
	}
	want := []int{first.Process.Pid, second.Process.Pid}
	slices.Sort(want)
	if pids, err := c.Pids(); err != nil || !slices.Equal(pids, want) {
		t.Fatalf("Pids = %v, %v; want %v", pids, err, want)
	}
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, 0, want...)
}

func TestFirstCommandWithSetsidLeadsTheGroup(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start(t, c, cmd)
	if cmd.SysProcAttr.Setpgid {
		t.Fatal("Start added Setpgid to Setsid, which fails with EPERM")
	}
	if pids, err := c.Pids(); err != nil || !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Fatalf("Pids = %v, %v", pids, err)
	}
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, 0, cmd.Process.Pid)
}

func TestStartRejectsConflictingSettings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second bool
		attr   syscall.SysProcAttr
	}{
		{"first: Setsid and Setpgid", false, syscall.SysProcAttr{Setsid: true, Setpgid: true}},
		{"first: joins another group", false, syscall.SysProcAttr{Setpgid: true, Pgid: 1}},
		{"later: Setsid", true, syscall.SysProcAttr{Setsid: true}},
		{"later: own group", true, syscall.SysProcAttr{Setpgid: true}},
		{"later: another group", true, syscall.SysProcAttr{Setpgid: true, Pgid: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newContainer(t)
			if tc.second {
				start(t, c, testchild.Command(testchild.ModeSleep))
			}
			cmd := testchild.Command(testchild.ModeSleep)
			attr := tc.attr
			cmd.SysProcAttr = &attr
			if err := c.Start(cmd); err == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatal("Start accepted conflicting settings")
			}
			if cmd.Process != nil || cmd.SysProcAttr != &attr || attr.Setsid != tc.attr.Setsid || attr.Setpgid != tc.attr.Setpgid || attr.Pgid != tc.attr.Pgid || attr.Pdeathsig != 0 {
				t.Errorf("Start changed the rejected command: process %v, SysProcAttr %+v", cmd.Process, cmd.SysProcAttr)
			}
		})
	}
}

// Start checks that the child it started is really in the group, and
// kills it otherwise. Start itself sets the group, so the check is
// exercised on a child started outside it.
func TestStartKillsAChildOutsideTheGroup(t *testing.T) {
	c := newContainer(t)
	start(t, c, testchild.Command(testchild.ModeSleep))
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wait := reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
	if err := c.record(cmd); err == nil {
		t.Fatal("record accepted a child outside the group")
	}
	var ee *exec.ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("rejected child's Wait = %v, want killed by SIGKILL", err)
	}
}

func TestStartRefusesAGroupThatEnded(t *testing.T) {
	c := newContainer(t)
	leader := testchild.Command(testchild.ModeExit, "0")
	wait := start(t, c, leader)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	cmd := testchild.Command(testchild.ModeSleep)
	if err := c.Start(cmd); err == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("Start joined a group whose only member was reaped")
	}
}

func TestContainerLeaksNoDescriptors(t *testing.T) {
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	lifecycle := func() {
		c, err := New().New(context.Background(), contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cmd := testchild.Command(testchild.ModeSleep)
		if err := c.Start(cmd); err != nil {
			t.Fatal(err)
		}
		outside := testchild.Command(testchild.ModeSleep)
		if err := outside.Start(); err != nil {
			t.Fatal(err)
		}
		if err := c.Adopt(outside.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Stats(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(killCtx(t)); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		_ = outside.Wait()
	}
	lifecycle() // warm up whatever the runtime opens once
	before := count()
	for range 3 {
		lifecycle()
	}
	if after := count(); after != before {
		t.Fatalf("open descriptors: %d before, %d after three container lifecycles", before, after)
	}
}

func TestKernelAtLeast(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"6.9.0", true},
		{"6.18.44", true},
		{"7.0", true},
		{"6.8.12-generic", false},
		{"5.15.0-91-generic", false},
		{"garbage", false},
	} {
		if got := kernelAtLeast(tc.rel, groupSignalMinKernel); got != tc.want {
			t.Errorf("kernelAtLeast(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}

func TestSignalReachesEveryMember(t *testing.T) {
	c := newContainer(t)
	leader := testchild.Command(testchild.ModeSleep)
	waitLeader := start(t, c, leader)
	second := testchild.Command(testchild.ModeSleep)
	waitSecond := start(t, c, second)
	outside := testchild.Command(testchild.ModeSleep)
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	waitOutside := reap(t, outside, func(context.Context) error { return outside.Process.Kill() })
	if err := c.Adopt(outside.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal("Signal:", err)
	}
	for name, wait := range map[string]func() error{"leader": waitLeader, "second": waitSecond, "adopted": waitOutside} {
		var ee *exec.ExitError
		if err := wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("%s: Wait = %v, want terminated by SIGTERM", name, err)
		}
	}
}

// When the leader's pid belongs to a newer process, the group id may have
// been recycled: the container must neither signal nor list it. A live
// leader with a falsified start time stands in for the recycled pid.
func TestRecycledGroupIDIsNeverSignalled(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	if err := c.Start(cmd); err != nil {
		t.Fatal(err)
	}
	wait := reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
	c.mu.Lock()
	c.leader.groupSignal = false // the killpg path is the one that trusts the number
	c.leader.startTicks++
	c.mu.Unlock()

	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal("Signal:", err)
	}
	if pids, err := c.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("Pids = %v, %v; want none for a recycled group id", pids, err)
	}
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal("Kill:", err)
	}
	if !testchild.Alive(cmd.Process.Pid) {
		t.Fatal("the process holding the recycled id was signalled")
	}
	_ = cmd.Process.Kill()
	_ = wait()
}
