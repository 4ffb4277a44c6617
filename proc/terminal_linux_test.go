package proc_test

// Terminal runs (Cmd.Terminal) with real children on both Linux
// backends. The terminal operations of the script child (tty, winch,
// password, raw, ...) use Linux's termios ioctls, so these tests are
// Linux's; elsewhere Terminal is only compile-checked.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestTerminalIsatty: on a terminal run stdin and stdout are terminals,
// stdout and stderr merge into Result.Stdout (with the terminal's
// "\r\n"), and TERM, COLUMNS and LINES describe the new terminal, not
// the owner's.
func TestTerminalIsatty(t *testing.T) {
	t.Setenv("COLUMNS", "999")
	t.Setenv("LINES", "999")
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		r, err := script("tty", "err", "to-stderr\n", "env", "TERM", "out", " ", "env", "COLUMNS", "out", " ", "env", "LINES").
			Terminal(30, 100).Backend(b).Timeout(patience).Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.StdoutText(), "tty true true\r\nto-stderr\r\nxterm-256color 100 30"; got != want {
			t.Errorf("stdout %q, want %q", got, want)
		}
		if len(r.Stderr) != 0 || r.StderrTotal != 0 {
			t.Errorf("stderr %q (%d bytes), want nothing: a terminal merges it into stdout", r.Stderr, r.StderrTotal)
		}
	})
}

// TestTerminalEnvSetByTheCmdWins: TERM, COLUMNS and LINES set or unset
// on the Cmd are kept.
func TestTerminalEnvSetByTheCmdWins(t *testing.T) {
	r, err := script("env", "TERM", "out", "|", "env", "COLUMNS", "out", "|", "env", "LINES").
		Terminal(24, 80).SetEnv("TERM", "dumb").UnsetEnv("COLUMNS").Timeout(patience).Output(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.StdoutText(), "dumb||24"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// TestTerminalColourStripped: a program that colours only on a terminal
// does so under Terminal; StripControls gives plain text and lines while
// Result.Stdout keeps the raw bytes; on a pipe it prints plain text.
func TestTerminalColourStripped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		var lines []string
		r, err := script("colour", "hello", "out", "progress 50%\rprogress 100%\n").Terminal(24, 80).StripControls().
			OnLine(func(l proc.Line) { lines = append(lines, l.Text) }).Backend(b).Timeout(patience).Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(r.Stdout, []byte("\x1b[1;31mhello\x1b[0m")) {
			t.Errorf("raw stdout %q has no colour: the child did not see a terminal", r.Stdout)
		}
		if got, want := r.StdoutText(), "hello\r\nprogress 50%\rprogress 100%\r\n"; got != want {
			t.Errorf("stripped text %q, want %q", got, want)
		}
		// The line splitter still splits at "\r\n"; a lone "\r" stays in
		// the line under the default terminators.
		if want := []string{"hello", "progress 50%\rprogress 100%"}; !slices.Equal(lines, want) {
			t.Errorf("lines %q, want %q", lines, want)
		}
		plain, err := script("colour", "hello").Backend(b).Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(plain.Stdout); got != "hello\n" {
			t.Errorf("on a pipe: stdout %q, want plain %q", got, "hello\n")
		}
	})
}

// TestTerminalResize: the child sees the requested size, then, after
// Resize, SIGWINCH and the new size.
func TestTerminalResize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("winch").Terminal(24, 80).Backend(b).Timeout(patience).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitForOutput(ctx, "size 24 80"); err != nil {
			t.Fatal(err)
		}
		if err := p.Resize(50, 132); err != nil {
			t.Fatal(err)
		}
		r, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.StdoutText(), "size 24 80\r\nsize 50 132\r\n"; got != want {
			t.Errorf("stdout %q, want %q", got, want)
		}
		if err := p.Resize(10, 10); !errors.Is(err, os.ErrClosed) {
			t.Errorf("Resize after the run: %v, want os.ErrClosed", err)
		}
	})
}

