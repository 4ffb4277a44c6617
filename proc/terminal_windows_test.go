package proc_test

// Terminal runs (Cmd.Terminal) on Windows: a pseudo console (ConPTY).
// Under Wine 8 (measured, see docs/terminals.md) the child is attached
// to the pseudo console, whose output, input and size work, but its
// standard handles are left empty: a program that writes to stdout
// prints nothing there. The script child's console operations therefore
// fall back to the console device (CONOUT$, CONIN$) when the standard
// handle is not a console, and only the test of the standard handles
// skips under Wine.

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestTerminalStdHandlesAreTheConsole: the child's stdin and stdout are
// the pseudo console (GetConsoleMode succeeds on them), and what it
// prints to stdout arrives as stdout.
func TestTerminalStdHandlesAreTheConsole(t *testing.T) {
	r, err := script("tty", "out", "hello\n").Terminal(24, 80).StripControls().Timeout(patience).Output(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if underWine() && !strings.Contains(r.StdoutText(), "tty") {
		t.Skipf("Wine 8 attaches the child to the pseudo console but leaves its standard handles NULL (measured: GetStdHandle returns 0 and stdout reaches nowhere); stdout here: %q", r.StdoutText())
	}
	if got := r.StdoutText(); !strings.Contains(got, "tty true true") || !strings.Contains(got, "hello") {
		t.Errorf("stdout %q, want the console seen on stdin and stdout, and hello", got)
	}
}

// TestTerminalConsoleOutputAndSize: what the child writes to its
// console arrives as stdout (with the console's escape sequences, which
// StripControls removes), and the console has the requested size.
func TestTerminalConsoleOutputAndSize(t *testing.T) {
	r, err := script("winsize", "conout", "hello\r\n").Terminal(30, 100).StripControls().Timeout(patience).Output(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.StdoutText(); !strings.Contains(got, "size 30 100") || !strings.Contains(got, "hello") {
		t.Errorf("stdout %q (raw %q), want the size 30 100 and hello", got, r.Stdout)
	}
	if len(r.Stderr) != 0 {
		t.Errorf("stderr %q, want nothing: the console is the only output", r.Stderr)
	}
}

// TestTerminalResizeWindows: the console has the requested size, then,
// after Resize, the new one; Resize after the run fails with
// os.ErrClosed, and a size a console cannot have is refused.
func TestTerminalResizeWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("winch").Terminal(24, 80).StripControls().Timeout(patience).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "size 24 80"); err != nil {
		t.Fatal(err)
	}
	if err := p.Resize(40000, 80); !errors.Is(err, proc.ErrInvalid) {
		t.Errorf("Resize to 40000 rows: %v, want ErrInvalid", err)
	}
	if err := p.Resize(50, 132); err != nil {
		if underWine() && errors.Is(err, syscall.Errno(windows.E_NOTIMPL)) {
			_ = p.Kill(ctx)
			t.Skipf("Wine 8's ResizePseudoConsole is a stub (measured: %v)", err)
		}
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.StdoutText(); !strings.Contains(got, "size 50 132") {
		t.Errorf("stdout %q, want the new size 50 132", got)
	}
	if err := p.Resize(10, 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Resize after the run: %v, want os.ErrClosed", err)
	}
}

// TestTerminalInputWindows: what is written to Stdin reaches the
// child's console input as typed.
func TestTerminalInputWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("conout", "ready\r\n", "conin").Terminal(24, 80).StripControls().Timeout(patience).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "ready"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Stdin().Write([]byte("typed\r")); err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.StdoutText(); !strings.Contains(got, `got "typed\r\n"`) {
		t.Errorf("stdout %q, want the typed line read back", got)
	}
}

