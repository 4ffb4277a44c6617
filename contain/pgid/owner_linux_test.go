//go:build linux

package pgid

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

// helpers are this package's own helper modes, which need the backend.
var helpers = map[string]testchild.Helper{helperOwner: runOwner}

// helperOwner is an owner process for the owner-death test: it creates a
// container with KillOnOwnerDeath, starts a ModeTree child in it (pid
// file in its first argument), prints "watchdog <pid>" and "ready", and
// blocks until killed.
const helperOwner = "owner"

func runOwner(args []string) int {
	c, err := New().New(context.Background(), contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	cmd := testchild.Command(testchild.ModeTree, args[0])
	if err := c.PrepareCmd(cmd); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if err := c.Started(cmd); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	fmt.Printf("watchdog %d\nready\n", watchdog.Pid())
	for {
		time.Sleep(time.Hour)
	}
}

func TestOwnerDeathKillsTheGroupButNotTheEscapees(t *testing.T) {
	pidfile := testchild.PidFile(t)
	h := testchild.StartHelper(t, helperOwner, pidfile)
	cmd := h.Cmd
	var wd int
	if _, err := fmt.Fscanf(h.Out, "watchdog %d\nready\n", &wd); err != nil {
		h.Fail(t, "helper owner: %v", err)
	}
	tr := testchild.WaitTree(t, pidfile, patience)
	escapees := []int{tr["setsid"], tr["setpgid"]}
	t.Cleanup(func() {
		testchild.KillPids(escapees...)
		testchild.WaitDead(t, patience, escapees...)
	})
	// The watchdog is apart from the tree: its own session and group, and
	// no tether cgroup.
	wpg, _ := unix.Getpgid(wd)
	wsid, _ := unix.Getsid(wd)
	if wpg == tr["child"] || wsid != wpg || wsid == tr["setsid"] {
		t.Errorf("watchdog pgid %d sid %d; tree group %d", wpg, wsid, tr["child"])
	}
	if cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", wd)); strings.Contains(string(cg), "/tether-") {
		t.Errorf("watchdog in a tether cgroup: %q", cg)
	}

	began := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sysproc.Alive(tr["child"]) || sysproc.Alive(tr["grandchild"]) {
		if time.Since(began) > 2*time.Second {
			t.Fatalf("the group is alive %v after its owner was killed", time.Since(began))
		}
		time.Sleep(200 * time.Microsecond)
	}
	t.Logf("owner SIGKILL -> group (child, grandchild) dead: %v", time.Since(began))
	testchild.WaitDead(t, patience, wd)
	// The watchdog has exited, so it has done all it will: the escapees
	// left the group and are out of its reach, as documented.
	for _, p := range escapees {
		if !sysproc.Alive(p) {
			t.Errorf("escapee %d died; it left the group, so the watchdog cannot have reached it", p)
		}
	}
}

func TestKillWithdrawsRegistration(t *testing.T) {
	before := watchdog.Registered()
	cc, err := New().New(context.Background(), contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		t.Fatal(err)
	}
	c := cc.(*Container)
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d before any process, want %d", got, before)
	}
	start(t, c, testchild.Command(testchild.ModeSleep))
	if got := watchdog.Registered(); got != before+1 {
		t.Fatalf("Registered = %d after Started, want %d", got, before+1)
	}
	if err := c.Kill(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d after Kill, want %d", got, before)
	}
	if err := c.Close(killCtx(t)); err != nil {
		t.Fatal(err)
	}

	// A container that never started anything registers nothing.
	empty, err := New().New(context.Background(), contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Close(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d, want %d", got, before)
	}
}

func TestProbeStatesOwnerDeathWithAndWithoutTheOption(t *testing.T) {
	a := New().Probe()
	for _, want := range []string{"with KillOnOwnerDeath:", "SIGKILL to the process group", "setsid or setpgid survive", "killed by number", "without it: the group survives"} {
		if !strings.Contains(a.OwnerDeath, want) {
			t.Errorf("OwnerDeath %q does not say %q", a.OwnerDeath, want)
		}
	}
}
