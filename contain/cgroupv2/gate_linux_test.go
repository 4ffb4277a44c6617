//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

// The spawn gate (see contain.Container): a child is never cloned into a
// frozen cgroup. Such a child stops before it can exec, the thread that
// forked it stays in the kernel (vfork), and the owner's runtime then
// hangs at its next garbage collection. The scenarios that hung run in a
// helper process (testchild.RunHelper), so that a hang fails the test.

// helperFrozenStart runs one case of startIntoFrozen (its argument): it
// prints "ok" or fails with the reason.
const helperFrozenStart = "frozenstart"

func init() { helpers[helperFrozenStart] = runFrozenStart }

func runFrozenStart(args []string) int {
	if len(args) != 1 {
		return 2
	}
	if err := startIntoFrozen(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ok")
	return 0
}

// startIntoFrozen makes a container P with a sub S and a sub of it SS, a
// sleeping member in SS, freezes P behind tether's back (as systemctl
// freeze would: cgroup.freeze written directly), and then checks that a
// Start into SS and into P fails at once with ErrFrozen and spawns
// nothing, that the runtime still collects garbage, and that after the
// thaw a Start works. (The suite, contain/containtest, checks the
// freezes tether makes itself.) The argument names the case; "outside"
// is the only one.
func startIntoFrozen(which string) (err error) {
	if which != "outside" {
		return fmt.Errorf("unknown case %q", which)
	}
	ctx := context.Background()
	p, err := New().NewContainer(ctx, contain.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := p.Close(ctx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		return err
	}
	ss, err := s.Sub(ctx, contain.Options{})
	if err != nil {
		return err
	}
	member := testchild.Command(testchild.ModeSleep)
	if err := ss.Start(member); err != nil {
		return err
	}
	reaped := make(chan struct{})
	go func() { _ = member.Wait(); close(reaped) }()
	defer func() { _ = p.Kill(ctx); <-reaped }()

	targets := []contain.Container{ss, p}
	dir := dirOf(p)
	if err := writeFile(dir, "cgroup.freeze", "1"); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	if err := waitEvent(ctx, dir, "frozen", 1); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	for _, c := range targets {
		cmd := testchild.Command(testchild.ModeExit, "0")
		began := time.Now()
		err := c.Start(cmd)
		took := time.Since(began)
		if err == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fmt.Errorf("Start into %s while frozen succeeded", dirOf(c))
		}
		if !errors.Is(err, contain.ErrFrozen) || cmd.Process != nil {
			return fmt.Errorf("Start into %s while frozen = %w (process %v), want ErrFrozen and no process", dirOf(c), err, cmd.Process)
		}
		if took > 2*time.Second {
			return fmt.Errorf("Start into %s took %v to fail", dirOf(c), took)
		}
	}
	runtime.GC()
	if pids, err := p.Pids(); err != nil || len(pids) != 1 {
		return fmt.Errorf("members after the refused starts: %v, %w; want the sleeper alone", pids, err)
	}
	if err := writeFile(dir, "cgroup.freeze", "0"); err != nil {
		return fmt.Errorf("thaw: %w", err)
	}
	for _, c := range targets {
		cmd := testchild.Command(testchild.ModeExit, "0")
		if err := startThawed(ctx, c, cmd); err != nil {
			return fmt.Errorf("Start into %s after the thaw: %w", dirOf(c), err)
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("child started after the thaw: %w", err)
		}
	}
	return nil
}

// startThawed starts cmd in c, retrying while cgroup.events still says
// frozen: a thaw written behind tether's back is confirmed by nobody.
func startThawed(ctx context.Context, c contain.Container, cmd *exec.Cmd) error {
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	for {
		err := c.Start(cmd)
		if !errors.Is(err, contain.ErrFrozen) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// A Start into a container frozen from outside tether (cgroup.freeze
// written directly) fails at once with ErrFrozen: cgroup.events says so;
// nothing is spawned and the owner keeps running.
func TestStartIntoFrozenFailsWithErrFrozen(t *testing.T) {
	usable(t)
	if out := testchild.RunHelper(t, 3*patience, helperFrozenStart, "outside"); out != "ok\n" {
		t.Fatalf("helper said %q", out)
	}
}
