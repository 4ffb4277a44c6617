//go:build linux

package watchdog_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

const patience = testchild.Patience

// ownerDeathBudget is what tether promises: on Linux the tree is dead
// within 2 s of the owner's death.
const ownerDeathBudget = 2 * time.Second

// helperOwner registers process groups with its own watchdog, prints
// "watchdog <pid>" and "ready", then blocks (args[0] "block") or exits 0
// (args[0] "exit"). Each further argument is a pgid to register; a pgid
// prefixed with "-" is registered and unregistered again.
const helperOwner = "owner"

func runOwner(args []string) int {
	for _, a := range args[1:] {
		pg, err := strconv.Atoi(strings.TrimPrefix(a, "-"))
		if err != nil {
			return 2
		}
		r, err := watchdog.RegisterGroup(pg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if strings.HasPrefix(a, "-") {
			if err := r.Unregister(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
		}
	}
	if err := watchdog.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	fmt.Printf("watchdog %d\nready\n", watchdog.Pid())
	if args[0] == "exit" {
		return 0
	}
	for {
		time.Sleep(time.Hour)
	}
}

// startOwner runs the helper owner and returns it, with its watchdog's
// pid, once it is ready. A cleanup kills and reaps it.
func startOwner(t *testing.T, args ...string) (owner *exec.Cmd, wait func() error, watchdogPid int) {
	t.Helper()
	h := testchild.StartHelper(t, helperOwner, args...)
	if _, err := fmt.Fscanf(h.Out, "watchdog %d\nready\n", &watchdogPid); err != nil {
		h.Fail(t, "helper owner: %v", err)
	}
	return h.Cmd, h.Wait, watchdogPid
}

// sleeper starts a child that leads a process group of its own and
// returns its pid, which is the group's id. A cleanup kills and reaps it.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
	return cmd.Process.Pid
}

func register(t *testing.T, pgid int) *watchdog.Registration {
	t.Helper()
	r, err := watchdog.RegisterGroup(pgid)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

func stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := watchdog.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// assertAlive fails for every pid that is dead. Called after the
// watchdog has exited, so whatever it was going to kill is dead already.
func assertAlive(t *testing.T, what string, pids ...int) {
	t.Helper()
	for _, p := range pids {
		if !sysproc.Alive(p) {
			t.Errorf("%s %d was killed", what, p)
		}
	}
}

// waitDeadTimed polls tightly, so the measured latency is not the poll's.
func waitDeadTimed(t *testing.T, since time.Time, budget time.Duration, pids ...int) time.Duration {
	t.Helper()
	for {
		alive := 0
		for _, p := range pids {
			if sysproc.Alive(p) {
				alive++
			}
		}
		el := time.Since(since)
		if alive == 0 {
			return el
		}
		if el > budget {
			t.Fatalf("%d of %v still alive %v after the owner died", alive, pids, el)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func TestManyRegistrationsOnlyLiveOnesAreKilled(t *testing.T) {
	victim, spared := sleeper(t), sleeper(t)
	before := watchdog.Registered()
	const n = 300
	var regs []*watchdog.Registration
	for range n {
		regs = append(regs, register(t, spared), register(t, victim))
	}
	if got := watchdog.Registered(); got != before+2*n {
		t.Fatalf("Registered = %d, want %d", got, before+2*n)
	}
	// Withdraw every registration but the last of victim; the slots are
	// reused by the next round, which must not resurrect any.
	for i, r := range regs {
		if i != len(regs)-1 {
			if err := r.Unregister(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 50 {
		if err := register(t, spared).Unregister(); err != nil {
			t.Fatal(err)
		}
	}
	if got := watchdog.Registered(); got != before+1 {
		t.Fatalf("Registered = %d after unregistering, want %d", got, before+1)
	}
	stop(t)
	testchild.WaitDead(t, patience, victim)
	assertAlive(t, "unregistered group", spared)
}

func TestOwnerDeathKillsRegisteredGroupsOnly(t *testing.T) {
	a, b, spared := sleeper(t), sleeper(t), sleeper(t)
	owner, _, wd := startOwner(t, "block", strconv.Itoa(a), "-"+strconv.Itoa(spared), strconv.Itoa(b))
	began := time.Now()
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	el := waitDeadTimed(t, began, ownerDeathBudget, a, b)
	t.Logf("owner SIGKILL to registered groups dead: %v", el)
	testchild.WaitDead(t, patience, wd)
	assertAlive(t, "unregistered group", spared)
}

func TestNormalExitKillsOnlyWhatIsRegistered(t *testing.T) {
	left, spared := sleeper(t), sleeper(t)
	_, wait, wd := startOwner(t, "exit", "-"+strconv.Itoa(spared))
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, wd)
	assertAlive(t, "unregistered group of a cleanly exited owner", spared)

	// An owner that exits with a registration left (a container it did
	// not close) takes that tree with it: that is the contract.
	_, wait, wd = startOwner(t, "exit", strconv.Itoa(left), "-"+strconv.Itoa(spared))
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, wd, left)
	assertAlive(t, "unregistered group", spared)
}

func TestIgnoresTerminalSignals(t *testing.T) {
	victim := sleeper(t)
	r := register(t, victim)
	wd := watchdog.Pid()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", wd))
	if err != nil {
		t.Fatal(err)
	}
	var ign uint64
	for _, ln := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(ln, "SigIgn:\t"); ok {
			ign, _ = strconv.ParseUint(v, 16, 64)
		}
	}
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM} {
		if ign&(1<<(s-1)) == 0 {
			t.Errorf("watchdog does not ignore %v (SigIgn %#x)", s, ign)
		}
	}
	pg, err := unix.Getpgid(wd)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM} {
		if err := unix.Kill(wd, s); err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(-pg, s); err != nil {
			t.Fatal(err)
		}
	}
	// A fatal signal would have ended it before it could read again; it
	// still kills what is registered when the pipe closes, so it lived.
	stop(t)
	testchild.WaitDead(t, patience, victim)
	_ = r.Unregister() // dropped by Stop: a no-op
}

func fdTargets(t *testing.T, pid int) map[string]string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
			out[e.Name()] = target
		}
	}
	return out
}

