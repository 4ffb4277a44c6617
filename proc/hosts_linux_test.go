//go:build linux

package proc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
	"github.com/gotether/tether/proc"
)

// These tests build other hosts out of Linux namespaces and run an owner
// in them: an image with no shell, a container's cgroup namespace with a
// read-only or a writable cgroup2 mount, an owner in a pid namespace of
// its own. The owner is the test binary in helperHostOwner.

func init() { helpers[helperHostOwner] = runHostOwner }

// helperHostOwner is an owner inside a built host. args[0] says what it
// does; it prints one line per fact:
//
//	run     "sh present|absent", "output MECHANISM" (a run's Output),
//	        "group MECHANISM" (a group with a run holding a grandchild and,
//	        under cgroupv2, a setsid grandchild), "ready", then blocks: the
//	        test kills it
//	report  "report JSON" (host.Inspect), "output MECHANISM", "done"
//	noproc  "error JSON" (a run's Output error: its text and what it
//	        matches), "watchdog TEXT" (host.Inspect's Watchdog), "done"
//
// A failure prints "fail TEXT" and exits 3.
const helperHostOwner = "hostowner"

func runHostOwner(args []string) int {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	fail := func(err error) int {
		fmt.Printf("fail %q\n", err.Error())
		return 3
	}
	output := func() bool {
		r, err := child(testchild.ModeExit, "0").Output(ctx)
		if err != nil {
			fmt.Printf("fail %q\n", err.Error())
			return false
		}
		fmt.Printf("output %s\n", r.Mechanism)
		return true
	}
	switch args[0] {
	case "run":
		if _, err := os.Stat("/bin/sh"); err == nil {
			fmt.Println("sh present")
		} else {
			fmt.Println("sh absent")
		}
		if !output() {
			return 3
		}
		g, err := proc.NewGroup(ctx, proc.GroupOptions{})
		if err != nil {
			return fail(err)
		}
		// A setsid grandchild only where the backend contains it.
		ops := []string{"hold", "block"}
		if g.Mechanism() == contain.CgroupV2 {
			ops = []string{"hold", "holdsid", "block"}
		}
		if _, err := g.Start(ctx, script(ops...)); err != nil {
			return fail(err)
		}
		fmt.Printf("group %s\nready\n", g.Mechanism())
		for {
			time.Sleep(time.Hour)
		}
	case "report":
		b, _ := json.Marshal(host.Inspect())
		fmt.Printf("report %s\n", b)
		if !output() {
			return 3
		}
		fmt.Println("done")
	case "noproc":
		_, err := child(testchild.ModeExit, "0").Output(ctx)
		var we *watchdog.StartError
		var se *proc.StartError
		e := map[string]any{"text": fmt.Sprint(err), "containment": errors.Is(err, proc.ErrContainment),
			"start_error": errors.As(err, &se), "watchdog": errors.As(err, &we)}
		b, _ := json.Marshal(e)
		fmt.Printf("error %s\nwatchdog %s\ndone\n", b, host.Inspect().Watchdog)
	default:
		return 2
	}
	return 0
}

// readUntil reads the helper's lines until one equals last, and returns
// them by their first word.
func readUntil(t *testing.T, h *testchild.HelperRun, last string) map[string]string {
	t.Helper()
	got := map[string]string{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		for {
			ln, err := h.Out.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimSuffix(ln, "\n")
		}
	}()
	deadline := time.After(patience)
	for {
		select {
		case ln, ok := <-lines:
			if !ok {
				h.Fail(t, "helper ended before %q; read %q", last, got)
			}
			k, v, _ := strings.Cut(ln, " ")
			if k == "fail" {
				h.Fail(t, "helper: %s", v)
			}
			got[k] = v
			if ln == last {
				// The reader goroutine ends at the helper's EOF (its
				// death, or the pipe closed by the helper's cleanup).
				return got
			}
		case <-deadline:
			h.Fail(t, "no %q after %v; read %q", last, patience, got)
		}
	}
}

// mark returns a fresh NAME=value pair for the helper's environment: its
// descendants inherit it, so the test finds them from this host.
func mark(t *testing.T) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "TETHER_HOSTS_MARK=" + t.Name() + "-" + hex.EncodeToString(b[:])
}

