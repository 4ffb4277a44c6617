package proc_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// graceful says whether Stop can signal here: Windows has no graceful
// signal for a Job Object, and Stop escalates at once.
var graceful = runtime.GOOS != "windows"

// startReady starts a script child that writes its pid file as its
// last step before ops' end, and returns it once the file is there.
func startReady(t *testing.T, c *proc.Cmd) (*proc.RunningProcess, testchild.Tree) {
	t.Helper()
	file := filepath.Join(testchild.TempDir(t), "ready")
	c = c.WithArgs("pids", file, "block")
	p, err := c.Start(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill(context.Background()) })
	return p, testchild.ReadPidFile(t, file, patience)
}

// assertGone fails the test if a pid of tr is alive.
func assertGone(t *testing.T, tr testchild.Tree) {
	t.Helper()
	for role, pid := range tr {
		if testchild.Alive(pid) {
			t.Errorf("%s (pid %d) alive after Stop returned", role, pid)
		}
	}
}

// stopAndWait stops p with grace, checks that tr is gone once Stop has
// returned, and returns the report and the run's Result.
func stopAndWait(t *testing.T, p *proc.RunningProcess, tr testchild.Tree, grace time.Duration) (proc.ShutdownReport, *proc.Result) {
	t.Helper()
	rep, err := p.Stop(ctxFor(t, patience), grace)
	if err != nil {
		t.Fatal(err)
	}
	assertGone(t, tr)
	r, err := p.Wait(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	return rep, r
}

// A child that exits on the graceful signal is not killed: the Result
// keeps its own exit, and the report says the tree drained.
func TestStopLetsTheChildExitOnTerm(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		p, tr := startReady(t, script("onterm", "bye").Backend(b))
		rep, r := stopAndWait(t, p, tr, 30*time.Second)
		if rep.Before != 1 || rep.Elapsed <= 0 {
			t.Fatalf("report %+v: want 1 member before, an elapsed time", rep)
		}
		if !graceful {
			if rep.Signalled || !errors.Is(rep.SignalErr, proc.ErrUnsupported) || !rep.Escalated || rep.Drained || rep.After != 1 {
				t.Fatalf("report %+v: want an escalation at once, the signal unsupported", rep)
			}
			if r.Outcome != proc.Signaled || !r.Killed {
				t.Fatalf("result %+v: want Signaled, killed", r)
			}
			return
		}
		if rep.Signal != graceSignal() || !rep.Signalled || rep.SignalErr != nil || !rep.Drained || rep.Escalated || rep.After != 0 {
			t.Fatalf("report %+v: want the signal delivered and the tree drained", rep)
		}
		if rep.Elapsed > 20*time.Second {
			t.Fatalf("Stop took %v: the grace was waited out although the child exited at once", rep.Elapsed)
		}
		if r.Outcome != proc.Exited || r.ExitCode != 0 || r.Killed || r.Signal != "" || string(r.Stdout) != "bye" || r.Err() != nil {
			t.Fatalf("result %+v (err %v): want the handler's own exit 0, not killed", r, r.Err())
		}
	})
}

// A child that ignores the graceful signal is killed when the grace
// ends.
func TestStopEscalatesWhenTheChildIgnoresTerm(t *testing.T) {
	const grace = 300 * time.Millisecond
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		p, tr := startReady(t, script("ignoreterm").Backend(b))
		rep, r := stopAndWait(t, p, tr, grace)
		if !rep.Escalated || rep.Drained || rep.Before != 1 || rep.After != 1 {
			t.Fatalf("report %+v: want 1 member before and after, escalated", rep)
		}
		if graceful && (!rep.Signalled || rep.Elapsed < grace) {
			t.Fatalf("report %+v: want the signal delivered and the grace (%v) waited", rep, grace)
		}
		if r.Outcome != proc.Signaled || !r.Killed || r.ExitCode != -1 {
			t.Fatalf("result %+v: want Signaled, killed by tether", r)
		}
		var ee *proc.ExitError
		if !errors.As(r.Err(), &ee) || !ee.Killed {
			t.Fatalf("Err() = %v, want an *ExitError of a kill", r.Err())
		}
	})
}

// A grandchild that ignores the signal outlives the direct child's
// clean exit: the report counts it, and it is killed.
func TestStopKillsAGrandchildThatOutlivesTheChild(t *testing.T) {
	const grace = 300 * time.Millisecond
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		p, tr := startReady(t, script("holdstubborn", "onterm", "bye").Backend(b))
		if tr["holdstubborn"] == 0 {
			t.Fatalf("pid file %v lists no grandchild", tr)
		}
		rep, r := stopAndWait(t, p, tr, grace)
		if rep.Before != 2 || !rep.Escalated || rep.Drained {
			t.Fatalf("report %+v: want 2 members before, escalated", rep)
		}
		if !graceful {
			return
		}
		if rep.After != 1 || !rep.Signalled || rep.Elapsed < grace {
			t.Fatalf("report %+v: want the grandchild alone left after the grace (%v)", rep, grace)
		}
		if r.Outcome != proc.Exited || r.ExitCode != 0 || r.Killed {
			t.Fatalf("result %+v: want the direct child's own exit 0, not killed", r)
		}
	})
}

