package proc_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proc/supervise"
	"github.com/gotether/tether/retry"
)

// Code written for os/exec finds an *exec.ExitError under every error of
// a run whose child was reaped, with the same exit code.
func TestExitErrorIsAnExecExitError(t *testing.T) {
	ctx := ctxFor(t, patience)
	// osCode is what the OS reports, code what proc does: they differ
	// only for a tree tether killed on Windows, which reports exit code
	// 1 (TerminateJobObject) where proc reports SIGKILL and -1.
	checkOS := func(what string, err error, code, osCode int) *exec.ExitError {
		t.Helper()
		var pe *proc.ExitError
		var ee *exec.ExitError
		if !errors.As(err, &pe) || !errors.As(err, &ee) {
			t.Fatalf("%s: %v is not both a *proc.ExitError and an *exec.ExitError", what, err)
		}
		if pe.ExitCode() != code || ee.ExitCode() != osCode {
			t.Errorf("%s: exit codes %d (proc) and %d (os/exec), want %d and %d", what, pe.ExitCode(), ee.ExitCode(), code, osCode)
		}
		return ee
	}
	check := func(what string, err error, code int) *exec.ExitError {
		t.Helper()
		return checkOS(what, err, code, code)
	}
	// Exited.
	err := script("err", "disk full", "exit", "3").Exec(ctx)
	if ee := check("exit 3", err, 3); !strings.Contains(string(ee.Stderr), "disk full") || ee.Success() {
		t.Errorf("exec.ExitError of exit 3: Stderr %q, Success %v", ee.Stderr, ee.Success())
	}
	// Timed out: tether killed it; no exit code, as os/exec reports a
	// process killed by CommandContext.
	err = script("block").Timeout(50 * time.Millisecond).Exec(ctx)
	if runtime.GOOS == "windows" {
		_ = checkOS("timeout", err, -1, 1)
	} else if ee := check("timeout", err, -1); ee.Exited() {
		t.Error("a killed child reads as exited")
	}
	if runtime.GOOS != "windows" {
		err = script("kill", "9").Exec(ctx)
		if ee := check("killed by a signal", err, -1); !strings.Contains(ee.String(), "killed") {
			t.Errorf("exec.ExitError says %q", ee)
		}
	}
	// Through a pipeline's error, and a retry's.
	_, err = proc.Pipe(script("exit", "4"), script()).Run(ctx)
	_ = check("pipeline stage", err, 4)
	err = script("exit", "5").Retry(retry.Policy{MaxAttempts: 2, Retryable: retry.ExitCodes(5), Backoff: retry.Constant{}}).Exec(ctx)
	_ = check("retried", err, 5)
}

// An error without a reaped child has no *exec.ExitError: a run
// cancelled before it spawned, and a test double's.
func TestExitErrorWithoutAProcessHasNoExecExitError(t *testing.T) {
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := script().Output(cctx)
	var ee *exec.ExitError
	var pe *proc.ExitError
	if !errors.As(err, &pe) || errors.As(err, &ee) || pe.ExitCode() != -1 {
		t.Errorf("cancelled before the spawn: %v", err)
	}
	r := proc.NewResult(proc.Command("fake"), proc.Exited, 2, "", nil, nil)
	if !errors.As(r.Err(), &pe) || errors.As(r.Err(), &ee) || pe.ExitCode() != 2 {
		t.Errorf("a test double's result: %v", r.Err())
	}
}

// Zero values work or fail with a clear message; none panics.
func TestZeroValuesFailClearly(t *testing.T) {
	var r proc.Result
	if r.Success() {
		t.Error("a zero Result is a success")
	}
	if got, want := r.Err().Error(), "proc: (no program) has no outcome (Outcome(0)): not the result of a run"; got != want {
		t.Errorf("zero Result: Err() = %q, want %q", got, want)
	}
	ctx := ctxFor(t, patience)
	for name, g := range map[string]*proc.Group{"zero": {}, "nil": nil} {
		calls := map[string]error{
			"Close":   g.Close(ctx),
			"Signal":  g.Signal(nil),
			"Suspend": g.Suspend(ctx),
			"Resume":  g.Resume(ctx),
		}
		_, calls["Start"] = g.Start(ctx, script())
		_, calls["Output"] = g.Output(ctx, script())
		_, calls["Shutdown"] = g.Shutdown(ctx, time.Second)
		_, calls["Processes"] = g.Processes()
		_, calls["Stats"] = g.Stats()
		_, calls["Adopt"] = g.Adopt(ctx, 12345)
		_, calls["Run via Runner"] = script().Runner(g).Run(ctx)
		for s := range g.Samples(ctx, time.Second) {
			calls["Samples"] = s.Err
		}
		for call, err := range calls {
			if !errors.Is(err, proc.ErrInvalid) || !strings.Contains(fmt.Sprint(err), "NewGroup") {
				t.Errorf("%s Group: %s = %v, want an error matching ErrInvalid that names NewGroup", name, call, err)
			}
		}
		if m := g.Mechanism(); m != "" {
			t.Errorf("%s Group: Mechanism = %q", name, m)
		}
	}
}

// Every enum prints its name, and an unknown value its type and number.
func TestEnumsPrintTheirNames(t *testing.T) {
	for _, c := range []struct {
		v    fmt.Stringer
		want string
	}{
		{proc.Exited, "exited"}, {proc.Outcome(0), "Outcome(0)"},
		{proc.Stdout, "stdout"}, {proc.Stream(9), "Stream(9)"},
		{proc.EventLine, "line"}, {proc.EventExited, "exited"}, {proc.EventKind(0), "EventKind(0)"},
		{proc.Block, "block"}, {proc.DropOldest, "drop oldest"}, {proc.DropNewest, "drop newest"},
		{proc.FailOverflow, "fail"}, {proc.Overflow(0), "Overflow(0)"},
		{proc.KeepHead, "keep head"}, {proc.KeepTail, "keep tail"}, {proc.CapFail, "fail"},
		{proc.CapPolicy(7), "CapPolicy(7)"},
		{proc.RlimitNoFile, "RLIMIT_NOFILE"},
		{retry.FullJitter, "full"},
		{supervise.Always, "always"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%T(%v).String() = %q, want %q", c.v, c.v, got, c.want)
		}
	}
	// %v prints the name too.
	if got := fmt.Sprintf("%v", proc.DropOldest); got != "drop oldest" {
		t.Errorf("%%v of DropOldest = %q", got)
	}
}
