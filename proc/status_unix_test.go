//go:build unix

package proc_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestStatusStoppingDuringTheGracePeriod: a run whose context ended is
// stopping while its child, which ignores the grace signal, still runs.
// The context ends only once the child has said it ignores TERM: a
// timeout could fire first on a slow machine (a VM).
func TestStatusStoppingDuringTheGracePeriod(t *testing.T) {
	ctx := ctxFor(t, patience)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := script("ignoreterm", "out", "up\n", "block").Grace(syscall.SIGTERM, time.Minute).Start(runCtx)
	if err != nil {
		t.Fatal(err)
	}
	testchild.Poll(t, patience, "the child's line", func() bool { return p.Status().Stdout.Lines == 1 })
	cancel()
	testchild.Poll(t, patience, "the run to be stopping", func() bool { return p.Status().State == proc.StateStopping })
	if st := p.Status(); st.Result != nil || st.Stdout.Lines != 1 {
		t.Fatalf("status while stopping: %+v", st)
	}
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != proc.StateEnded || st.Result.Outcome != proc.Cancelled {
		t.Fatalf("status after Kill: %+v", st)
	}
}
