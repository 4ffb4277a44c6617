//go:build unix

package proc_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestStatusStoppingDuringTheGracePeriod: a run whose timeout fired is
// stopping while its child, which ignores the grace signal, still runs.
func TestStatusStoppingDuringTheGracePeriod(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("ignoreterm", "out", "up\n", "block").Timeout(100*time.Millisecond).Grace(syscall.SIGTERM, time.Minute).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testchild.Poll(t, patience, "the run to be stopping", func() bool { return p.Status().State == proc.StateStopping })
	if st := p.Status(); st.Result != nil || st.Stdout.Lines != 1 {
		t.Fatalf("status while stopping: %+v", st)
	}
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != proc.StateEnded || st.Result.Outcome != proc.TimedOut {
		t.Fatalf("status after Kill: %+v", st)
	}
}