// Stop's errors for bad input stop nothing.
func TestStopBadInput(t *testing.T) {
	p, tr := startReady(t, script())
	var nilCtx context.Context
	if _, err := p.Stop(nilCtx, time.Second); !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("Stop(nil) = %v, want ErrInvalid", err)
	}
	var ie *proc.InvalidError
	if _, err := p.Stop(ctxFor(t, patience), -time.Second); !errors.As(err, &ie) {
		t.Fatalf("Stop with a negative grace = %v, want an *InvalidError", err)
	}
	if !testchild.Alive(tr["child"]) || p.Status().State != proc.StateRunning {
		t.Fatal("a refused Stop stopped the run")
	}
}

// Stop on a run that has ended returns at once, with nothing counted,
// and changes nothing.
func TestStopAfterTheEnd(t *testing.T) {
	p, err := script("exit", "3").Start(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Stop(ctxFor(t, patience), time.Minute)
	if err != nil || rep.Before != 0 || rep.After != 0 || !rep.Drained || rep.Escalated || rep.Signalled {
		t.Fatalf("Stop = %+v, %v; want nothing counted, no error", rep, err)
	}
	r2, _ := p.Wait(ctxFor(t, patience))
	if r2 != r || r.Outcome != proc.Exited || r.ExitCode != 3 {
		t.Fatalf("the Result changed or is wrong: %+v", r2)
	}
}

// ctx ending during the grace returns at once; the stop goes on and
// kills when the grace ends.
func TestStopContextEndsDuringGrace(t *testing.T) {
	const grace = 2 * time.Second
	p, tr := startReady(t, script("ignoreterm"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	rep, err := p.Stop(ctx, grace)
	if !graceful {
		// Nothing to wait for: the kill is at once, and Stop has likely
		// returned before ctx ended.
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	} else {
		if !errors.Is(err, proc.ErrTeardownNotConfirmed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %+v, %v; want ctx's error", rep, err)
		}
		if el := time.Since(began); el > grace/2 {
			t.Fatalf("Stop returned %v after ctx ended, not at once", el)
		}
		if rep.Signal != graceSignal() {
			t.Fatalf("report %+v: want its Signal", rep)
		}
	}
	r, err := p.Wait(ctxFor(t, patience))
	if err != nil || !r.Killed || r.Outcome != proc.Signaled {
		t.Fatalf("Wait = %+v, %v: want the tree killed when the grace ended", r, err)
	}
	if el := time.Since(began); graceful && el < grace {
		t.Fatalf("the run ended %v after Stop began, before its grace (%v) ended", el, grace)
	}
	assertGone(t, tr)
}

// awaitStopping waits until p's monitor has begun to end it.
func awaitStopping(t *testing.T, p *proc.RunningProcess) {
	t.Helper()
	testchild.Poll(t, patience, "the run stopping", func() bool { return p.Status().State != proc.StateRunning })
}

// A Kill, or the group's Close, during Stop's grace kills at once.
func TestStopGraceCutShort(t *testing.T) {
	if !graceful {
		t.Skip("Windows: Stop has no grace to cut short (it escalates at once)")
	}
	for _, how := range []string{"kill", "group close"} {
		t.Run(how, func(t *testing.T) {
			c := script("ignoreterm")
			var g *proc.Group
			if how == "group close" {
				var err error
				g, err = proc.NewGroup(ctxFor(t, patience), proc.GroupOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = g.Close(context.Background()) }()
				c = c.Runner(g)
			}
			p, tr := startReady(t, c)
			stopped := make(chan error, 1)
			var rep proc.ShutdownReport
			go func() {
				var err error
				rep, err = p.Stop(ctxFor(t, patience), time.Minute)
				stopped <- err
			}()
			awaitStopping(t, p)
			began := time.Now()
			var err error
			if g != nil {
				err = g.Close(ctxFor(t, patience))
			} else {
				err = p.Kill(ctxFor(t, patience))
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			if el := time.Since(began); el > 20*time.Second {
				t.Fatalf("Stop returned %v after the %s: the grace was not cut short", el, how)
			}
			if !rep.Escalated || !rep.Signalled {
				t.Fatalf("report %+v: want signalled, then escalated", rep)
			}
			assertGone(t, tr)
		})
	}
}

// Stop races every other end of a run: each answer is sensible, none
// hangs, and the tree is dead when Stop returns.
func TestStopRaces(t *testing.T) {
	type race struct {
		c     func() *proc.Cmd
		other func(ctx context.Context, p *proc.RunningProcess) error
		// group runs c in a group of its own, which other may close.
		group bool
	}
	var g *proc.Group // the group of the current run, for "group close"
	races := map[string]race{
		"group close": {c: func() *proc.Cmd { return script("onterm", "bye", "block") },
			other: func(ctx context.Context, _ *proc.RunningProcess) error { return g.Close(ctx) }, group: true},
		"kill": {c: func() *proc.Cmd { return script("onterm", "bye", "block") },
			other: func(ctx context.Context, p *proc.RunningProcess) error { return p.Kill(ctx) }},
		"stop": {c: func() *proc.Cmd { return script("onterm", "bye", "block") },
			other: func(ctx context.Context, p *proc.RunningProcess) error {
				_, err := p.Stop(ctx, time.Second)
				return err
			}},
		"natural exit": {c: func() *proc.Cmd { return script("exit", "0") }},
		"timeout":      {c: func() *proc.Cmd { return script("block").Timeout(time.Millisecond) }},
	}
	if graceful { // a Grace with a signal is unsupported on Windows
		races["timeout with grace"] = race{c: func() *proc.Cmd {
			return script("onterm", "bye", "block").Timeout(time.Millisecond).Grace(graceSignal(), time.Second)
		}}
	}
	for name, race := range races {
		t.Run(name, func(t *testing.T) {
			deadline := time.Now().Add(15 * time.Second)
			n := 0
			for ; n < 100 && (n < 10 || time.Now().Before(deadline)); n++ {
				ctx := ctxFor(t, patience)
				c := race.c()
				g = nil
				if race.group {
					var err error
					if g, err = proc.NewGroup(ctx, proc.GroupOptions{}); err != nil {
						t.Fatal(err)
					}
					c = c.Runner(g)
				}
				p, err := c.Start(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				var otherErr error
				// The delays spread the calls over the run's first
				// milliseconds (the spawn, the child's start, its signal
				// handler's setup), each pair of them in turn: they vary
				// the interleavings, they synchronise nothing.
				if race.other != nil {
					wg.Go(func() {
						time.Sleep(time.Duration(n/5%5) * time.Millisecond)
						otherErr = race.other(ctx, p)
					})
				}
				time.Sleep(time.Duration(n%5) * time.Millisecond)
				rep, err := p.Stop(ctx, time.Second)
				wg.Wait()
				if err != nil || otherErr != nil {
					t.Fatalf("run %d: Stop = %v, the other = %v", n, err, otherErr)
				}
				select {
				case <-p.Done():
				default:
					t.Fatalf("run %d: Stop returned before the run ended", n)
				}
				if rep.Escalated == rep.Drained {
					t.Fatalf("run %d: report %+v: drained or escalated, not both", n, rep)
				}
				if testchild.Alive(p.Pid()) {
					t.Fatalf("run %d: the child is alive after Stop", n)
				}
				if g != nil {
					if err := g.Close(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Logf("%d runs", n)
		})
	}
}

// Two Stops at once both return when the run has ended, with the same
// report.
func TestStopTwiceConcurrently(t *testing.T) {
	p, tr := startReady(t, script("onterm", "bye"))
	var reps [2]proc.ShutdownReport
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { reps[i], errs[i] = p.Stop(ctxFor(t, patience), 30*time.Second) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	reps[0].Elapsed, reps[1].Elapsed = 0, 0
	if reps[0] != reps[1] || reps[0].Before != 1 {
		t.Fatalf("reports differ or count nothing: %+v, %+v", reps[0], reps[1])
	}
	assertGone(t, tr)
}

// A Stop that comes during the grace of the run's timeout leaves that
// grace to run its course (it is no kill), waits for the end, and the
// Result says the run timed out.
func TestStopDuringTimeoutGraceWaitsForIt(t *testing.T) {
	if !graceful {
		t.Skip("Windows: a Grace with a signal is unsupported")
	}
	const grace = time.Second
	for timeout := 200 * time.Millisecond; ; timeout *= 4 {
		p, err := script("ignoreterm", "out", "ready\n", "block").Timeout(timeout).Grace(graceSignal(), grace).Start(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		awaitStopping(t, p)
		began := time.Now()
		rep, err := p.Stop(ctxFor(t, patience), 0)
		if err != nil || rep.Before != 0 || rep.Escalated {
			t.Fatalf("Stop = %+v, %v; want nothing counted: the timeout ended the run", rep, err)
		}
		r, _ := p.Wait(ctxFor(t, patience))
		if !strings.HasPrefix(r.StdoutText(), "ready") && timeout < 10*time.Second {
			t.Logf("the child was not ready within its %v timeout (a loaded machine); again with a longer one", timeout)
			continue
		}
		if r.Outcome != proc.TimedOut || !r.Killed {
			t.Fatalf("result %+v: want TimedOut, killed at the end of the grace", r)
		}
		// Stop was called once the grace had begun: it must have waited
		// for most of it.
		if el := time.Since(began); el < grace/2 {
			t.Fatalf("Stop returned %v after the timeout's grace began: it cut the grace (%v) short", el, grace)
		}
		return
	}
}