// killOwnerAndCheck SIGKILLs the owner, whose group runs under mech, and
// waits until no process with the mark is alive but the ones in spare (an
// init that outlives it).
func killOwnerAndCheck(t *testing.T, owner int, mech, mk string, spare ...int) {
	t.Helper()
	// The watchdog, the group's run and its grandchildren (which the run
	// starts after the group's Start has returned).
	want := 3
	if mech == string(contain.CgroupV2) {
		want = 4
	}
	testchild.Poll(t, patience, "the owner's watchdog, run and grandchildren", func() bool {
		return len(testchild.MarkedAlive(mk, append(spare, owner)...)) >= want
	})
	began := time.Now()
	if err := unix.Kill(owner, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testchild.Poll(t, patience, "every process of the killed owner to die", func() bool {
		return len(testchild.MarkedAlive(mk, spare...)) == 0
	})
	t.Logf("owner SIGKILLed: everything it started (its watchdog included) dead after %v", time.Since(began))
}

// TestHostWithoutShell runs an owner in a root that holds nothing but a
// copy of the test binary, /proc, /dev/null and the cgroup2 mount: the
// owner-death watchdog must not need /bin/sh (an image built FROM
// scratch, or distroless).
func TestHostWithoutShell(t *testing.T) {
	mk := mark(t)
	cmd := testchild.NSCommand(t, syscall.CLONE_NEWNS, []string{"private", "root=" + testchild.TempDir(t)}, helperHostOwner, "run")
	cmd.Env = append(cmd.Env, mk)
	h := testchild.StartNSHelper(t, cmd)
	got := readUntil(t, h, "ready")
	if got["sh"] != "absent" {
		t.Fatalf("/bin/sh is %s in the built root", got["sh"])
	}
	want := string(host.Default().Backend.Mechanism())
	if got["output"] != want || got["group"] != want {
		t.Errorf("run under %q, group under %q; want %s as on this host", got["output"], got["group"], want)
	}
	killOwnerAndCheck(t, h.Cmd.Process.Pid, got["group"], mk)
}

// TestHostWithoutProcReportsTheWatchdog runs an owner in a root without
// /proc: the watchdog cannot re-execute /proc/self/exe, and the run fails
// saying so, not blaming the program.
func TestHostWithoutProcReportsTheWatchdog(t *testing.T) {
	cmd := testchild.NSCommand(t, syscall.CLONE_NEWNS, []string{"private", "rootnoproc=" + testchild.TempDir(t)}, helperHostOwner, "noproc")
	h := testchild.StartNSHelper(t, cmd)
	got := readUntil(t, h, "done")
	var e struct {
		Text        string `json:"text"`
		Containment bool   `json:"containment"`
		StartError  bool   `json:"start_error"`
		Watchdog    bool   `json:"watchdog"`
	}
	if err := json.Unmarshal([]byte(got["error"]), &e); err != nil {
		t.Fatal(err)
	}
	t.Logf("the run's error: %s", e.Text)
	if !e.Containment || !e.StartError || !e.Watchdog {
		t.Errorf("error %q: matches ErrContainment %v, is a *proc.StartError %v, a *watchdog.StartError %v; want all", e.Text, e.Containment, e.StartError, e.Watchdog)
	}
	for _, want := range []string{"the owner-death watchdog could not start", "/proc/self/exe", "SurviveOwnerDeath", "the program was not started"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("error %q lacks %q", e.Text, want)
		}
	}
	if !strings.HasPrefix(got["watchdog"], "not available: ") || !strings.Contains(got["watchdog"], "/proc") {
		t.Errorf("doctor's watchdog line %q does not say why it is not available", got["watchdog"])
	}
}

// cgroupNSOwnerDeath starts the run helper in the same kind of namespace
// as cgroupNSHelper, checks that its run and group got mech, and SIGKILLs
// it: everything it started must die.
func cgroupNSOwnerDeath(t *testing.T, mode string, mech contain.Mechanism) {
	t.Helper()
	mk := mark(t)
	h := startCgroupNS(t, mode, "run", mk)
	got := readUntil(t, h, "ready")
	if got["output"] != string(mech) || got["group"] != string(mech) {
		t.Errorf("run under %q, group under %q; want %s", got["output"], got["group"], mech)
	}
	killOwnerAndCheck(t, h.Cmd.Process.Pid, got["group"], mk)
}

// cgroupNSHelper starts the report helper in a new cgroup namespace
// rooted at a fresh cgroup of its own (a container's), with a fresh
// cgroup2 file system mounted read-only or writable, and returns its
// report and the mechanism its run got.
func cgroupNSHelper(t *testing.T, mode string) (host.Report, string) {
	t.Helper()
	h := startCgroupNS(t, mode, "report", "")
	got := readUntil(t, h, "done")
	if err := h.Wait(); err != nil {
		h.Fail(t, "helper: %v", err)
	}
	var r host.Report
	if err := json.Unmarshal([]byte(got["report"]), &r); err != nil {
		t.Fatal(err)
	}
	return r, got["output"]
}

