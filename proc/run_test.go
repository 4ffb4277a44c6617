package proc_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

func TestOutputCapturesStreamsAndExitCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		r, err := script("out", "hello\n", "err", "oops", "exit", "3").Backend(b).Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != proc.Exited || r.ExitCode != 3 || string(r.Stdout) != "hello\n" || string(r.Stderr) != "oops" {
			t.Fatalf("got outcome %v code %d stdout %q stderr %q", r.Outcome, r.ExitCode, r.Stdout, r.Stderr)
		}
		if r.Mechanism != b.Mechanism() || r.Pid <= 0 || r.Duration <= 0 || r.Attempts != 1 || r.Success() {
			t.Fatalf("result fields: %+v", r)
		}
		var ee *proc.ExitError
		if err := r.Err(); !errors.As(err, &ee) || ee.Code != 3 || !errors.Is(err, proc.ErrExit) || !strings.Contains(err.Error(), "exited with code 3: oops") {
			t.Fatalf("Err() = %v", err)
		}
	})
}

func TestVerbs(t *testing.T) {
	ctx := ctxFor(t, patience)
	if out, err := script("out", "  trimmed \n\n").Run(ctx); err != nil || out != "  trimmed" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if _, err := script("out", "x", "exit", "2").Run(ctx); !errors.Is(err, proc.ErrExit) {
		t.Fatalf("Run of a failing command = %v", err)
	}
	raw := "\xff\xfe bytes \r\n"
	if b, err := script("outhex", hex.EncodeToString([]byte(raw))).RunBytes(ctx); err != nil || string(b) != raw {
		t.Fatalf("RunBytes = %q, %v", b, err)
	}
	if r, err := script("outhex", "ff").Output(ctx); err != nil || r.StdoutText() != "\uFFFD" {
		t.Fatalf("StdoutText of invalid UTF-8 = %q, %v", r.StdoutText(), err)
	}
	if err := script("out", "ignored", "exit", "0").Exec(ctx); err != nil {
		t.Fatalf("Exec = %v", err)
	}
	if err := script("err", "bad things", "exit", "4").Exec(ctx); !errors.Is(err, proc.ErrExit) || !strings.Contains(err.Error(), "bad things") {
		t.Fatalf("Exec of a failing command = %v", err)
	}
	if r, err := script("out", "y").Checked(ctx); err != nil || string(r.Stdout) != "y" {
		t.Fatalf("Checked = %v, %v", r, err)
	}
	if r, err := script("exit", "5").Checked(ctx); r != nil || !errors.Is(err, proc.ErrExit) {
		t.Fatalf("Checked of a failing command = %v, %v", r, err)
	}
	if code, err := script("exit", "7").ExitCode(ctx); err != nil || code != 7 {
		t.Fatalf("ExitCode = %d, %v", code, err)
	}
	for code, want := range map[string]bool{"0": true, "1": false} {
		if ok, err := script("exit", code).Probe(ctx); err != nil || ok != want {
			t.Fatalf("Probe exit %s = %v, %v", code, ok, err)
		}
	}
	if _, err := script("exit", "2").Probe(ctx); !errors.Is(err, proc.ErrExit) {
		t.Fatalf("Probe exit 2 = %v, want an error", err)
	}
	if _, err := script("exit", "1").OKCodes(1).Run(ctx); err != nil {
		t.Fatalf("OKCodes(1): %v", err)
	}
}