// TestTerminalPassword: a prompt without a newline, printed with echo
// off, is seen by WaitForPrompt and answered through Stdin; the answer
// is not echoed.
func TestTerminalPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("out", "login\n", "password", "Password: ").Terminal(24, 80).Backend(b).Timeout(patience).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		line, err := p.WaitForPrompt(ctx, "Password:")
		if err != nil {
			t.Fatal(err)
		}
		if line != "Password: " {
			t.Errorf("prompt line %q, want %q", line, "Password: ")
		}
		if err := p.Stdin().WriteLine("s3cret"); err != nil {
			t.Fatal(err)
		}
		r, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := r.StdoutText()
		if !strings.Contains(out, `got "s3cret\n"`) || strings.Count(out, "s3cret") != 1 {
			t.Errorf("stdout %q: want the answer once, in the child's report (echo was off)", out)
		}
	})
}

// TestWaitForPromptOnAPipe: WaitForPrompt works without a terminal too
// (a prompt on stderr), and gives up when the streams end.
func TestWaitForPromptOnAPipe(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("out", "Continue? \n", "err", "\x1b[1mContinue?\x1b[0m [y/N] ", "waitin").
		InteractiveStdin().Timeout(patience).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	line, err := p.WaitForPrompt(ctx, "Continue? [y/N]")
	if err != nil || line != "Continue? [y/N] " {
		t.Fatalf("prompt %q, %v", line, err)
	}
	if err := p.Stdin().WriteLine("y"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitForPrompt(ctx, "Continue?"); !errors.Is(err, proc.ErrNotReady) {
		t.Errorf("after the run: %v, want ErrNotReady", err)
	}
}

// TestTerminalCtrlC: the Ctrl-C byte becomes SIGINT for the child's
// foreground group, which ends a blocked child.
func TestTerminalCtrlC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("out", "ready\n", "block").Terminal(24, 80).Backend(b).Timeout(patience).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitForOutput(ctx, "ready"); err != nil {
			t.Fatal(err)
		}
		if err := p.Stdin().SendControl('C'); err != nil {
			t.Fatal(err)
		}
		r, _ := p.Wait(ctx)
		if r.Outcome != proc.Signaled || r.Signal != "SIGINT" || r.Killed {
			t.Errorf("outcome %v signal %q killed %v, want Signaled by SIGINT, not by tether", r.Outcome, r.Signal, r.Killed)
		}
	})
}

// TestTerminalTimeoutWithAGrandchildHoldingIt: a grandchild holding the
// terminal does not hold the run: the timeout kills the tree and the run
// returns soon after the deadline, the whole tree dead.
func TestTerminalTimeoutWithAGrandchildHoldingIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		pids := testchild.PidFile(t)
		const timeout = 500 * time.Millisecond
		begin := time.Now()
		r, err := script("hold", "pids", pids, "out", "ready\n", "block").Terminal(24, 80).
			Backend(b).Timeout(timeout).Output(ctxFor(t, patience))
		past := time.Since(begin) - timeout
		if err != nil || r.Outcome != proc.TimedOut || !errors.Is(r.Err(), proc.ErrTimeout) {
			t.Fatalf("error %v, result %+v, want a timeout", err, r)
		}
		// The figure is 50 ms; the bound is generous for a loaded
		// machine, and the real figure is measured by
		// BenchmarkTerminalTimeout.
		if past > 2*time.Second {
			t.Errorf("returned %v past the deadline", past)
		}
		if !strings.Contains(r.StdoutText(), "ready") {
			t.Errorf("stdout %q, want the output before the timeout", r.StdoutText())
		}
		for role, pid := range testchild.ReadPidFile(t, pids, patience) {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive after the run", role, pid)
			}
		}
	})
}

// BenchmarkTerminalTimeout measures how long past its deadline a
// terminal run whose grandchild holds the terminal returns, on each
// backend: "past-ms" on average (the spawn included, as in the timeout
// the caller sees), "worst-past-ms" the slowest run.
func BenchmarkTerminalTimeout(b *testing.B) {
	const timeout = 200 * time.Millisecond
	for _, be := range []contain.Backend{cgroupv2.New(), pgid.New()} {
		b.Run(string(be.Mechanism()), func(b *testing.B) {
			if a := be.Availability(); !a.Usable {
				b.Skip("backend not usable here: ", a.Reason)
			}
			var worst, total time.Duration
			for b.Loop() {
				begin := time.Now()
				r, err := script("hold", "block").Terminal(24, 80).Backend(be).Timeout(timeout).Output(b.Context())
				if err != nil || r.Outcome != proc.TimedOut {
					b.Fatal(err, r)
				}
				past := time.Since(begin) - timeout
				total += past
				worst = max(worst, past)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "past-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-past-ms")
		})
	}
}