// startCgroupNS starts helperHostOwner with what in a new cgroup and
// mount namespace rooted at a fresh cgroup of its own, with a fresh
// cgroup2 file system mounted read-only (mode "ro") or writable ("rw"),
// and with the environment variable mk unless it is empty.
func startCgroupNS(t *testing.T, mode, what, mk string) *testchild.HelperRun {
	t.Helper()
	dir := filepath.Join(testchild.OwnCgroupDir(t), "tether-"+strconv.Itoa(os.Getpid())+"-cgns"+mode+what)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot create a cgroup for the namespace:", err)
	}
	t.Cleanup(func() {
		// After the helper is reaped (cleanups run last first); the
		// helper removed what it made inside. Its watchdog, in this
		// cgroup too, ends on its own once the helper has exited.
		testchild.Poll(t, patience, "the namespace's cgroup to be removable", func() bool {
			err := os.Remove(dir)
			return err == nil || !errors.Is(err, unix.EBUSY)
		})
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("the namespace's cgroup %s is left", dir)
		}
	})
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := testchild.NSCommand(t, syscall.CLONE_NEWNS|syscall.CLONE_NEWCGROUP, []string{"private", "cgroup2=" + mode}, helperHostOwner, what)
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	if mk != "" {
		cmd.Env = append(cmd.Env, mk)
	}
	return testchild.StartNSHelper(t, cmd)
}

// A container runtime (Docker's default) gives a cgroup namespace and
// mounts cgroup2 read-only: the default is pgid, and the reason says so.
func TestHostCgroupNamespaceReadOnly(t *testing.T) {
	r, output := cgroupNSHelper(t, "ro")
	t.Logf("default %s: %s", r.Default, r.DefaultReason)
	if r.Default != contain.PGID || !r.DefaultUsable || !strings.Contains(r.DefaultReason, "read-only") {
		t.Errorf("default %s (usable %v): %q; want pgid because the cgroup2 mount is read-only", r.Default, r.DefaultUsable, r.DefaultReason)
	}
	if output != string(contain.PGID) {
		t.Errorf("the run got %q, want pgid", output)
	}
	cgroupNSOwnerDeath(t, "ro", contain.PGID)
}

// A container whose own cgroup is writable (a delegated cgroup2 mount):
// cgroupv2 is chosen, containers go in the container's cgroup, and the
// limits are refused with the reason (this host's controllers are v1's).
func TestHostCgroupNamespaceWritable(t *testing.T) {
	r, output := cgroupNSHelper(t, "rw")
	t.Logf("default %s: %s", r.Default, r.DefaultReason)
	if r.Default != contain.CgroupV2 || !r.DefaultUsable {
		t.Fatalf("default %s (usable %v): %q; want cgroupv2", r.Default, r.DefaultUsable, r.DefaultReason)
	}
	if output != string(contain.CgroupV2) {
		t.Errorf("the run got %q, want cgroupv2", output)
	}
	cgroupNSOwnerDeath(t, "rw", contain.CgroupV2)
	for _, a := range r.Backends {
		if a.Mechanism != contain.CgroupV2 {
			continue
		}
		for _, l := range a.Limits {
			t.Logf("limit %s: supported %v (%s)", l.Kind, l.Supported, l.Reason)
			if !l.Supported && l.Reason == "" {
				t.Errorf("limit %s refused without a reason", l.Kind)
			}
		}
	}
}

// TestHostOwnPidNamespace runs an owner in a pid namespace of its own
// (under an init that, like a container's, reaps and stays): runs and
// groups work, and its SIGKILL kills everything it started.
func TestHostOwnPidNamespace(t *testing.T) {
	mk := mark(t)
	cmd := testchild.NSCommand(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS, []string{"private", "proc", "init"}, helperHostOwner, "run")
	cmd.Env = append(cmd.Env, mk)
	h := testchild.StartNSHelper(t, cmd)
	got := readUntil(t, h, "ready")
	want := string(host.Default().Backend.Mechanism())
	if got["output"] != want || got["group"] != want {
		t.Errorf("run under %q, group under %q; want %s as on this host", got["output"], got["group"], want)
	}
	init := h.Cmd.Process.Pid
	kids := testchild.ChildPids(init)
	if len(kids) != 1 {
		t.Fatalf("the namespace's init has children %v, want the owner alone", kids)
	}
	killOwnerAndCheck(t, kids[0], got["group"], mk, init)
}
