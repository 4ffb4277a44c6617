//go:build linux

package pgid

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

const patience = testchild.Patience

// newContainer makes a container, closed at cleanup.
func newContainer(t *testing.T) *container {
	t.Helper()
	return testchild.NewContainer(t, New(), contain.Options{}).(*container)
}

func killCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// startTree starts a ModeTree child in c and waits until both escapees
// have really left the group, so that what the test observes next is the
// documented weakness and not a race with the escape. Cleanup kills the
// escapees by pid: they are out of the container's reach.
func startTree(t *testing.T, c *container) (testchild.Tree, func() error) {
	t.Helper()
	tr, wait := testchild.StartTree(t, c)
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
	if pg, err := unix.Getpgid(tr["grandchild"]); err != nil || pg != tr["child"] {
		t.Fatalf("grandchild: pgid %d, %v; want %d", pg, err, tr["child"])
	}
	return tr, wait
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
			tr, wait := startTree(t, c)
			c.mu.Lock()
			if tc.pidfd && !c.leader.groupSignal {
				c.mu.Unlock()
				t.Skip("kernel lacks PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9+)")
			}
			c.leader.groupSignal = tc.pidfd
			c.mu.Unlock()

			// Kill and reap only the leader: the grandchild stays in the
			// group, whose id is now pinned by the grandchild alone.
			testchild.KillPids(tr["child"])
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

// What a process group can measure: the live members' CPU (user and
// system, summing to the total, exited members not included) and
// resident memory; never a peak or an OOM count.
func TestStatsMeasureTheLiveGroup(t *testing.T) {
	c := newContainer(t)
	startTree(t, c)
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
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

// Adopting the owner itself is refused: closing the container would
// kill the caller.
func TestAdoptRefusesTheOwner(t *testing.T) {
	c := newContainer(t)
	if err := c.Adopt(os.Getpid()); err == nil {
		t.Error("Adopt(self) succeeded")
	}
	if pids, err := c.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("Pids after a refused Adopt = %v, %v", pids, err)
	}
}

func TestSecondCommandJoinsTheLeadersGroup(t *testing.T) {
	c := newContainer(t)
	first := testchild.Command(testchild.ModeSleep)
	testchild.Start(t, c, first)
	second := testchild.Command(testchild.ModeSleep)
	// A SysProcAttr the caller shares must not be changed under it.
	shared := &syscall.SysProcAttr{}
	second.SysProcAttr = shared
	testchild.Start(t, c, second)
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

// A command after the first must join the group as it is: a new session
// or group of its own is refused. (The suite checks what every unix
// backend refuses of a first command.)
func TestStartRejectsConflictingSettings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second bool
		attr   syscall.SysProcAttr
	}{
		{"later: Setsid", true, syscall.SysProcAttr{Setsid: true}},
		{"later: own group", true, syscall.SysProcAttr{Setpgid: true}},
		{"later: another group", true, syscall.SysProcAttr{Setpgid: true, Pgid: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newContainer(t)
			if tc.second {
				testchild.Start(t, c, testchild.Command(testchild.ModeSleep))
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
	testchild.Start(t, c, testchild.Command(testchild.ModeSleep))
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wait := testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
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
	wait := testchild.Start(t, c, leader)
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

// When the leader's pid belongs to a newer process, the group id may have
// been recycled: the container must neither signal nor list it. A live
// leader with a falsified start time stands in for the recycled pid.
func TestRecycledGroupIDIsNeverSignalled(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	if err := c.Start(cmd); err != nil {
		t.Fatal(err)
	}
	wait := testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
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

// The same with the leader's pidfd, which is how a recycled id is told
// when the kernel has pidfds: a pidfd whose process has been reaped
// stands in for the leader's, so the live process holding the group id
// is a stranger to the container.
func TestRecycledGroupIDFoundByPidfd(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	if err := c.Start(cmd); err != nil {
		t.Fatal(err)
	}
	wait := testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
	gone := exec.Command("/bin/true")
	if err := gone.Start(); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(gone.Process.Pid, 0)
	if err != nil {
		t.Skipf("no pidfd_open here (%v): the start-time path is tested above", err)
	}
	_ = gone.Wait()
	c.mu.Lock()
	c.leader.groupSignal = false // the killpg path is the one that trusts the number
	_ = unix.Close(c.leader.fd)
	c.leader.fd, c.leader.startTicks = fd, 0
	c.mu.Unlock()

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
