package proctest_test

import (
	"context"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

// TestScriptedRunReportsWhatARealRunReports runs one command for real and
// the same command through a Script that replies with the same output and
// exit code, and compares the two Results field by field, unexported
// fields included: code under test must not be able to tell them apart.
// stdout has invalid UTF-8, so the count of replaced sequences is
// compared too. Only what cannot be the same is left out:
//
//   - Pid: no process backs a scripted run, its pid is made up;
//   - Duration: the real one is a real child's life, the scripted one
//     the double's;
//   - Usage: the real tree's resource use as its container measured it;
//     a scripted run has no tree to measure;
//   - Mechanism: the kernel mechanism that held the real tree, and
//     proc.FakeMechanism for the scripted one;
//   - state: the real child's *os.ProcessState, behind the
//     *exec.ExitError its error unwraps to; a scripted run has no
//     process, so its error has none (proc.ExitError says so).
func TestScriptedRunReportsWhatARealRunReports(t *testing.T) {
	stdout := []byte("ok \xff\xfe done\nsecond line")
	const stderr = "warn: it went wrong\n"
	real := proc.Command(testchild.Exe(), "outhex", hex.EncodeToString(stdout), "err", stderr, "exit", "3").OKCodes(7)
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		real = real.SetEnv(kv[0], kv[1])
	}
	s := proctest.NewScript(t)
	s.On(real.Name(), real.Args()...).Reply(proctest.Fail(3, stderr).After(proctest.StdoutText(string(stdout))))
	scripted := real.Runner(s)

	ignore := cmp.Options{
		cmpopts.IgnoreFields(proc.Result{}, "Pid", "Duration", "Usage", "Mechanism", "state"),
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmpopts.EquateErrors(),
	}
	for _, verb := range []struct {
		name string
		run  func(ctx context.Context, c *proc.Cmd) (*proc.Result, error)
	}{
		{"Output", func(ctx context.Context, c *proc.Cmd) (*proc.Result, error) { return c.Output(ctx) }},
		{"Start", func(ctx context.Context, c *proc.Cmd) (*proc.Result, error) {
			p, err := c.Start(ctx)
			if err != nil {
				return nil, err
			}
			return p.Wait(ctx)
		}},
	} {
		t.Run(verb.name, func(t *testing.T) {
			ctx := ctxFor(t)
			want, err := verb.run(ctx, real)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verb.run(ctx, scripted)
			if err != nil {
				t.Fatal(err)
			}
			if want.ExitCode != 3 || string(want.Stdout) != string(stdout) {
				t.Fatalf("the real run: exit %d, stdout %q; want 3 and %q", want.ExitCode, want.Stdout, stdout)
			}
			if diff := cmp.Diff(want, got, ignore); diff != "" {
				t.Errorf("the scripted Result differs from the real one (-real +scripted):\n%s", diff)
			}
		})
	}
}
