package proctest_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

func TestScriptMatchesExactPrefixAndPredicateInOrder(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	exact := s.On("git", "status").Reply(proctest.Stdout("exact\n"))
	prefix := s.OnPrefix("git", "log").Reply(proctest.Stdout("prefix\n"))
	pred := s.OnFunc("any kubectl in /deploy", func(sp proc.Spec) bool {
		return sp.Name == "kubectl" && sp.Dir == "/deploy"
	}).Reply(proctest.Stdout("pred\n"))
	s.OnPrefix("git").Reply(proctest.Stdout("any git\n"))

	for _, tc := range []struct {
		cmd  *proc.Cmd
		want string
	}{
		{proc.Command("git", "status"), "exact"},
		{proc.Command("git", "log"), "prefix"},
		{proc.Command("git", "log", "-1", "--oneline"), "prefix"},
		{proc.Command("kubectl", "apply").Dir("/deploy"), "pred"},
		{proc.Command("git", "status", "--short"), "any git"},
		{proc.Command("git"), "any git"},
	} {
		got, err := tc.cmd.Runner(s).Run(ctx)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
	if exact.Calls() != 1 || prefix.Calls() != 2 || pred.Calls() != 1 {
		t.Errorf("calls: exact %d prefix %d pred %d", exact.Calls(), prefix.Calls(), pred.Calls())
	}
	if exact.String() != `On("git", "status")` {
		t.Errorf("rule String: %s", exact)
	}
}

func TestScriptRepliesEndAsARealRunWould(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("ok").Reply(proctest.Stdout("out\n").WithStderr("warn\n"))
	s.On("fail").Reply(proctest.Fail(3, "boom\n"))
	s.On("grep").Reply(proctest.Fail(1, ""))
	s.On("segv").Reply(proctest.Signaled("SIGSEGV"))
	s.On("slow").Reply(proctest.Timeout())

	r, err := proc.Command("ok").Runner(s).Output(ctx)
	if err != nil || !r.Success() || r.StdoutText() != "out\n" || r.StderrText() != "warn\n" || r.Mechanism != proc.FakeMechanism {
		t.Errorf("ok: %+v, %v", r, err)
	}
	_, err = proc.Command("fail").Runner(s).Run(ctx)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !strings.Contains(err.Error(), "boom") {
		t.Errorf("fail: %v", err)
	}
	if found, err := proc.Command("grep").Runner(s).Probe(ctx); found || err != nil {
		t.Errorf("grep as a probe: %v, %v", found, err)
	}
	if _, err := proc.Command("grep").OKCodes(1).Runner(s).Run(ctx); err != nil {
		t.Errorf("grep with OKCodes(1): %v", err)
	}
	r, err = proc.Command("segv").Runner(s).Output(ctx)
	if err != nil || r.Outcome != proc.Signaled || r.Signal != "SIGSEGV" || r.ExitCode != -1 {
		t.Errorf("segv: %+v, %v", r, err)
	}
	r, err = proc.Command("slow").Runner(s).Output(ctx)
	if err != nil || r.Outcome != proc.TimedOut {
		t.Errorf("slow Output: %+v, %v", r, err)
	}
	if _, err := proc.Command("slow").Runner(s).Run(ctx); !errors.Is(err, proc.ErrTimeout) {
		t.Errorf("slow Run: %v", err)
	}
}

func TestScriptStartFailures(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("ffmpeg").Reply(proctest.NotFound())
	s.On("locked").Reply(proctest.StartFailure(fs.ErrPermission))

	r, err := proc.Command("ffmpeg").Runner(s).Output(ctx)
	var nf *proc.NotFoundError
	if r != nil || !errors.As(err, &nf) || nf.Program != "ffmpeg" || !errors.Is(err, proc.ErrNotFound) {
		t.Errorf("not found: %v, %v", r, err)
	}
	_, err = proc.Command("locked").Runner(s).Start(ctx)
	var se *proc.StartError
	if !errors.As(err, &se) || !errors.Is(err, proc.ErrStart) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("start failure: %v", err)
	}
}

