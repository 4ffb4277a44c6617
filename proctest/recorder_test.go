package proctest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

func TestRecorderRecordsEveryInvocation(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.Fallback(proctest.Stdout(""))
	rec := proctest.NewRecorder(s)
	if _, err := proc.Command("deploy", "--env", "prod").Dir("/srv").SetEnv("TOKEN", "t0k").UnsetEnv("DEBUG").
		StdinString("yes\n").Runner(rec).Run(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := proc.Command("tail", "-f").Runner(rec).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Command("bad\x00").Runner(rec).Output(ctx); !errors.Is(err, proc.ErrInvalid) {
		t.Errorf("invalid: %v", err)
	}
	want := []proctest.Call{
		{Verb: "Output", Program: "deploy", Args: []string{"--env", "prod"}, Dir: "/srv",
			Env: map[string]string{"TOKEN": "t0k"}, Unset: []string{"DEBUG"}, Stdin: "bytes", StdinBytes: []byte("yes\n")},
		{Verb: "Start", Program: "tail", Args: []string{"-f"}},
	}
	if d := cmp.Diff(want, rec.Calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if !rec.AssertCalled(t, "tail", "-f") || !rec.AssertCalls(t, []string{"deploy", "--env", "prod"}, []string{"tail", "-f"}) {
		t.Error("the assertions disagree with Calls")
	}
	rec.Reset()
	rec.AssertNoCalls(t)
}

func TestRecorderAssertionsFailWithADiff(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.Fallback()
	rec := proctest.NewRecorder(s)
	tb := &fakeTB{TB: t}
	if rec.AssertCalled(tb, "git", "status") || len(tb.Errors()) != 1 || !strings.Contains(tb.Errors()[0], "no calls") {
		t.Errorf("no calls: %q", tb.Errors())
	}
	catchFatal(func() { rec.OnlyCall(tb) })
	if !tb.fatal {
		t.Error("OnlyCall with no calls did not stop the test")
	}
	if _, err := proc.Command("git", "status", "--short").Runner(rec).Run(ctx); err != nil {
		t.Fatal(err)
	}
	tb = &fakeTB{TB: t}
	if rec.AssertCalled(tb, "git", "status") || !strings.Contains(tb.Errors()[0], `"--short"`) {
		t.Errorf("AssertCalled: %q", tb.Errors())
	}
	if rec.AssertCalls(tb, []string{"git", "status"}) || !strings.Contains(tb.Errors()[1], "--short") {
		t.Errorf("AssertCalls: %q", tb.Errors())
	}
	if rec.AssertNoCalls(tb) || len(tb.Errors()) != 3 {
		t.Errorf("AssertNoCalls: %q", tb.Errors())
	}
	if c := rec.OnlyCall(t); c.Program != "git" {
		t.Errorf("OnlyCall: %+v", c)
	}
}
