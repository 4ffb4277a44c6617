//go:build unix

package proc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// slowStart reports whether a run's child had not yet said it was ready
// when its timeout fired: on a loaded machine a child can take longer to
// set up its signal handling than a short timeout lasts. That is noise,
// not a regression, and the test runs again with a longer timeout; a
// child that was ready and still misbehaved is a failure.
func slowStart(r *proc.Result) bool { return !strings.HasPrefix(string(r.Stdout), "ready\n") }

func TestGraceLetsTheChildStopCleanly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		for timeout := 200 * time.Millisecond; ; timeout *= 4 {
			r, err := script("onterm", "bye", "out", "ready\n", "block").
				Timeout(timeout).Grace(graceSignal(), 5*time.Second).Backend(b).Output(ctxFor(t, patience))
			if err != nil {
				t.Fatal(err)
			}
			if slowStart(r) && timeout < 10*time.Second {
				t.Logf("the child was not ready within its %v timeout (a loaded machine); again with a longer one", timeout)
				continue
			}
			if r.Outcome != proc.TimedOut || string(r.Stdout) != "ready\nbye" {
				t.Fatalf("outcome %v stdout %q: the child did not see the graceful signal", r.Outcome, r.Stdout)
			}
			if r.Duration > timeout+4*time.Second {
				t.Fatalf("the grace was waited out (%v after a %v timeout) although the child exited at once", r.Duration, timeout)
			}
			// The run timed out, and the child's own exit is kept: it
			// exited 0 on SIGTERM, tether did not have to kill it. Before,
			// the Result said -1 with no signal, and the error that the
			// tree was killed.
			if r.ExitCode != 0 || r.Signal != "" || r.Killed {
				t.Fatalf("exit code %d, signal %q, killed %v; want the child's own exit 0, not killed", r.ExitCode, r.Signal, r.Killed)
			}
			if msg := r.Err().Error(); !strings.Contains(msg, "timed out; it exited with code 0 during its grace period") {
				t.Fatalf("error %q does not say the child exited by itself", msg)
			}
			return
		}
	})
}

// A child that dies of the grace signal is reported so; one that ignores
// it is killed, and says so.
func TestGraceReportsHowTheChildEnded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		r, err := script("out", "ready\n", "block").Timeout(200*time.Millisecond).Grace(graceSignal(), 5*time.Second).
			Backend(b).Output(ctxFor(t, patience))
		if err != nil || r.Outcome != proc.TimedOut {
			t.Fatalf("%+v %v", r, err)
		}
		if r.Signal != "SIGTERM" || r.ExitCode != -1 || r.Killed || !strings.Contains(r.Err().Error(), "died of SIGTERM during its grace period") {
			t.Fatalf("signal %q, code %d, killed %v, error %q; want death by its SIGTERM, not killed", r.Signal, r.ExitCode, r.Killed, r.Err())
		}
		r, err = script("block").Timeout(100 * time.Millisecond).Backend(b).Output(ctxFor(t, patience))
		if err != nil || r.Outcome != proc.TimedOut || r.Signal != "SIGKILL" || !r.Killed || r.ExitCode != -1 ||
			!strings.Contains(r.Err().Error(), "timed out; the tree was killed") {
			t.Fatalf("without grace: %+v, %v", r, r.Err())
		}
	})
}

func TestGraceEscalatesToKill(t *testing.T) {
	const grace = 300 * time.Millisecond
	for timeout := 100 * time.Millisecond; ; timeout *= 4 {
		began := time.Now()
		r, err := script("ignoreterm", "out", "ready\n", "block").Timeout(timeout).Grace(graceSignal(), grace).Output(ctxFor(t, patience))
		el := time.Since(began)
		if err != nil || r.Outcome != proc.TimedOut {
			t.Fatalf("%+v %v", r, err)
		}
		if slowStart(r) && timeout < 10*time.Second {
			t.Logf("the child was not ready within its %v timeout (a loaded machine); again with a longer one", timeout)
			continue
		}
		if el < timeout+grace || el > timeout+grace+patience {
			t.Fatalf("returned after %v, want timeout + grace (%v) and not much more", el, timeout+grace)
		}
		return
	}
}

func TestSignalReachesTheChild(t *testing.T) {
	ctx := ctxFor(t, patience)
	file := filepath.Join(testchild.TempDir(t), "ready")
	p, err := script("onterm", "got it", "out", "", "pids", file, "block").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testchild.ReadPidFile(t, file, patience)
	if err := p.Signal(graceSignal()); err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil || !r.Success() || string(r.Stdout) != "got it" {
		t.Fatalf("%+v %v", r, err)
	}
}

// Kill cuts a grace period short: the tree dies at once, not when the
// grace ends.
func TestKillDuringGraceKillsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	file := filepath.Join(testchild.TempDir(t), "ready")
	p, err := script("ignoreterm", "pids", file, "block").Grace(graceSignal(), time.Minute).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testchild.ReadPidFile(t, file, patience)
	cancel() // starts the graceful stop: SIGTERM, ignored, then a minute's grace
	began := time.Now()
	if err := p.Kill(ctxFor(t, patience)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(began); el > 5*time.Second {
		t.Fatalf("Kill waited %v: the grace was not cut short", el)
	}
	if testchild.Alive(p.Pid()) {
		t.Fatal("child alive after Kill")
	}
}

// customSignal is an os.Signal that no OS can send.
type customSignal struct{}

func (customSignal) String() string { return "custom" }
func (customSignal) Signal()        {}

// A grace signal that would deliver nothing is refused before spawning:
// before, it was accepted and the run silently got no grace at all.
func TestGraceRefusesSignalsThatDeliverNothing(t *testing.T) {
	ctx := ctxFor(t, patience)
	for name, sig := range map[string]os.Signal{
		"signal 0":      syscall.Signal(0),
		"negative":      syscall.Signal(-1),
		"out of range":  syscall.Signal(200),
		"custom signal": customSignal{},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := script("exit", "0").Grace(sig, time.Second).Timeout(time.Minute).Output(ctx)
			if r != nil || !errors.Is(err, proc.ErrInvalid) {
				t.Fatalf("Output = %v, %v; want an *InvalidError before spawning", r, err)
			}
		})
	}
}