// TestTerminalCtrlCWindows: SendControl('C') writes 0x03 to the console,
// which turns it into a CTRL_C_EVENT for the processes attached to it:
// the child sees os.Interrupt. Under Wine the event ends the child
// instead; the test then checks that much (the child would otherwise
// wait a minute) and skips the rest.
func TestTerminalCtrlCWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("onint", "conout", "after\r\n").Terminal(24, 80).StripControls().Timeout(patience).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForOutput(ctx, "waiting"); err != nil {
		t.Fatal(err)
	}
	if err := p.Stdin().SendControl('C'); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, ctrlCPatience)
	defer cancel()
	_, werr := p.WaitForOutput(wctx, "interrupted")
	if werr != nil {
		// Ended by the Ctrl-C without its handler, or not reached by it:
		// Kill reports the first as the child's own exit.
		_ = p.Kill(ctx)
	}
	r, err := p.Wait(ctx)
	if werr != nil {
		if underWine() && r != nil && r.Outcome == proc.Exited {
			t.Skipf("Wine 8 ends the child on the console's Ctrl-C (exit code %d after %v) without running its CTRL_C_EVENT handler (measured)", r.ExitCode, r.Duration)
		}
		t.Fatalf("no interrupt seen: %v; result %+v %v", werr, r, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := r.StdoutText(); !strings.Contains(got, "after") {
		t.Errorf("stdout %q: the child did not go on after its handler ran", got)
	}
}

// ctrlCPatience bounds the wait for a Ctrl-C's effect.
const ctrlCPatience = 10 * time.Second

// TestTerminalTimeoutKillsTheTreeWindows: a terminal run's child is
// placed in its Job Object before it runs: at the Timeout the child and
// the grandchild it started are killed, the run ends, and nothing of the
// tree is left.
func TestTerminalTimeoutKillsTheTreeWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	marker := testchild.TempDir(t) + `\pids`
	const timeout = 2 * time.Second
	p, err := script("hold", "pids", marker, "block").Terminal(24, 80).Timeout(timeout).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tree := testchild.ReadPidFile(t, marker, patience)
	pids := tree.Pids()
	if len(pids) != 2 {
		t.Fatalf("pid file %v, want the child and its grandchild", tree)
	}
	r, err := p.Wait(ctx)
	if err != nil || r == nil || r.Outcome != proc.TimedOut || !r.Killed || !errors.Is(r.Err(), proc.ErrTimeout) {
		t.Fatalf("Wait: %+v %v, want a timed-out, killed run", r, err)
	}
	// Generous: the deadline is the child's start plus the timeout; the
	// machine is shared.
	if r.Duration > timeout+patience/2 {
		t.Errorf("the run took %v with a %v timeout", r.Duration, timeout)
	}
	testchild.WaitDead(t, patience, pids...)
}

// TestTerminalRefusalsWindows: a size a console cannot have and a
// creation flag that gives the child another console are refused with
// ErrInvalid before spawning.
func TestTerminalRefusalsWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	for name, c := range map[string]*proc.Cmd{
		"40000 rows":         script("exit", "0").Terminal(40000, 80),
		"CREATE_NEW_CONSOLE": script("exit", "0").Terminal(24, 80).WindowsCreationFlags(windows.CREATE_NEW_CONSOLE),
		"DETACHED_PROCESS":   script("exit", "0").Terminal(24, 80).WindowsCreationFlags(windows.DETACHED_PROCESS),
	} {
		if r, err := c.Output(ctx); !errors.Is(err, proc.ErrInvalid) || r != nil {
			t.Errorf("%s: %v %v, want ErrInvalid and no result", name, r, err)
		}
	}
}

// TestTerminalInAGroupWindows: a terminal run started in a group is
// adopted into the run's sub, nested in the group's job: the group's
// Close kills it, its grandchild too, and the run ends.
func TestTerminalInAGroupWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	g, err := proc.NewGroup(ctx, proc.GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	marker := testchild.TempDir(t) + `\pids`
	p, err := g.Start(ctx, script("hold", "pids", marker, "block").Terminal(24, 80).Timeout(patience))
	if err != nil {
		_ = g.Close(ctx)
		t.Fatal(err)
	}
	pids := testchild.ReadPidFile(t, marker, patience).Pids()
	if len(pids) != 2 {
		_ = g.Close(ctx)
		t.Fatalf("pids %v, want the child and its grandchild", pids)
	}
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Wait(ctx); r == nil || !r.Killed {
		t.Errorf("Wait after the group's Close: %+v, want a killed run", r)
	}
	testchild.WaitDead(t, patience, pids...)
}

// refusesAdopt is the Job Object backend with containers whose Adopt
// fails: the placement of a terminal run's child fails.
type refusesAdopt struct{ contain.Backend }

func (b refusesAdopt) NewContainer(ctx context.Context, o contain.Options) (contain.Container, error) {
	c, err := b.Backend.NewContainer(ctx, o)
	if err != nil {
		return nil, err
	}
	return adoptFails{c}, nil
}

type adoptFails struct{ contain.Container }

var errAdoptRefused = errors.New("adopt refused by the test")

func (adoptFails) Adopt(int) error { return errAdoptRefused }

// TestTerminalPlacementFailureRunsNothingWindows: when the suspended
// child cannot be placed in its container, it is terminated before it
// runs an instruction (the script's first op, writing a file, never
// happens), the run fails with a start error carrying the cause, and
// nothing is left.
func TestTerminalPlacementFailureRunsNothingWindows(t *testing.T) {
	ctx := ctxFor(t, patience)
	marker := testchild.TempDir(t) + `\ran`
	r, err := script("pids", marker).Terminal(24, 80).Backend(refusesAdopt{jobobject.New()}).Timeout(patience).Output(ctx)
	if r != nil || !errors.Is(err, proc.ErrStart) || !errors.Is(err, errAdoptRefused) {
		t.Fatalf("Output: %v %v, want a start error carrying the refusal", r, err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the child ran: %v", err)
	}
}
