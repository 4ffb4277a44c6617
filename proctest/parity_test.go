package proctest_test

import (
	"context"
	"encoding/hex"
	"io"
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
// compared too. It does so for the default streams, for stderr sent to
// stdout (proc.ToStdout: the scripted stderr lands in stdout, as the
// kernel puts it there) and for a raw stdout reader (proc.ToReader: the
// bytes read must be the same); for Start it also compares the final
// Status. Only what cannot be the same is left out:
//
//   - Pid: no process backs a scripted run, its pid is made up;
//   - Duration (Status.Elapsed): the real one is a real child's life,
//     the scripted one the double's; and StartTime;
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
	base := proc.Command(testchild.Exe(), "outhex", hex.EncodeToString(stdout), "err", stderr, "exit", "3").OKCodes(7)
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		base = base.SetEnv(kv[0], kv[1])
	}

	ignore := cmp.Options{
		cmpopts.IgnoreFields(proc.Result{}, "Pid", "Duration", "Usage", "Mechanism", "state"),
		cmpopts.IgnoreFields(proc.Status{}, "Pid", "Elapsed", "StartTime", "Mechanism"),
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmpopts.EquateErrors(),
	}
	// outcome is what a verb's run gave: its Result, the final Status
	// of a started run, and what its raw stdout reader read.
	type outcome struct {
		result *proc.Result
		status *proc.Status
		read   []byte
	}
	for _, streams := range []struct {
		name string
		cmd  func(*proc.Cmd) *proc.Cmd
		want string // stdout as the real run captures it
	}{
		{"separate", func(c *proc.Cmd) *proc.Cmd { return c }, string(stdout)},
		{"ToStdout", func(c *proc.Cmd) *proc.Cmd { return c.Stderr(proc.ToStdout()) }, string(stdout) + stderr},
		{"ToReader", func(c *proc.Cmd) *proc.Cmd { return c.Stdout(proc.ToReader()) }, string(stdout)},
	} {
		real := streams.cmd(base)
		s := proctest.NewScript(t)
		s.On(real.Name(), real.Args()...).Reply(proctest.Fail(3, stderr).After(proctest.StdoutText(string(stdout))))
		scripted := real.Runner(s)
		for _, verb := range []struct {
			name string
			run  func(ctx context.Context, c *proc.Cmd) (outcome, error)
		}{
			{"Output", func(ctx context.Context, c *proc.Cmd) (outcome, error) {
				r, err := c.Output(ctx)
				return outcome{result: r}, err
			}},
			{"Start", func(ctx context.Context, c *proc.Cmd) (outcome, error) {
				p, err := c.Start(ctx)
				if err != nil {
					return outcome{}, err
				}
				var o outcome
				if streams.name == "ToReader" {
					if o.read, err = io.ReadAll(p.StdoutReader()); err != nil {
						return o, err
					}
				}
				if o.result, err = p.Wait(ctx); err != nil {
					return o, err
				}
				st := p.Status()
				o.status = &st
				return o, nil
			}},
		} {
			t.Run(streams.name+"/"+verb.name, func(t *testing.T) {
				ctx := ctxFor(t)
				want, err := verb.run(ctx, real)
				if err != nil {
					t.Fatal(err)
				}
				got, err := verb.run(ctx, scripted)
				if err != nil {
					t.Fatal(err)
				}
				if want.result.ExitCode != 3 || string(want.result.Stdout) != streams.want {
					t.Fatalf("the real run: exit %d, stdout %q; want 3 and %q", want.result.ExitCode, want.result.Stdout, streams.want)
				}
				if diff := cmp.Diff(want.result, got.result, ignore); diff != "" {
					t.Errorf("the scripted Result differs from the real one (-real +scripted):\n%s", diff)
				}
				if diff := cmp.Diff(want.status, got.status, ignore); diff != "" {
					t.Errorf("the scripted Status differs from the real one (-real +scripted):\n%s", diff)
				}
				if streams.name == "ToReader" && verb.name == "Start" && (string(want.read) != string(stdout) || string(got.read) != string(stdout)) {
					t.Errorf("the readers read %q (real) and %q (scripted); want %q", want.read, got.read, stdout)
				}
			})
		}
	}
}
