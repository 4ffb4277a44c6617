package proc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proc/supervise"
)

// Every entry point refuses a nil context and a nil *Cmd with an
// *InvalidError in the call: nothing panics, and nothing crashes later in
// one of tether's goroutines (Supervise used to crash the process from
// its loop; Group.Start, Group.Output, Cmd.Output and Validate panicked).
func TestNilContextAndNilCmdAreInvalidEverywhere(t *testing.T) {
	var nilCtx context.Context // a nil context, as a caller's bug passes it
	ctx := ctxFor(t, patience)
	var nilCmd *proc.Cmd
	ok := script("exit", "0")
	g, err := proc.NewGroup(ctx, proc.GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(ctx)
	running, err := script("sleep", "1m").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = running.Kill(ctx) }()

	for name, call := range map[string]func() error{
		"Output nil ctx":    func() error { _, err := ok.Output(nilCtx); return err },
		"Run nil ctx":       func() error { _, err := ok.Run(nilCtx); return err },
		"RunBytes nil ctx":  func() error { _, err := ok.RunBytes(nilCtx); return err },
		"Exec nil ctx":      func() error { return ok.Exec(nilCtx) },
		"Checked nil ctx":   func() error { _, err := ok.Checked(nilCtx); return err },
		"ExitCode nil ctx":  func() error { _, err := ok.ExitCode(nilCtx); return err },
		"Probe nil ctx":     func() error { _, err := ok.Probe(nilCtx); return err },
		"Start nil ctx":     func() error { _, err := ok.Start(nilCtx); return err },
		"FirstLine nil ctx": func() error { _, err := ok.FirstLine(nilCtx, func(proc.Line) bool { return true }); return err },
		"Supervise nil ctx": func() error { _, err := supervise.Start(nilCtx, ok, supervise.Options{}).Wait(ctx); return err },
		"Detach nil ctx":    func() error { _, err := proc.Detach(nilCtx, ok); return err },
		"Parse nil ctx": func() error {
			_, err := proc.Parse(nilCtx, ok, func(string) (int, error) { return 0, nil })
			return err
		},
		"OutputAll nil ctx":     func() error { _, err := proc.OutputAll(nilCtx, []*proc.Cmd{ok}, 1); return err },
		"OutputEach nil ctx":    func() error { return firstEachErr(proc.OutputEach(nilCtx, []*proc.Cmd{ok}, 1)) },
		"WaitAny nil ctx":       func() error { _, _, err := proc.WaitAny(nilCtx, running); return err },
		"WaitAll nil ctx":       func() error { _, err := proc.WaitAll(nilCtx, running); return err },
		"Pipe Output nil ctx":   func() error { _, err := proc.Pipe(ok, ok).Output(nilCtx); return err },
		"NewGroup nil ctx":      func() error { _, err := proc.NewGroup(nilCtx, proc.GroupOptions{}); return err },
		"Group.Start nil ctx":   func() error { _, err := g.Start(nilCtx, ok); return err },
		"Group.Output nil ctx":  func() error { _, err := g.Output(nilCtx, ok); return err },
		"Group.Suspend nil ctx": func() error { return g.Suspend(nilCtx) },
		"Group.Resume nil ctx":  func() error { return g.Resume(nilCtx) },
		"Group.Adopt nil ctx":   func() error { _, err := g.Adopt(nilCtx, running.Pid()); return err },
		"Group.Samples nil ctx": func() error {
			for s := range g.Samples(nilCtx, time.Millisecond) {
				return s.Err
			}
			return nil
		},
		"Wait nil ctx":          func() error { _, err := running.Wait(nilCtx); return err },
		"Kill nil ctx":          func() error { return running.Kill(nilCtx) },
		"Stop nil ctx":          func() error { _, err := running.Stop(nilCtx, time.Second); return err },
		"WaitForOutput nil ctx": func() error { _, err := running.WaitForOutput(nilCtx, "x"); return err },
		"WaitFor nil ctx":       func() error { return running.WaitFor(nilCtx, func(context.Context) error { return nil }) },
		"Profile nil ctx":       func() error { _, err := running.Profile(nilCtx, time.Millisecond); return err },

		"Output nil Cmd":         func() error { _, err := nilCmd.Output(ctx); return err },
		"Run nil Cmd":            func() error { _, err := nilCmd.Run(ctx); return err },
		"Exec nil Cmd":           func() error { return nilCmd.Exec(ctx) },
		"ExitCode nil Cmd":       func() error { _, err := nilCmd.ExitCode(ctx); return err },
		"Probe nil Cmd":          func() error { _, err := nilCmd.Probe(ctx); return err },
		"Start nil Cmd":          func() error { _, err := nilCmd.Start(ctx); return err },
		"Validate nil Cmd":       func() error { return nilCmd.Validate() },
		"Supervise nil Cmd":      func() error { _, err := supervise.Start(ctx, nilCmd, supervise.Options{}).Wait(ctx); return err },
		"Detach nil Cmd":         func() error { _, err := proc.Detach(ctx, nilCmd); return err },
		"Group.Start nil Cmd":    func() error { _, err := g.Start(ctx, nilCmd); return err },
		"Group.Output nil Cmd":   func() error { _, err := g.Output(ctx, nilCmd); return err },
		"builder on a nil Cmd":   func() error { _, err := nilCmd.Timeout(time.Second).Output(ctx); return err },
		"OutputAll with nil Cmd": func() error { _, err := proc.OutputAll(ctx, []*proc.Cmd{nilCmd}, 1); return err },
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panicked: %v", r)
					}
				}()
				err = call()
			}()
			if !errors.Is(err, proc.ErrInvalid) {
				t.Fatalf("error %v; want one matching ErrInvalid", err)
			}
		})
	}
	if s := nilCmd.String(); s == "" {
		t.Error("String of a nil *Cmd is empty")
	}
}

func firstEachErr(seq func(func(proc.Completion) bool)) error {
	for c := range seq {
		return c.Err
	}
	return nil
}