func TestScriptPendingEndsOnCancelTimeoutOrKill(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.OnPrefix("server").Reply(proctest.Pending().After(proctest.StdoutLine("listening")))

	cctx, cancel := context.WithCancel(ctx)
	p, err := proc.Command("server", "a").Runner(s).Start(cctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "listening"); err != nil {
		t.Fatal(err)
	}
	cancel()
	r, err := p.Wait(ctx)
	if !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.Canceled) || r.Outcome != proc.Cancelled {
		t.Errorf("cancelled: %+v, %v", r, err)
	}
	if r.StdoutText() != "listening\n" {
		t.Errorf("cancelled run's output: %q", r.StdoutText())
	}

	r, err = proc.Command("server", "b").Timeout(20 * time.Millisecond).Runner(s).Output(ctx)
	if err != nil || r.Outcome != proc.TimedOut {
		t.Errorf("with a timeout: %+v, %v", r, err)
	}

	// A pending run without output: proc.FakeProcess does not yet
	// serialise a write with the end that Kill causes.
	s.On("idle").Reply(proctest.Pending())
	p, err = proc.Command("idle").Runner(s).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Wait(ctx); r.Outcome != proc.Signaled {
		t.Errorf("killed: %v", r.Outcome)
	}

	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := proc.Command("server").Runner(s).Output(done); !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Errorf("an ended context: %v", err)
	}
}

// A scripted run has no process to signal: Stop ends it as Kill does,
// and its report says the stop escalated at once.
func TestScriptStopEndsAPendingRun(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("server").Reply(proctest.Pending().After(proctest.StdoutLine("listening")))
	p, err := proc.Command("server").Runner(s).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "listening"); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Stop(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Signalled || !errors.Is(rep.SignalErr, proc.ErrUnsupported) || !rep.Escalated || rep.Drained || rep.Before != 1 {
		t.Errorf("report %+v: want an escalation at once, the signal unsupported", rep)
	}
	if rep.Elapsed > 30*time.Second {
		t.Errorf("Stop took %v: a fake has no grace to wait out", rep.Elapsed)
	}
	r, err := p.Wait(ctx)
	if err != nil || r.Outcome != proc.Signaled || r.StdoutText() != "listening\n" {
		t.Errorf("stopped: %+v, %v", r, err)
	}
	// Once the run has ended, Stop counts nothing.
	if rep, err := p.Stop(ctx, time.Minute); err != nil || rep.Before != 0 || !rep.Drained {
		t.Errorf("Stop after the end = %+v, %v", rep, err)
	}
}

func TestScriptSequencesRepeatTheLastReply(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("flaky").Reply(proctest.Fail(1, "try again"), proctest.Fail(1, "try again"), proctest.Stdout("ok"))
	var got []int
	for range 5 {
		code, err := proc.Command("flaky").Runner(s).ExitCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, code)
	}
	if d := cmp.Diff([]int{1, 1, 0, 0, 0}, got); d != "" {
		t.Errorf("exit codes (-want +got):\n%s", d)
	}
	if out, err := proc.Command("silent").Runner(proctest.NewScript(nil)).Run(ctx); err == nil {
		t.Errorf("a script with no rules ran silent: %q", out)
	}
}

func TestScriptFallbackAnswersTheRest(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("git", "status").Reply(proctest.Stdout("clean"))
	s.Fallback(proctest.Fail(127, "not scripted"))
	if code, err := proc.Command("anything", "at", "all").Runner(s).ExitCode(ctx); err != nil || code != 127 {
		t.Errorf("fallback: %d, %v", code, err)
	}
}

func TestScriptUnexpectedCommandFailsTheTestWithADiff(t *testing.T) {
	ctx := ctxFor(t)
	tb := &fakeTB{TB: t}
	s := proctest.NewScript(tb)
	s.On("git", "status", "--porcelain").Reply(proctest.Stdout(""))
	s.On("kubectl", "get", "pods").Reply(proctest.Stdout(""))

	r, err := proc.Command("git", "status", "--short").Runner(s).Output(ctx)
	var ue *proctest.UnexpectedError
	if r != nil || !errors.Is(err, proctest.ErrUnexpected) || !errors.As(err, &ue) {
		t.Fatalf("got %v, %v; want an *UnexpectedError", r, err)
	}
	if ue.Nearest != `On("git", "status", "--porcelain")` || !strings.Contains(ue.Diff, `"--porcelain"`) || !strings.Contains(ue.Diff, `"--short"`) {
		t.Errorf("nearest %s, diff:\n%s", ue.Nearest, ue.Diff)
	}
	if strings.Contains(err.Error(), "--short") || strings.Contains(err.Error(), "status") {
		t.Errorf("the error text shows argument values: %v", err)
	}
	errs := tb.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0], ue.Diff) || !strings.Contains(errs[0], `("git", "status", "--short")`) {
		t.Errorf("the test was told: %q", errs)
	}
	if _, err := proc.Command("git", "status").Runner(proctest.NewScript(nil)).Start(ctx); !errors.Is(err, proctest.ErrUnexpected) {
		t.Errorf("without a testing.TB: %v", err)
	}
}