func TestTimeoutKillsTreeWhoseGrandchildHoldsStdout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		// The 50 ms target is measured by the benchmarks. Here the
		// bound only has to tell a tree that was killed from one left
		// holding the pipe (the drain then waits up to its 5 s limit),
		// on a shared two-core machine under -race and any load: 2 s, and
		// up to three runs with the best one counting (a load of 20 made
		// one run 0.6 s late, or kept the child from writing before its
		// deadline).
		const d, bound = 300 * time.Millisecond, 2 * time.Second
		var late time.Duration
		for attempt := 1; ; attempt++ {
			pids := testchild.PidFile(t)
			began := time.Now()
			r, err := script("out", "before\n", "hold", "pids", pids, "block").
				Timeout(d).Backend(b).Output(ctxFor(t, patience))
			late = time.Since(began) - d
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != proc.TimedOut || !errors.Is(r.Err(), proc.ErrTimeout) {
				t.Fatalf("outcome %v stdout %q err %v", r.Outcome, r.Stdout, r.Err())
			}
			if tree := testchild.TryReadPidFile(t, pids); tree != nil {
				for role, pid := range tree {
					if testchild.Alive(pid) {
						t.Errorf("%s %d alive after Output returned", role, pid)
					}
				}
			}
			ready := string(r.Stdout) == "before\n"
			t.Logf("%s: attempt %d returned %v after the deadline (the child had written: %v)", b.Mechanism(), attempt, late, ready)
			if ready && late <= bound {
				return
			}
			if attempt == 3 {
				break
			}
		}
		t.Fatalf("returned %v after the deadline in the last of 3 runs; want at most %v", late, bound)
	})
}

func TestSetsidGrandchild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		pids := testchild.PidFile(t)
		r, err := script("holdsid", "pids", pids, "out", "done").Backend(b).Output(ctxFor(t, patience))
		if err != nil || !r.Success() || string(r.Stdout) != "done" {
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
		// Under process groups a setsid grandchild escapes: the documented
		// weakness. It held stdout, so the run stopped reading after the
		// bounded drain. Clean it up ourselves.
		if !testchild.Alive(escapee) {
			t.Fatalf("setsid grandchild %d died under %s; the escape did not happen", escapee, b.Mechanism())
		}
		testchild.KillPids(escapee)
		testchild.WaitDead(t, patience, escapee)
	})
}

func TestCancellationKeepsOutputAndMatchesBothErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pids := testchild.PidFile(t)
		p, err := script("out", "partial\n", "hold", "pids", pids, "block").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tree := testchild.ReadPidFile(t, pids, patience)
		cancel()
		r, err := p.Wait(ctxFor(t, patience))
		if !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait error = %v, want ErrCancelled and context.Canceled", err)
		}
		if r == nil || r.Outcome != proc.Cancelled {
			t.Fatalf("result %+v", r)
		}
		var ee *proc.ExitError
		if !errors.As(err, &ee) || ee.Result != r {
			t.Fatalf("the error does not carry the result: %v", err)
		}
		if string(r.Stdout) != "partial\n" {
			t.Fatalf("output captured before the cancellation lost: %q", r.Stdout)
		}
		for role, pid := range tree {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive after cancellation", role, pid)
			}
		}
	})
}

func TestCancelledContextSpawnsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	marker := testchild.TempDir(t) + "/ran"
	_, err := script("out", "x").Stdout(proc.ToFile(marker)).Output(ctx)
	if !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Output with a cancelled context = %v", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something ran: %v", err)
	}
}

func TestStdinOfTenMegabytesThroughCat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		in := bytes.Repeat([]byte("0123456789abcdef"), 10<<20/16)
		r, err := script("cat").StdinBytes(in).Backend(b).Output(ctxFor(t, patience))
		if err != nil || !r.Success() {
			t.Fatalf("Output = %v, %v", r, err)
		}
		if !bytes.Equal(r.Stdout, in) {
			t.Fatalf("read back %d bytes, want %d identical", len(r.Stdout), len(in))
		}
	})
}

// Run keeps leading white space and trims the end only: the first line
// of `git status --porcelain` starts with status columns. Before, they
// were trimmed away ("M file.go\n M b.go").
func TestRunTrimsTheEndOnly(t *testing.T) {
	ctx := ctxFor(t, patience)
	out, err := script("out", "  M file.go\n M b.go\n\n").Run(ctx)
	if err != nil || out != "  M file.go\n M b.go" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	out, err = proc.Pipe(script("out", " a \n"), script("cat")).Run(ctx)
	if err != nil || out != " a" {
		t.Fatalf("Pipeline.Run = %q, %v", out, err)
	}
}
