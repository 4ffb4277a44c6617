//go:build linux

package pgid

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
)

// The spawn gate (see contain.Container): while a container or one it is
// a sub of is frozen, Start fails at once with ErrFrozen and spawns
// nothing (a SIGSTOP that reached a child between fork and exec would
// hold the thread that forked it); after Thaw it works again. Before,
// Start joined the stopped group with a running child.
func TestStartWhileFrozenFailsWithErrFrozen(t *testing.T) {
	parent := newContainer(t)
	sub := newSub(t, parent, contain.Options{})
	start(t, parent, testchild.Command(testchild.ModeSleep))
	start(t, sub, testchild.Command(testchild.ModeSleep))
	fresh := newSub(t, parent, contain.Options{})
	if err := parent.Freeze(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	before, _ := parent.Pids()
	for name, c := range map[string]*Container{"frozen container": parent, "sub with a group": sub, "sub without one": fresh} {
		cmd := testchild.Command(testchild.ModeExit, "0")
		if err := c.Start(cmd); !errors.Is(err, contain.ErrFrozen) || cmd.Process != nil {
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			t.Errorf("%s: Start while frozen = %v (process %v), want ErrFrozen and no process", name, err, cmd.Process)
		}
	}
	if after, _ := parent.Pids(); len(after) != len(before) {
		t.Errorf("members %v after the refused starts, %v before", after, before)
	}
	if err := parent.Thaw(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Container{"thawed container": parent, "its sub": sub, "its fresh sub": fresh} {
		if err := start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
			t.Errorf("%s: child started after Thaw: %v", name, err)
		}
	}
}

// A Freeze that cannot be confirmed before its ctx ends (here: one that
// has ended already) is rolled back: every member it stopped is
// continued, and Start works.
func TestFreezeNotConfirmedRollsBack(t *testing.T) {
	c := newContainer(t)
	cmd := testchild.Command(testchild.ModeSleep)
	start(t, c, cmd)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Freeze(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("Freeze with an ended ctx = %v, want an error matching context.Canceled", err)
	}
	testchild.Poll(t, patience, "the member to run again", func() bool { return settledStop(cmd.Process.Pid, false) })
	if st, err := sysproc.ReadStat(cmd.Process.Pid); err != nil || st.State == 'T' {
		t.Fatalf("member state %q, %v after the failed Freeze; want it running", st.State, err)
	}
	if err := start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatalf("Start after the failed Freeze: %v", err)
	}
}

// With KillOnOwnerDeath, Start sets SIGKILL as the child's parent-death
// signal, which covers it from fork until the group is registered with
// the watchdog; a caller's own signal is kept, and without the option
// none is set.
func TestStartSetsTheParentDeathSignal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch bool
		own   syscall.Signal
		want  syscall.Signal
	}{
		{"KillOnOwnerDeath", true, 0, syscall.SIGKILL},
		{"KillOnOwnerDeath, caller's own", true, syscall.SIGTERM, syscall.SIGTERM},
		{"without it", false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := New().New(context.Background(), contain.Options{KillOnOwnerDeath: tc.watch})
			if err != nil {
				t.Fatal(err)
			}
			c := cc.(*Container)
			t.Cleanup(func() { _ = c.Close(killCtx(t)) })
			for range 2 { // the leader, then a command that joins
				cmd := testchild.Command(testchild.ModeSleep)
				callers := &syscall.SysProcAttr{Pdeathsig: tc.own}
				cmd.SysProcAttr = callers
				start(t, c, cmd)
				if got := cmd.SysProcAttr.Pdeathsig; got != tc.want {
					t.Errorf("Pdeathsig = %v, want %v", got, tc.want)
				}
				if callers.Pdeathsig != tc.own || callers.Setpgid {
					t.Errorf("Start changed the caller's SysProcAttr: %+v", callers)
				}
			}
		})
	}
}
