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
	if len(args) != 1 {
		return 2
	}
	return testchild.RunOwner(New(), args[0], 1, nil)
}

// A sub registers its own group when its leader starts, if it asked for
// KillOnOwnerDeath or its parent did, and the parent's Kill withdraws it.
func TestSubRegistersWithTheWatchdog(t *testing.T) {
	before := watchdog.Registered()
	want := func(t *testing.T, what string, n int) {
		t.Helper()
		if got := watchdog.Registered(); got != before+n {
			t.Fatalf("Registered = %d %s, want %d", got, what, before+n)
		}
	}
	for _, tc := range []struct {
		name          string
		parent, sub   bool
		registrations int
	}{
		{"sub asks", false, true, 1},
		{"parent asked", true, false, 1},
		{"neither", false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := New().NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: tc.parent})
			if err != nil {
				t.Fatal(err)
			}
			parent := cc.(*container)
			sub := newSub(t, parent, contain.Options{KillOnOwnerDeath: tc.sub})
			other := newSub(t, parent, contain.Options{})
			want(t, "before any process", 0)
			testchild.Start(t, sub, testchild.Command(testchild.ModeSleep))
			want(t, "after the sub's leader started", tc.registrations)
			testchild.Start(t, sub, testchild.Command(testchild.ModeSleep))
			want(t, "after a second command joined", tc.registrations)
			if err := other.Kill(killCtx(t)); err != nil {
				t.Fatal(err)
			}
			want(t, "after a sibling's Kill", tc.registrations)
			if err := parent.Kill(killCtx(t)); err != nil {
				t.Fatal(err)
			}
			want(t, "after the parent's Kill", 0)
			if err := parent.Close(killCtx(t)); err != nil {
				t.Fatal(err)
			}
		})
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
	cc, err := New().NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		t.Fatal(err)
	}
	c := cc.(*container)
	if got := watchdog.Registered(); got != before {
		t.Fatalf("Registered = %d before any process, want %d", got, before)
	}
	testchild.Start(t, c, testchild.Command(testchild.ModeSleep))
	if got := watchdog.Registered(); got != before+1 {
		t.Fatalf("Registered = %d after Start, want %d", got, before+1)
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
	empty, err := New().NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: true})
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

func TestAvailabilityStatesOwnerDeathWithAndWithoutTheOption(t *testing.T) {
	a := New().Availability()
	for _, want := range []string{"with KillOnOwnerDeath:", "SIGKILL to the process group", "setsid or setpgid survive", "killed by number", "without it: the group survives"} {
		if !strings.Contains(a.OwnerDeath, want) {
			t.Errorf("OwnerDeath %q does not say %q", a.OwnerDeath, want)
		}
	}
}
