//go:build linux

package pgid

import (
	"context"
	"syscall"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

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
			cc, err := New().NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: tc.watch})
			if err != nil {
				t.Fatal(err)
			}
			c := cc.(*container)
			t.Cleanup(func() { _ = c.Close(killCtx(t)) })
			for range 2 { // the leader, then a command that joins
				cmd := testchild.Command(testchild.ModeSleep)
				callers := &syscall.SysProcAttr{Pdeathsig: tc.own}
				cmd.SysProcAttr = callers
				testchild.Start(t, c, cmd)
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
