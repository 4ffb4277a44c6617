//go:build linux

package watchdog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// prefixed with "-" is registered and unregistered again; "cgroup:DIR"
// registers the cgroup directory DIR.
const helperOwner = "owner"

func runOwner(args []string) int {
	for _, a := range args[1:] {
		if dir, ok := strings.CutPrefix(a, "cgroup:"); ok {
			if _, err := watchdog.RegisterCgroup(dir); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
			continue
		}
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
	// Start returns before the watchdog's runtime has started; it ignores
	// the signals as soon as it serves.
	var ign uint64
	want := uint64(0)
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM} {
		want |= 1 << (s - 1)
	}
	testchild.Poll(t, patience, "the watchdog to ignore SIGHUP, SIGINT, SIGQUIT and SIGTERM", func() bool {
		ign = sigIgn(t, wd)
		return ign&want == want
	})
	pg, err := unix.Getpgid(wd)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM} {
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

// sigIgn returns the ignored-signal mask of pid.
func sigIgn(t *testing.T, pid int) uint64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(ln, "SigIgn:\t"); ok {
			n, _ := strconv.ParseUint(v, 16, 64)
			return n
		}
	}
	return 0
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
	// It is the owner's binary, re-executed: its argv[0] is the marker
	// and its kernel name says what it is.
	exe, _ := os.Readlink("/proc/self/exe")
	if got, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", wd)); got != exe {
		t.Errorf("watchdog runs %q, want the owner's binary %q", got, exe)
	}
	if argv, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", wd)); string(argv) != "tether-watchdog\x00" {
		t.Errorf("watchdog argv %q", argv)
	}
	testchild.Poll(t, patience, "the watchdog to name itself", func() bool {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", wd))
		return string(comm) == "tether-watchdog\n"
	})
	// It holds the read end as fd 3 and nowhere else, never the write
	// end, and its standard streams are the null device. (Descriptors
	// the test process itself inherited without O_CLOEXEC would reach
	// every child of it, the watchdog included; there are none here.)
	fds := fdTargets(t, wd)
	for fd, target := range fds {
		if target == pipe && fd != "3" {
			t.Errorf("watchdog holds the pipe as fd %s too", fd)
		}
	}
	info, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/3", wd))
	if fds["3"] != pipe || !readOnly(string(info)) {
		t.Errorf("watchdog fd 3 is %s (%q), want the read end of %s", fds["3"], info, pipe)
	}
	for _, fd := range []string{"0", "1", "2"} {
		if fds[fd] != "/dev/null" {
			t.Errorf("watchdog fd %s is %s, want /dev/null", fd, fds[fd])
		}
	}
	// The owner reaps it: once Stop returns it is gone, not a zombie.
	stop(t)
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", wd)); err == nil {
		st, _ := sysproc.ReadStat(wd)
		t.Errorf("watchdog %d still exists after Stop (state %c)", wd, st.State)
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
	table := watchdog.TablePath()
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
			if target == table {
				t.Errorf("child %d inherited the registration table (%s) as fd %s", cmd.Process.Pid, table, fd)
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
	// EPIPE needs every reader gone: every thread of the watchdog (the
	// leader of a Go program shows as a zombie while its other threads
	// still exit) and any child of it (it has none while idle). The owner
	// reaps it once the last thread is gone.
	testchild.Poll(t, patience, "the killed watchdog to be reaped", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", old))
		return err != nil
	})
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
// TestStartReplacesAKilledWatchdog: Start, the cheap check, replaces a
// killed watchdog once it has been reaped (it reads no /proc entry, so a
// watchdog that is only a zombie may still pass for a moment).
func TestStartReplacesAKilledWatchdog(t *testing.T) {
	first := sleeper(t)
	r := register(t, first)
	old := watchdog.Pid()
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for {
		if err := watchdog.Start(); err != nil {
			t.Fatal(err)
		}
		if now := watchdog.Pid(); now != old {
			if !sysproc.Alive(now) {
				t.Fatalf("after Start the watchdog is pid %d, not alive", now)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Start still keeps the killed watchdog %d after %v", old, patience)
		}
		time.Sleep(time.Millisecond) // polling the reaper, with a deadline
	}
	stop(t)
	testchild.WaitDead(t, patience, first)
	_ = r.Unregister()
}

// TestStartLiveReplacesADyingWatchdog: StartLive replaces a killed
// watchdog as soon as it is a zombie, before it is reaped.
func TestStartLiveReplacesADyingWatchdog(t *testing.T) {
	first := sleeper(t)
	r := register(t, first)
	old := watchdog.Pid()
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, old)
	if err := watchdog.StartLive(); err != nil {
		t.Fatal(err)
	}
	if now := watchdog.Pid(); now == old || !sysproc.Alive(now) {
		t.Fatalf("after StartLive the watchdog is pid %d (the killed one was %d)", now, old)
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
// container: one registration and one unregistration (three writes to
// the table, none of which wakes the watchdog).
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

// TestStartedAsWatchdogOnlyByAllThreeMarks runs the test binary (which
// links this package) in a helper mode that exits 7, with some of the
// marks of a watchdog: it must run the program unless all three are
// there, and never run it when they are (a watchdog of another protocol,
// or without its table, exits 2).
func TestStartedAsWatchdogOnlyByAllThreeMarks(t *testing.T) {
	pipe := func(t *testing.T) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Close() // EOF at once: a watchdog with nothing to do
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	file := func(t *testing.T) *os.File {
		f, err := os.Open(testchild.Exe())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	table := func(t *testing.T) *os.File {
		f, err := os.CreateTemp(testchild.TempDir(t), "table")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("tether-watchdog-table 2\n"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close(); _ = os.Remove(f.Name()) })
		return f
	}
	for _, tc := range []struct {
		name     string
		argv0    string
		env      string
		files    []func(*testing.T) *os.File // fd 3, fd 4
		wantExit int
	}{
		{"program name", "", "TETHER_WATCHDOG_PROTOCOL=2", []func(*testing.T) *os.File{pipe, table}, 7},
		{"no protocol variable", "tether-watchdog", "", []func(*testing.T) *os.File{pipe, table}, 7},
		{"no fd 3", "tether-watchdog", "TETHER_WATCHDOG_PROTOCOL=2", nil, 7},
		{"fd 3 a file", "tether-watchdog", "TETHER_WATCHDOG_PROTOCOL=2", []func(*testing.T) *os.File{file, table}, 7},
		{"another protocol", "tether-watchdog", "TETHER_WATCHDOG_PROTOCOL=1", []func(*testing.T) *os.File{pipe, table}, 2},
		{"no table", "tether-watchdog", "TETHER_WATCHDOG_PROTOCOL=2", []func(*testing.T) *os.File{pipe}, 2},
		{"fd 4 not a table", "tether-watchdog", "TETHER_WATCHDOG_PROTOCOL=2", []func(*testing.T) *os.File{pipe, file}, 2},
		{"a watchdog", "tether-watchdog", "TETHER_WATCHDOG_PROTOCOL=2", []func(*testing.T) *os.File{pipe, table}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := testchild.Command(testchild.ModeExit, "7")
			if tc.argv0 != "" {
				cmd.Args[0] = tc.argv0
			}
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			for _, f := range tc.files {
				cmd.ExtraFiles = append(cmd.ExtraFiles, f(t))
			}
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantExit {
				t.Fatalf("exit %d, want %d", code, tc.wantExit)
			}
		})
	}
}

// oddName is a cgroup name with everything a shell or a parser could
// misread.
const oddName = "odd dir 'q' \"dq\" $HOME `id` *?[a] \\ \tx"

// TestOwnerDeathKillsRegisteredCgroupsAndGroups SIGKILLs an owner that
// registered a cgroup with an odd name (holding a process and a nested
// cgroup with another) and a process group: the watchdog kills all
// three processes and removes both cgroups.
func TestOwnerDeathKillsRegisteredCgroupsAndGroups(t *testing.T) {
	dir := filepath.Join(testchild.OwnCgroupDir(t), "tether-"+strconv.Itoa(os.Getpid())+"-"+oddName)
	nested := filepath.Join(dir, "nested")
	for _, d := range []string{dir, nested} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Skip("cannot create a cgroup here:", err)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{nested, dir} {
			if err := unix.Rmdir(d); err != nil && err != unix.ENOENT {
				t.Errorf("removing %q: %v", d, err)
			}
		}
	})
	inCgroup := func(d string) int {
		fd, err := unix.Open(d, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		cmd := testchild.Command(testchild.ModeSleep)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
		return cmd.Process.Pid
	}
	a, b, g := inCgroup(dir), inCgroup(nested), sleeper(t)
	owner, _, wd := startOwner(t, "block", "cgroup:"+dir, strconv.Itoa(g))
	began := time.Now()
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	el := waitDeadTimed(t, began, ownerDeathBudget, a, b, g)
	t.Logf("owner SIGKILL to a cgroup's and a group's members dead: %v", el)
	testchild.Poll(t, patience, "the watchdog to remove the killed cgroups", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
	testchild.WaitDead(t, patience, wd)
}

// fakeCgroup makes a directory with an empty cgroup.kill file: what the
// watchdog writes to kill a cgroup, so a test can see whether it did.
func fakeCgroup(t *testing.T) (dir string, killed func() bool) {
	t.Helper()
	dir = filepath.Join(testchild.TempDir(t), "tether-0-000000000000")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kill := filepath.Join(dir, "cgroup.kill")
	if err := os.WriteFile(kill, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir, func() bool {
		b, err := os.ReadFile(kill)
		return err == nil && len(b) > 0
	}
}

// A withdrawn cgroup's slot is given to the next registration at once:
// the new one must count, and the old one must not.
func TestWithdrawnSlotReusedAtOnce(t *testing.T) {
	stop(t) // a watchdog of this test's own, with no slots in use
	dir, killed := fakeCgroup(t)
	r, err := watchdog.RegisterCgroup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Unregister(); err != nil {
		t.Fatal(err)
	}
	victim := sleeper(t)
	reused := register(t, victim) // the slot the cgroup had
	stop(t)
	testchild.WaitDead(t, patience, victim)
	if killed() {
		t.Error("the watchdog killed a cgroup withdrawn before the next registration")
	}
	_ = reused.Unregister()
}

// A watchdog started after one was killed is given the same table:
// every live registration, and none withdrawn.
func TestNewWatchdogGetsOnlyLiveRegistrations(t *testing.T) {
	stop(t)
	dir, killed := fakeCgroup(t)
	r, err := watchdog.RegisterCgroup(dir)
	if err != nil {
		t.Fatal(err)
	}
	victim := sleeper(t)
	live := register(t, victim)
	if err := r.Unregister(); err != nil {
		t.Fatal(err)
	}
	old := watchdog.Pid()
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, old)
	if err := watchdog.StartLive(); err != nil { // a new watchdog, with victim's group in its table
		t.Fatal(err)
	}
	second := sleeper(t)
	reused := register(t, second) // the cgroup's old slot
	stop(t)
	testchild.WaitDead(t, patience, victim, second)
	if killed() {
		t.Error("the new watchdog killed the cgroup withdrawn before it started")
	}
	_, _ = live.Unregister(), reused.Unregister()
}

// switches sums the context switches of every thread of pid.
func switches(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, e.Name()))
		if err != nil {
			continue // a thread that just ended
		}
		for _, ln := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(ln, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.Atoi(strings.TrimSpace(v))
				n += c
			}
		}
	}
	return n
}