// TestTerminalTenMegabytes: 10 MiB cross the terminal intact both ways
// with the child in raw mode (no echo, no "\r\n", no line limit). Under
// -short 1 MiB: a terminal moves a few KiB per read (docs/terminals.md),
// and the emulated VMs of make test-vm took over 10 s for 10 MiB (0.4 s
// here).
func TestTerminalTenMegabytes(t *testing.T) {
	n := 10 << 20
	if testing.Short() {
		n = 1 << 20
	}
	size := strconv.Itoa(n)
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, 3*patience)
		r, err := script("raw", "outbin", size).Terminal(24, 80).Backend(b).Timeout(3 * patience).Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Stdout, testchild.Pattern(n)) {
			t.Errorf("output: %d bytes, not the %d written", len(r.Stdout), n)
		}

		p, err := script("raw", "out", "ready\n", "sumin", size).Terminal(24, 80).Backend(b).Timeout(3 * patience).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitForOutput(ctx, "ready"); err != nil {
			t.Fatal(err)
		}
		in := testchild.Pattern(n)
		if _, err := p.Stdin().Write(in); err != nil {
			t.Fatal(err)
		}
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(in)
		if want := "sum " + hex.EncodeToString(sum[:]); !strings.Contains(res.StdoutText(), want) {
			t.Errorf("input: child reported %q, want %q", res.StdoutText(), want)
		}
	})
}