func TestWatchdogIsolation(t *testing.T) {
	if err := watchdog.Start(); err != nil {
		t.Fatal(err)
	}
	wd, ino := watchdog.Pid(), watchdog.PipeInode()
	pipe := fmt.Sprintf("pipe:[%d]", ino)

	// Own session and process group, apart from the owner's.
	wsid, _ := unix.Getsid(wd)
	wpg, _ := unix.Getpgid(wd)
	if wsid != wpg || wpg == unix.Getpgrp() || wsid == mustSid(t) {
		t.Errorf("watchdog sid %d pgid %d; owner sid %d pgid %d", wsid, wpg, mustSid(t), unix.Getpgrp())
	}
	// Not in any tether cgroup: where the owner is.
	own, _ := os.ReadFile("/proc/self/cgroup")
	its, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", wd))
	if string(own) != string(its) || strings.Contains(string(its), "/tether-") {
		t.Errorf("watchdog cgroups %q, owner's %q", its, own)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", wd)); cwd != "/" {
		t.Errorf("watchdog cwd %q pins a directory", cwd)
	}
	// It holds the read end as stdin and nowhere else, never the write
	// end, and its output goes to /dev/null. (Descriptors the test
	// process itself inherited without O_CLOEXEC reach every child of
	// it, the watchdog included; they are not the watchdog's doing.)
	// Start returns once the launcher has reported the pid, which may be
	// before the watchdog has applied its redirections (the shell briefly
	// copies descriptors to 10 and up while it does), so wait for that.
	var fds map[string]string
	testchild.Poll(t, patience, "the watchdog to hold the pipe as fd 0 only", func() bool {
		fds = fdTargets(t, wd)
		for fd, target := range fds {
			if target == pipe && fd != "0" {
				return false
			}
		}
		return fds["0"] == pipe
	})
	info, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/0", wd))
	if fds["0"] != pipe || !readOnly(string(info)) {
		t.Errorf("watchdog fd 0 is %s (%q), want the read end of %s", fds["0"], info, pipe)
	}
	if fds["1"] != "/dev/null" || fds["2"] != "/dev/null" {
		t.Errorf("watchdog stdout %s, stderr %s; want /dev/null", fds["1"], fds["2"])
	}
	// The launcher was reaped, and the watchdog is not our child: no
	// zombie of ours, now or when it exits.
	if st, err := sysproc.ReadStat(wd); err != nil || st.Ppid == os.Getpid() {
		t.Errorf("watchdog stat %+v, %v: it must not be the owner's child", st, err)
	}
	pids, _ := sysproc.Pids()
	for _, p := range pids {
		if st, err := sysproc.ReadStat(p); err == nil && st.Ppid == os.Getpid() && st.State == 'Z' {
			t.Errorf("zombie child %d (%s) of the owner", p, st.Comm)
		}
	}
}