// Registrations go into the table, not to the watchdog: 2,000 of them,
// each withdrawn, must not wake it 2,000 times (the line protocol did,
// twice a run). The watchdog's runtime still wakes on its own (sysmon),
// so the bound is generous.
func TestRegistrationsDoNotWakeTheWatchdog(t *testing.T) {
	if err := watchdog.Start(); err != nil {
		t.Fatal(err)
	}
	wd := watchdog.Pid()
	victim := sleeper(t)
	before := switches(t, wd)
	const n = 2000
	for range n {
		if err := register(t, victim).Unregister(); err != nil {
			t.Fatal(err)
		}
	}
	woke := switches(t, wd) - before
	t.Logf("%d registrations and withdrawals: the watchdog switched %d times", n, woke)
	if woke > n/4 {
		t.Errorf("the watchdog switched %d times for %d registrations and withdrawals", woke, n)
	}
}

// Without memfd_create (Linux before 3.17, a seccomp filter) the table
// is an unlinked temporary file, and the watchdog works the same.
func TestTableWithoutMemfd(t *testing.T) {
	stop(t) // the next watchdog makes a new table
	restore := watchdog.WithoutMemfd()
	defer restore()
	victim := sleeper(t)
	r := register(t, victim)
	if p := watchdog.TablePath(); !strings.Contains(p, "tether-watchdog-") || !strings.HasSuffix(p, " (deleted)") {
		t.Errorf("the table is %q, want an unlinked temporary file", p)
	}
	stop(t)
	testchild.WaitDead(t, patience, victim)
	_ = r.Unregister()
}
