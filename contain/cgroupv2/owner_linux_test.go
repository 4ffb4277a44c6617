//go:build linux

package cgroupv2

import (
	"bufio"
	"context"
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

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

// helpers are this package's own helper modes, which need the backend.
var helpers = map[string]testchild.Helper{helperOwner: runOwner, helperNestedOwner: runNestedOwner}

// helperOwner is an owner process for the owner-death tests. Arguments:
// a ModeTree pid file, a parent cgroup ("" for the default) and a count N.
// It creates N containers with KillOnOwnerDeath, starts a ModeTree child
// in the first and a ModeSleep child in each other, prints one
// "cgroup <quoted dir>" line per container, "watchdog <pid>" and "ready",
// and blocks until killed.
const helperOwner = "owner"

func runOwner(args []string) int {
	if len(args) != 3 {
		return 2
	}
	n, err := strconv.Atoi(args[2])
	if err != nil {
		return 2
	}
	b := New()
	if args[1] != "" {
		b = New(WithParent(args[1]))
	}
	return testchild.RunOwner(b, args[0], n, func(c contain.Container) string { return fmt.Sprintf("cgroup %q", dirOf(c)) })
}

// helperNestedOwner is an owner of nested containers for the owner-death
// tests. Argument: a ModeTree pid file. It builds two trees:
//
//	P1 (KillOnOwnerDeath)        registered
//	  S1 (KillOnOwnerDeath)      covered by P1: registers nothing
//	    S1a                      ModeTree child
//	  S2                         ModeSleep child
//	P2                           not registered, holds no process
//	  S3 (KillOnOwnerDeath)      registered itself; ModeSleep child
//	    S3a (KillOnOwnerDeath)   covered by S3; ModeSleep child
//
// It prints "cgroup <quoted dir>" for every cgroup that holds a child
// (S1a, S2, S3, S3a), "removed <quoted dir>" for each registered one (P1,
// S3), "kept <quoted dir>" for P2, "registered N", "watchdog <pid>" and
// "ready", then blocks until killed.
const helperNestedOwner = "nested-owner"

func runNestedOwner(args []string) int {
	if len(args) != 1 {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx := context.Background()
	b := New()
	kood := contain.Options{KillOnOwnerDeath: true}
	run := func(c contain.Container, cmd *exec.Cmd) error {
		if err := c.Start(cmd); err != nil {
			return err
		}
		fmt.Printf("cgroup %q\n", dirOf(c))
		return nil
	}
	p1, err := b.NewContainer(ctx, kood)
	if err != nil {
		return fail(err)
	}
	s1, err := p1.Sub(ctx, kood)
	if err != nil {
		return fail(err)
	}
	s1a, err := s1.Sub(ctx, contain.Options{})
	if err != nil {
		return fail(err)
	}
	s2, err := p1.Sub(ctx, contain.Options{})
	if err != nil {
		return fail(err)
	}
	p2, err := b.NewContainer(ctx, contain.Options{})
	if err != nil {
		return fail(err)
	}
	s3, err := p2.Sub(ctx, kood)
	if err != nil {
		return fail(err)
	}
	s3a, err := s3.Sub(ctx, kood)
	if err != nil {
		return fail(err)
	}
	for _, r := range []struct {
		c   contain.Container
		cmd *exec.Cmd
	}{
		{s1a, testchild.Command(testchild.ModeTree, args[0])},
		{s2, testchild.Command(testchild.ModeSleep)},
		{s3, testchild.Command(testchild.ModeSleep)},
		{s3a, testchild.Command(testchild.ModeSleep)},
	} {
		if err := run(r.c, r.cmd); err != nil {
			return fail(err)
		}
	}
	fmt.Printf("removed %q\nremoved %q\nkept %q\n", dirOf(p1), dirOf(s3), dirOf(p2))
	fmt.Printf("registered %d\nwatchdog %d\nready\n", watchdog.Registered(), watchdog.Pid())
	for {
		time.Sleep(time.Hour)
	}
}

// ownerRun is a started helper owner.
type ownerRun struct {
	cmd      *exec.Cmd
	dirs     []string
	watchdog int
}

func startOwner(t *testing.T, pidfile, parent string, n int) ownerRun {
	t.Helper()
	h := testchild.StartHelper(t, helperOwner, pidfile, parent, strconv.Itoa(n))
	run := ownerRun{cmd: h.Cmd}
	sc := bufio.NewScanner(h.Out)
	for sc.Scan() {
		ln := sc.Text()
		if ln == "ready" {
			return run
		}
		if q, ok := strings.CutPrefix(ln, "cgroup "); ok {
			dir, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("bad line %q", ln)
			}
			run.dirs = append(run.dirs, dir)
			continue
		}
		if _, err := fmt.Sscanf(ln, "watchdog %d", &run.watchdog); err != nil {
			t.Fatalf("bad line %q", ln)
		}
	}
	h.Fail(t, "helper owner ended before it was ready")
	return run
}

// members lists the pids in dir's cgroup.procs.
func members(t *testing.T, dir string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		p, _ := strconv.Atoi(f)
		out = append(out, p)
	}
	return out
}

