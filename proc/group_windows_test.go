//go:build windows

package proc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/proc"
)

// checkDetached has nothing to check on Windows: DETACHED_PROCESS leaves
// no trace a test can read under Wine.
func checkDetached(int) error { return nil }

// Without a graceful signal, Shutdown escalates at once and says why.
func TestGroupShutdownWindowsEscalates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		p, _ := startTree(t, g, nil)
		rep, err := g.Shutdown(ctxFor(t, patience), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Signalled || !errors.Is(rep.SignalErr, proc.ErrUnsupported) || rep.Before != 2 || !rep.Escalated || rep.Drained {
			t.Errorf("report %+v", rep)
		}
		if r, _ := p.Wait(ctxFor(t, patience)); r.Outcome != proc.Signaled {
			t.Errorf("run ended by Shutdown: %v", r.Outcome)
		}
	})
}