func TestScriptValidatesFirst(t *testing.T) {
	tb := &fakeTB{TB: t}
	s := proctest.NewScript(tb)
	s.Fallback(proctest.Stdout("never"))
	for _, c := range []*proc.Cmd{proc.Command(""), proc.Command("git", "a\x00b"), proc.Command("git").Timeout(-1)} {
		if _, err := c.Runner(s).Output(ctxFor(t)); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c, err)
		}
	}
	if len(tb.Errors()) != 0 {
		t.Errorf("invalid commands are not unexpected: %q", tb.Errors())
	}
}

func TestScriptStreamsThroughTheRealLineMachinery(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("build").Reply(proctest.Fail(2, "").After(
		proctest.StdoutLine("compiling"),
		proctest.Pause(10*time.Millisecond),
		proctest.StderrLine("warning: x"),
		proctest.StdoutText("linking"),
		proctest.Pause(10*time.Millisecond),
		proctest.StdoutText("... done\n"),
	))
	var mu sync.Mutex
	var seen []string
	c := proc.Command("build").Runner(s).OnLine(func(l proc.Line) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, l.Stream.String()+": "+l.Text)
	})
	p, err := c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := p.WaitForOutput(ctx, "done"); err != nil || l.Text != "linking... done" {
		t.Fatalf("probe: %+v, %v", l, err)
	}
	var events []proc.EventKind
	for ev := range p.Events() {
		events = append(events, ev.Kind)
	}
	r, err := p.Wait(ctx)
	if err != nil || r.ExitCode != 2 {
		t.Fatalf("%+v, %v", r, err)
	}
	lines := slices.Collect(p.StdoutLines())
	if len(lines) != 2 || lines[1].Text != "linking... done" {
		t.Errorf("stdout lines: %+v", lines)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff([]string{"stdout: compiling", "stderr: warning: x", "stdout: linking... done"}, seen); d != "" {
		t.Errorf("OnLine (-want +got):\n%s", d)
	}
	if events[0] != proc.EventStarted || events[len(events)-1] != proc.EventExited {
		t.Errorf("events: %v", events)
	}
}

func TestScriptCancelDuringAPause(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("slow").Reply(proctest.Stream(proctest.StdoutLine("a"), proctest.Pause(time.Hour), proctest.StdoutLine("b")))
	cctx, cancel := context.WithCancel(ctx)
	p, err := proc.Command("slow").Runner(s).Start(cctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	cancel()
	r, err := p.Wait(ctx)
	if !errors.Is(err, proc.ErrCancelled) || r.StdoutText() != "a\n" {
		t.Errorf("%q, %v", r.StdoutText(), err)
	}
}

func TestScriptFuncServesInteractiveStdin(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("calc").Reply(proctest.Func(func(ctx context.Context, f *proc.FakeProcess) {
		in := bufio.NewScanner(f.Stdin())
		for in.Scan() {
			if in.Text() == "quit" {
				f.End(proc.Exited, 0, "")
				return
			}
			f.WriteStdout([]byte("= " + in.Text() + "\n"))
		}
	}))
	p, err := proc.Command("calc").InteractiveStdin().Runner(s).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stdin().WriteLine("1+1"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "= 1+1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Stdin().WriteLine("quit"); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Wait(ctx); err != nil || !r.Success() || r.StdoutText() != "= 1+1\n" {
		t.Errorf("%+v, %v", r, err)
	}
}

func TestScriptIsSafeForConcurrentUse(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	rule := s.OnPrefix("echo").Reply(proctest.Stream(proctest.StdoutLine("x"), proctest.Pause(time.Millisecond), proctest.StdoutLine("y")))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			out, err := proc.Command("echo", fmt.Sprint(i)).Runner(s).Run(ctx)
			if err == nil && out != "x\ny" {
				err = fmt.Errorf("output %q", out)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if rule.Calls() != 50 {
		t.Errorf("calls: %d", rule.Calls())
	}
}