// oddName is a cgroup name with everything a shell could misread.
const oddName = "odd dir 'q' \"dq\" $HOME `id` *?[a] \\ \tx"

func TestOwnerDeathKillsTreeAndRemovesCgroups(t *testing.T) {
	b := usable(t)
	for _, tc := range []struct {
		name string
		odd  bool
		n    int
	}{
		{"eight containers", false, 8},
		{"parent with spaces and shell characters", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := ""
			if tc.odd {
				s, err := b.resolve()
				if err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(s.parentDir, "tether-"+strconv.Itoa(os.Getpid())+"-"+oddName)
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := removeTree(dir); err != nil {
						t.Errorf("removing the odd parent: %v", err)
					}
				})
				parent = strings.TrimPrefix(dir, s.h.mountpoint)
			}
			pidfile := testchild.PidFile(t)
			run := startOwner(t, pidfile, parent, tc.n)
			tree := testchild.WaitTree(t, pidfile, patience)
			if len(run.dirs) != tc.n || run.watchdog == 0 {
				t.Fatalf("owner reported %d cgroups and watchdog %d", len(run.dirs), run.watchdog)
			}
			pids := tree.Pids()
			for _, dir := range run.dirs[1:] {
				var ms []int
				testchild.Poll(t, patience, "the sleeper in "+dir, func() bool {
					ms = members(t, dir)
					return len(ms) > 0
				})
				pids = append(pids, ms...)
			}
			if tc.odd && !strings.Contains(run.dirs[0], oddName) {
				t.Fatalf("container %q is not under the odd parent", run.dirs[0])
			}
			assertWatchdogApart(t, run.watchdog, tree["child"])

			began := time.Now()
			if err := run.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			dead := waitGone(t, began, func() bool {
				for _, p := range pids {
					if sysproc.Alive(p) {
						return false
					}
				}
				return true
			})
			removed := waitGone(t, began, func() bool {
				for _, dir := range run.dirs {
					if _, err := os.Stat(dir); err == nil {
						return false
					}
				}
				return true
			})
			t.Logf("owner SIGKILL -> %d processes in %d cgroups dead: %v; cgroups removed: %v", len(pids), tc.n, dead, removed)
			testchild.WaitDead(t, patience, run.watchdog)
		})
	}
}

// waitGone polls cond tightly (so the poll does not dominate what is
// measured) until it holds, within the 2 s tether promises after an
// owner's death, and returns the time since began.
func waitGone(t *testing.T, began time.Time, cond func() bool) time.Duration {
	t.Helper()
	const budget = 2 * time.Second
	for !cond() {
		if time.Since(began) > budget {
			t.Fatalf("not done %v after the owner was killed", time.Since(began))
		}
		time.Sleep(200 * time.Microsecond)
	}
	return time.Since(began)
}

// assertWatchdogApart checks that the watchdog is in no tether cgroup and
// not in the tree's process group or session.
func assertWatchdogApart(t *testing.T, wd, child int) {
	t.Helper()
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", wd))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cg), "/tether-") {
		t.Errorf("watchdog %d is in a tether cgroup: %q", wd, cg)
	}
	wpg, _ := unix.Getpgid(wd)
	cpg, _ := unix.Getpgid(child)
	wsid, _ := unix.Getsid(wd)
	csid, _ := unix.Getsid(child)
	if wpg == cpg || wsid == csid || wsid != wpg {
		t.Errorf("watchdog pgid %d sid %d, tree child pgid %d sid %d", wpg, wsid, cpg, csid)
	}
}