func mustSid(t *testing.T) int {
	t.Helper()
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

// readOnly reports whether an fdinfo's flags (octal) have O_RDONLY.
func readOnly(fdinfo string) bool {
	for _, ln := range strings.Split(fdinfo, "\n") {
		if v, ok := strings.CutPrefix(ln, "flags:\t"); ok {
			f, err := strconv.ParseUint(v, 8, 64)
			return err == nil && f&unix.O_ACCMODE == unix.O_RDONLY
		}
	}
	return false
}

func TestChildrenDoNotInheritThePipe(t *testing.T) {
	if err := watchdog.Start(); err != nil {
		t.Fatal(err)
	}
	pipe := fmt.Sprintf("pipe:[%d]", watchdog.PipeInode())
	for _, setsid := range []bool{false, true} {
		cmd := testchild.Command(testchild.ModeSleep)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
		// The child has exec'd once its /proc exe is the test binary.
		exe, _ := os.Executable()
		testchild.Poll(t, patience, "child exec", func() bool {
			got, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
			return got == exe
		})
		for fd, target := range fdTargets(t, cmd.Process.Pid) {
			if target == pipe {
				t.Errorf("child %d inherited the watchdog pipe as fd %s", cmd.Process.Pid, fd)
			}
		}
	}
}

func TestRestartAfterWatchdogDies(t *testing.T) {
	first, second := sleeper(t), sleeper(t)
	r1 := register(t, first)
	old := watchdog.Pid()
	// Ours to kill: this test process started it.
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, old)
	// EPIPE needs every reader gone, the watchdog's children included;
	// it has none while idle, so the next write notices at once.
	r2 := register(t, second)
	if now := watchdog.Pid(); now == old || now == 0 {
		t.Fatalf("watchdog pid %d after the old one (%d) died", now, old)
	}
	assertAlive(t, "registered group", first, second)
	// The new watchdog was told about the first registration as well.
	stop(t)
	testchild.WaitDead(t, patience, first, second)
	_, _ = r1.Unregister(), r2.Unregister()
}

// Start replaces a watchdog that was killed, and tells the new one every
// live registration, so that Pid names a live process (the systemd
// backend makes it a member of its scope).
func TestStartReplacesAKilledWatchdog(t *testing.T) {
	first := sleeper(t)
	r := register(t, first)
	old := watchdog.Pid()
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, old)
	if err := watchdog.Start(); err != nil {
		t.Fatal(err)
	}
	if now := watchdog.Pid(); now == old || !sysproc.Alive(now) {
		t.Fatalf("after Start the watchdog is pid %d (the killed one was %d)", now, old)
	}
	stop(t)
	testchild.WaitDead(t, patience, first)
	_ = r.Unregister()
}

func TestRejectsBadRegistrations(t *testing.T) {
	before := watchdog.Registered()
	for _, dir := range []string{"", "relative/x", "/", "/a/../b", "/a/b/", "/a\nb", "/a ", "/" + strings.Repeat("x", 5000)} {
		if r, err := watchdog.RegisterCgroup(dir); err == nil {
			_ = r.Unregister()
			t.Errorf("RegisterCgroup(%q) succeeded", dir)
		}
	}
	for _, pg := range []int{-5, 0, 1} {
		if r, err := watchdog.RegisterGroup(pg); err == nil {
			_ = r.Unregister()
			t.Errorf("RegisterGroup(%d) succeeded", pg)
		}
	}
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d, want %d", got, before)
	}
	var zero watchdog.Registration
	if err := zero.Unregister(); err != nil || zero.Registered() {
		t.Fatal("the zero Registration must be a no-op")
	}
}

func TestRegistrationFromBeforeStopIsStale(t *testing.T) {
	victim := sleeper(t)
	old := register(t, sleeper(t))
	stop(t) // kills old's group; old's slot is dropped
	fresh := register(t, victim)
	if err := old.Unregister(); err != nil {
		t.Fatal(err)
	}
	if !fresh.Registered() || watchdog.Registered() != 1 {
		t.Fatalf("a stale Unregister withdrew a later registration (Registered = %d)", watchdog.Registered())
	}
	stop(t)
	testchild.WaitDead(t, patience, victim)
}

// BenchmarkRegisterUnregister is the cost the watchdog adds to every
// container: one registration and one unregistration (two pipe writes).
func BenchmarkRegisterUnregister(b *testing.B) {
	cmd := testchild.Command(testchild.ModeSleep)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := watchdog.Start(); err != nil {
		b.Fatal(err)
	}
	b.Run("group", func(b *testing.B) {
		for b.Loop() {
			r, err := watchdog.RegisterGroup(cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Unregister(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a spawn pays: the pipe is drained between iterations, as it
	// is when spawns are not back to back. The loops above measure, in
	// effect, how fast the watchdog (a shell reading a byte at a time)
	// consumes messages once the pipe is full.
	b.Run("group-drained", func(b *testing.B) {
		// Timed by hand: StopTimer and StartTimer stop the world to read
		// memory statistics, which would cost more than what is measured.
		var spent time.Duration
		for b.Loop() {
			for watchdog.PipeBacklog() > 0 {
				runtime.Gosched()
			}
			t0 := time.Now()
			r, err := watchdog.RegisterGroup(cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Unregister(); err != nil {
				b.Fatal(err)
			}
			spent += time.Since(t0)
		}
		b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "owner-ns/op")
	})
	b.Run("cgroup", func(b *testing.B) {
		// Never a real cgroup: a path that cannot exist, so an owner
		// killed mid-benchmark makes the watchdog write nowhere.
		dir := "/nonexistent/tether-bench/tether-1-000000000000"
		for b.Loop() {
			r, err := watchdog.RegisterCgroup(dir)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Unregister(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