// TestTerminalStdinBytesAreTyped: StdinString is typed into the
// terminal; with echo on it also shows in the output.
func TestTerminalStdinBytesAreTyped(t *testing.T) {
	r, err := script("head", "1").Terminal(24, 80).StdinString("abc\n").Timeout(patience).Output(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.StdoutText(), "abc\r\nabc\r\n"; got != want {
		t.Errorf("stdout %q, want the echo and the line: %q", got, want)
	}
}

// TestTerminalNoDescriptorLeak: terminal runs close every descriptor
// they opened (both sides of the terminal, the writer's), whether the
// child exits or is killed.
func TestTerminalNoDescriptorLeak(t *testing.T) {
	runs := 1000
	if testing.Short() {
		runs = 100
	}
	prog, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) on this host, and a thousand runs of the test binary would take minutes:", err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1) on this host:", err)
	}
	ctx := ctxFor(t, 10*patience)
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	// One run first, so that what a first run opens for good (the
	// watchdog, the poller) is not counted.
	if _, err := proc.Command(prog).Terminal(24, 80).Output(ctx); err != nil {
		t.Fatal(err)
	}
	before := fds()
	for i := range runs {
		if i%10 == 0 {
			// Every tenth run is killed, after a resize and some typing.
			p, err := proc.Command(sleep, "10").Terminal(24, 80).Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Resize(30, 90); err != nil {
				t.Fatal(err)
			}
			if err := p.Stdin().WriteLine("typed"); err != nil {
				t.Fatal(err)
			}
			if err := p.Kill(ctx); err != nil {
				t.Fatal(err)
			}
			if r, _ := p.Wait(ctx); !r.Killed {
				t.Fatalf("run %d: %+v, want killed", i, r)
			}
			continue
		}
		if _, err := proc.Command(prog).Terminal(24, 80).Output(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if after := fds(); after > before {
		t.Errorf("%d descriptors after %d terminal runs, %d before", after, runs, before)
	}
}

// TestTerminalRefusals: what cannot go with a terminal fails before
// spawning.
func TestTerminalRefusals(t *testing.T) {
	ctx := ctxFor(t, patience)
	base := script("out", "x")
	for name, c := range map[string]*proc.Cmd{
		"zero rows":     base.Terminal(0, 80),
		"zero columns":  base.Terminal(24, 0),
		"stdin file":    base.Terminal(24, 80).StdinFile(os.DevNull),
		"stdin inherit": base.Terminal(24, 80).InheritStdin(),
		"stdout file":   base.Terminal(24, 80).Stdout(proc.Discard()),
		"stderr set":    base.Terminal(24, 80).Stderr(proc.Capture()),
		"foreground":    base.Terminal(24, 80).Foreground(os.Stdin),
	} {
		if _, err := c.Output(ctx); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := proc.Pipe(base.Terminal(24, 80), script("cat")).Output(ctx); !errors.Is(err, proc.ErrInvalid) {
		t.Errorf("a pipeline stage: %v, want ErrInvalid", err)
	}
	if _, err := proc.Detach(ctx, base.Terminal(24, 80)); !errors.Is(err, proc.ErrUnsupported) {
		t.Errorf("Detach: %v, want ErrUnsupported", err)
	}
	p, err := base.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Resize(24, 80); !errors.Is(err, proc.ErrInvalid) {
		t.Errorf("Resize without a terminal: %v, want ErrInvalid", err)
	}
	_, _ = p.Wait(ctx)
	if _, err := base.Terminal(24, 80).Stderr(proc.ToStdout()).Output(ctx); err != nil {
		t.Errorf("stderr ToStdout: %v, want it accepted (a terminal merges anyway)", err)
	}
}

// TestFailedStartClosesWhatItOpened: a child whose exec fails (a file
// with the execute bit that is no program) leaves no descriptor behind:
// not the terminal's two sides, and not the interactive stdin's write
// end either (which the failed spawn used to leak).
func TestFailedStartClosesWhatItOpened(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "not-a-program")
	if err := os.WriteFile(bad, []byte{0, 1, 2, 3}, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 3*patience)
	// A first run opens what stays open for good (the owner-death
	// watchdog's pipe and pidfd).
	if _, err := script("exit", "0").Output(ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*proc.Cmd{
		"interactive stdin": proc.Command(bad).InteractiveStdin(),
		"terminal":          proc.Command(bad).Terminal(24, 80),
	} {
		before := openFds(t)
		if _, err := c.Start(ctx); !errors.Is(err, proc.ErrStart) {
			t.Fatalf("%s: %v, want a start failure", name, err)
		}
		checkFds(t, before)
	}
}

// TestFakeTerminalRun: a scripted run of a terminal Cmd behaves as a
// real one: stderr is stdout's, the Stdin writer works, WaitForPrompt
// sees a prompt, the Spec says it.
func TestFakeTerminalRun(t *testing.T) {
	ctx := ctxFor(t, patience)
	c := proc.Command("login").Terminal(24, 80).StripControls()
	if s := c.Spec(); s.TerminalRows != 24 || s.TerminalCols != 80 || !s.StderrToStdout {
		t.Fatalf("spec %+v", s)
	}
	f, err := proc.NewFakeProcess(ctx, c, 4242)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Process()
	f.WriteStderr([]byte("\x1b[1mPassword:\x1b[0m "))
	if prompt, err := p.WaitForPrompt(ctx, "Password:"); err != nil || prompt != "Password: " {
		t.Fatalf("prompt %q %v", prompt, err)
	}
	go func() { _ = p.Stdin().WriteLine("x"); _ = p.Stdin().Close() }()
	if b, err := io.ReadAll(f.Stdin()); err != nil || string(b) != "x\n" {
		t.Fatalf("stdin %q %v", b, err)
	}
	f.End(proc.Exited, 0, "")
	r, err := p.Wait(ctx)
	if err != nil || r.StdoutText() != "Password: " || len(r.Stderr) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestTerminalSetsidGrandchild: a grandchild that leaves the session
// (setsid) and keeps the terminal open does not hold the run: where the
// backend contains it, it dies with the tree; under process groups,
// where it escapes, reading stops once the tree is dead (the terminal
// read through the poller, so closing it ends the read) and the run
// ends with the output written.
func TestTerminalSetsidGrandchild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		pids := testchild.PidFile(t)
		begin := time.Now()
		r, err := script("holdsid", "pids", pids, "out", "done").Terminal(24, 80).Backend(b).Output(ctxFor(t, patience))
		took := time.Since(begin)
		if err != nil || !r.Success() || r.StdoutText() != "done" {
			t.Fatalf("Output = %+v, %v", r, err)
		}
		tree := testchild.ReadPidFile(t, pids, patience)
		escapee := tree["holdsid"]
		if b.Availability().ContainsSetsid {
			if testchild.Alive(escapee) {
				t.Fatalf("setsid grandchild %d alive after Output returned under %s", escapee, b.Mechanism())
			}
			return
		}
		if !testchild.Alive(escapee) {
			t.Fatalf("setsid grandchild %d died under %s; the escape did not happen", escapee, b.Mechanism())
		}
		testchild.KillPids(escapee)
		testchild.WaitDead(t, patience, escapee)
		if took > 5*time.Second {
			t.Errorf("the run took %v with an escapee holding the terminal", took)
		}
	})
}