func TestOwnerDeathKillsSubTrees(t *testing.T) {
	b := usable(t)
	s, err := b.resolve()
	if err != nil {
		t.Fatal(err)
	}
	pidfile := testchild.PidFile(t)
	var held, removed, kept []string
	// The unregistered parent survives its owner, empty: remove it as
	// the next owner's sweep would. Registered before the helper starts,
	// so it runs after the helper was killed and reaped, once the
	// watchdog has emptied it, even when the test fails early.
	t.Cleanup(func() {
		for _, d := range kept {
			testchild.Poll(t, patience, "removing "+d, func() bool {
				_, err := removeEmptyTree(d)
				return err == nil
			})
		}
	})
	h := testchild.StartHelper(t, helperNestedOwner, pidfile)
	registered, wd := -1, 0
	sc := bufio.NewScanner(h.Out)
	ready := false
	for !ready && sc.Scan() {
		ln := sc.Text()
		word, rest, _ := strings.Cut(ln, " ")
		switch word {
		case "ready":
			ready = true
		case "cgroup", "removed", "kept":
			dir, err := strconv.Unquote(rest)
			if err != nil {
				h.Fail(t, "bad line %q", ln)
			}
			switch word {
			case "cgroup":
				held = append(held, dir)
			case "removed":
				removed = append(removed, dir)
			default:
				kept = append(kept, dir)
			}
		case "registered":
			registered, _ = strconv.Atoi(rest)
		case "watchdog":
			wd, _ = strconv.Atoi(rest)
		default:
			h.Fail(t, "bad line %q", ln)
		}
	}
	if !ready {
		h.Fail(t, "helper owner ended before it was ready")
	}
	if len(held) != 4 || len(removed) != 2 || len(kept) != 1 || wd == 0 {
		t.Fatalf("owner reported cgroups %q, removed %q, kept %q, watchdog %d", held, removed, kept, wd)
	}
	// Two registrations: the top parent and the sub of the unregistered
	// one; their subs are covered by the recursive kill.
	if registered != 2 {
		t.Fatalf("owner made %d watchdog registrations, want 2", registered)
	}
	tree := testchild.WaitTree(t, pidfile, patience)
	pids := tree.Pids()
	for _, dir := range held[1:] {
		var ms []int
		testchild.Poll(t, patience, "the sleeper in "+dir, func() bool {
			ms = members(t, dir)
			return len(ms) > 0
		})
		pids = append(pids, ms...)
	}
	for _, dir := range held {
		if !strings.HasPrefix(dir, s.parentDir+"/") || !strings.Contains(strings.TrimPrefix(dir, s.parentDir), "/"+subPrefix) {
			t.Fatalf("%s is not a sub under %s", dir, s.parentDir)
		}
	}

	began := time.Now()
	if err := h.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	dead := waitGone(t, began, func() bool {
		for _, p := range pids {
			if sysproc.Alive(p) {
				return false
			}
		}
		return true
	})
	cleared := waitGone(t, began, func() bool {
		for _, dir := range append(removed, held...) {
			if _, err := os.Stat(dir); err == nil {
				return false
			}
		}
		return true
	})
	t.Logf("owner SIGKILL -> %d processes in 4 subs (2 levels) dead: %v; registered cgroups removed: %v", len(pids), dead, cleared)
	// Gone is empty too: another tether owner on the host (a test binary
	// running beside this one) may already have swept it, the dead
	// owner's empty cgroup, as the sweep is meant to (populated says
	// "populated" for a file it cannot read).
	if _, err := os.Stat(kept[0]); err == nil && populated(kept[0]) {
		t.Errorf("the unregistered parent %s is populated", kept[0])
	}
	testchild.WaitDead(t, patience, wd)
}

func TestCloseWithdrawsRegistration(t *testing.T) {
	b := usable(t)
	before := watchdog.Registered()
	c, err := b.NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := watchdog.Registered(); got != before+1 {
		t.Fatalf("Registered = %d after New, want %d", got, before+1)
	}
	dir := dirOf(c)
	testchild.Start(t, c, testchild.Command(testchild.ModeSleep))
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d after Close, want %d", got, before)
	}

	// Someone makes a cgroup at the same path and runs a process in it;
	// then the owner's watchdog sees EOF (as at exit). It must leave both
	// alone: the registration was withdrawn.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("removing the re-created cgroup: %v", err)
		}
	})
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
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
	if err := watchdog.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !sysproc.Alive(cmd.Process.Pid) {
		t.Fatal("the watchdog killed a process in a cgroup whose registration was withdrawn")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the watchdog removed a re-created cgroup: %v", err)
	}
}

func TestManyContainersRegisterAndWithdraw(t *testing.T) {
	b := usable(t)
	before := watchdog.Registered()
	const n = 50
	var cs []contain.Container
	for range n {
		c, err := b.NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: true})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	if got := watchdog.Registered(); got != before+n {
		t.Fatalf("Registered = %d, want %d", got, before+n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for _, c := range cs {
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d after Close, want %d", got, before)
	}
}

func TestAvailabilityStatesOwnerDeathWithAndWithoutTheOption(t *testing.T) {
	a := New().Availability()
	for _, want := range []string{"with KillOnOwnerDeath:", "cgroup.kill", "removes the cgroup", "without it: the tree keeps running"} {
		if !strings.Contains(a.OwnerDeath, want) {
			t.Errorf("OwnerDeath %q does not say %q", a.OwnerDeath, want)
		}
	}
}
