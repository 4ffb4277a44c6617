package proc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/internal/testchild"
)

// holdMonitors makes every monitor started from now on wait, before it
// looks at the child or at any request, until the returned function is
// called. The test must not run in parallel with others.
func holdMonitors(t *testing.T) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	testHookMonitor = func() { <-gate }
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(func() {
		release()
		testHookMonitor = nil
	})
	return release
}

// exitsSoon is a child that exits 0 by itself after d.
func exitsSoon(d time.Duration) *Cmd {
	c := Command(testchild.Exe(), "sleep", d.String())
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		c = c.SetEnv(kv[0], kv[1])
	}
	return c
}

// exitsOnCue is a child that exits 0 by itself once it reads a line from
// its stdin (RunningProcess.Stdin().WriteLine), so a test can order a
// request before the exit whatever the machine's load.
func exitsOnCue() *Cmd {
	c := Command(testchild.Exe(), "waitin").InteractiveStdin()
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		c = c.SetEnv(kv[0], kv[1])
	}
	return c
}

// TestRequestBeforeTheExitDecidesTheOutcome holds the monitor so that the
// child's exit and an end request are both ready when it first looks:
// the request came first, so the run ends as the request says, whichever
// of the two select picks. A pipeline stage that reads EOF because the
// stage before it was just killed is this case: before, it ended Exited
// (code 0) about one time in two when the chain's timeout had fired, and
// the pipeline said it did not time out.
func TestRequestBeforeTheExitDecidesTheOutcome(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request func(p *RunningProcess)
		want    Outcome
	}{
		{"a pipeline's timeout", func(p *RunningProcess) { p.requestEnd(endByChainTimeout, p.hasExited()) }, TimedOut},
		{"Kill", func(p *RunningProcess) {
			go func() { _ = p.Kill(context.Background()) }()
			<-p.ends.arrived
		}, Signaled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// select picks at random: ten rounds make a wrong pick
			// show with probability 1 - 2^-10.
			for round := range 10 {
				release := holdMonitors(t)
				ctx, cancel := context.WithTimeout(context.Background(), testchild.Patience)
				p, err := exitsOnCue().Start(ctx)
				if err != nil {
					cancel()
					t.Fatal(err)
				}
				tc.request(p)
				if err := p.Stdin().WriteLine("exit now"); err != nil {
					t.Fatal(err)
				}
				<-p.child.exited // the child exited by itself, after the request
				release()
				r, err := p.Wait(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if r.Outcome != tc.want || !p.report().byRequest {
					t.Fatalf("round %d: outcome %v (exit %d, signal %q), by request %v; want %v by request",
						round, r.Outcome, r.ExitCode, r.Signal, p.report().byRequest, tc.want)
				}
			}
		})
	}
}

// TestRequestAfterTheExitLeavesTheChildsOwnOutcome is the other side: a
// request made after the child had exited (and been reaped) came too
// late, and the run ends as the child did.
func TestRequestAfterTheExitLeavesTheChildsOwnOutcome(t *testing.T) {
	for round := range 10 {
		release := holdMonitors(t)
		ctx, cancel := context.WithTimeout(context.Background(), testchild.Patience)
		p, err := exitsSoon(0).Start(ctx)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		<-p.child.exited
		p.requestEnd(endByChainTimeout, p.hasExited())
		release()
		r, err := p.Wait(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != Exited || r.ExitCode != 0 || p.report().byRequest {
			t.Fatalf("round %d: outcome %v (exit %d, signal %q), by request %v; want Exited 0 by itself",
				round, r.Outcome, r.ExitCode, r.Signal, p.report().byRequest)
		}
	}
}

// TestBatchedRequestsAllArriveBeforeAnyActs stands in for an owner
// preempted between two of a pipeline's end requests: after the request
// to the first stage is sent, the test waits (up to a bound) for the
// second stage, a cat, to exit. Before, the first stage's monitor killed
// it at once, the cat read EOF and exited before its own request came,
// and the chain's timeout was reported as the cat's clean exit (seen
// once under Wine on CI). Now no monitor acts before every request of
// the batch is delivered, so the cat is still running when its request
// comes, and both stages report the timeout.
func TestBatchedRequestsAllArriveBeforeAnyActs(t *testing.T) {
	var p *RunningPipeline
	started := make(chan struct{})
	testHookRequested = func(j int) {
		if j != 0 {
			return
		}
		<-started
		cat := p.stages[1]
		deadline := time.Now().Add(1500 * time.Millisecond)
		for !cat.hasExited() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Cleanup(func() { testHookRequested = nil })

	ctx, cancel := context.WithTimeout(context.Background(), testchild.Patience)
	defer cancel()
	script := func(args ...string) *Cmd {
		c := Command(testchild.Exe(), args...)
		for _, kv := range testchild.EnvVars(testchild.ModeScript) {
			c = c.SetEnv(kv[0], kv[1])
		}
		return c
	}
	var err error
	p, err = Pipe(script("block"), script("cat")).Timeout(100 * time.Millisecond).Start(ctx)
	close(started)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range r.Stages {
		if s.Outcome != TimedOut {
			t.Errorf("stage %d: %v (code %d), want timed out", i, s.Outcome, s.ExitCode)
		}
	}
}
