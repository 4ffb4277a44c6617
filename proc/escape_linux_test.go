//go:build linux

package proc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// cgroupDirOf returns the directory of pid's cgroup v2 cgroup.
func cgroupDirOf(t *testing.T, pid int) string {
	t.Helper()
	rel := testchild.CgroupOf(t, pid)
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && fields[3] == "/" {
				return filepath.Join(fields[4], rel)
			}
		}
	}
	t.Fatal("no cgroup2 mount of the hierarchy's root")
	return ""
}

// moveOut makes a cgroup beside the run's (not named tether-*) and moves
// pid into it, as root moving a process by writing cgroup.procs would.
func moveOut(t *testing.T, pid int) {
	t.Helper()
	// Beside the outermost tether-* cgroup holding it (a run's, or its
	// group's), so no kill of tether's reaches it there.
	top := cgroupDirOf(t, pid)
	for d := top; strings.HasPrefix(filepath.Base(d), "tether-") || strings.HasPrefix(filepath.Base(d), "sub-"); d = filepath.Dir(d) {
		top = d
	}
	dir := filepath.Join(filepath.Dir(top), fmt.Sprintf("escape-test-%d-%d", os.Getpid(), pid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The escapee is dead by then; the kernel may take a moment to
		// let the directory go.
		deadline := time.Now().Add(patience)
		for err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) && time.Now().Before(deadline); err = os.Remove(dir) {
			time.Sleep(5 * time.Millisecond)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cgroupDirOf(t, pid); got != dir {
		t.Fatalf("child is in %s after the move, want %s", got, dir)
	}
}

func cgroupv2Usable(t *testing.T) contain.Backend {
	t.Helper()
	b := cgroupv2.New()
	if a := b.Availability(); !a.Usable {
		t.Skip("cgroup v2 is not usable here: " + a.Reason)
	}
	return b
}

// A child moved out of its cgroup still dies at its timeout, killed by
// its own handle, and the run says it had left its container. Before, the
// timeout killed only the (empty) cgroup, and the run ended when the
// child exited by itself, reported as a plain timeout with a nil error.
func TestTimeoutKillsAChildMovedOutOfItsCgroup(t *testing.T) {
	b := cgroupv2Usable(t)
	p, err := script("sleep", "30s").Timeout(time.Second).Backend(b).Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	moveOut(t, p.Pid())
	began := time.Now()
	r, err := p.Wait(ctxFor(t, 3*patience))
	if r == nil {
		t.Fatalf("Wait: %v", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("the run ended %v after the move; its timeout was 1s", took)
	}
	if r.Outcome != proc.TimedOut {
		t.Errorf("outcome %v, want timed out", r.Outcome)
	}
	var ee *proc.EscapeError
	if !errors.Is(err, proc.ErrEscaped) || !errors.As(err, &ee) || ee.Pid != p.Pid() {
		t.Fatalf("error %v; want an *EscapeError for pid %d", err, p.Pid())
	}
	if strings.Contains(err.Error(), "escape-test") || strings.Contains(err.Error(), "/sys/fs/cgroup") {
		t.Errorf("error text %q names a cgroup", err)
	}
	testchild.WaitDead(t, patience, p.Pid())
}

// A group's Close ends a run whose child was moved out of the group's
// cgroup instead of waiting for it until its context runs out.
func TestGroupCloseEndsARunMovedOutOfTheGroup(t *testing.T) {
	b := cgroupv2Usable(t)
	ctx := ctxFor(t, 3*patience)
	g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.Start(ctx, script("sleep", "30s"))
	if err != nil {
		t.Fatal(err)
	}
	moveOut(t, p.Pid())
	if err := g.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r, err := p.Wait(ctx)
	if r == nil || !errors.Is(err, proc.ErrEscaped) {
		t.Fatalf("Wait = %+v, %v; want the run ended, reporting the escape", r, err)
	}
	testchild.WaitDead(t, patience, p.Pid())
}
