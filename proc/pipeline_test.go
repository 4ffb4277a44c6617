package proc_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// onBackend puts every stage on b.
func onBackend(b contain.Backend, cmds ...*proc.Cmd) *proc.Pipeline {
	for i, c := range cmds {
		cmds[i] = c.Backend(b)
	}
	return proc.Pipe(cmds...)
}

// sigpipeReason is why SIGPIPE assertions do not apply on Windows.
const sigpipeReason = "Windows has no SIGPIPE: a writer to a closed pipe gets an error (the script exits 3), not a signal"

func TestPipeProducerHead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		// yes | head -1: the producer would write ~1 GB; it must die of
		// SIGPIPE as soon as head has exited.
		began := time.Now()
		r, err := onBackend(b, script("lines", "100000000"), script("head", "1")).Unchecked(0).Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Success() || r.Err() != nil || string(r.Stdout) != "line 1\n" || r.Failed != -1 {
			t.Fatalf("result: success %v failed %d stdout %q err %v", r.Success(), r.Failed, r.Stdout, r.Err())
		}
		if d := time.Since(began); d > 10*time.Second {
			t.Fatalf("took %v: the producer did not stop when head exited", d)
		}
		if len(r.Stages) != 2 || r.Stages[1].Outcome != proc.Exited {
			t.Fatalf("stages %+v", r.Stages)
		}
		if runtime.GOOS != "windows" {
			if p := r.Stages[0]; p.Outcome != proc.Signaled || p.Signal != "SIGPIPE" {
				t.Fatalf("producer: %v %q, want SIGPIPE", p.Outcome, p.Signal)
			}
		}
		// Checked, the producer's death fails the chain (pipefail).
		r, err = onBackend(b, script("lines", "100000000"), script("head", "1")).Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Success() || r.Failed != 0 || !errors.Is(r.Err(), proc.ErrExit) {
			t.Fatalf("checked producer: failed %d err %v", r.Failed, r.Err())
		}
		out, err := onBackend(b, script("lines", "100000000"), script("head", "2")).Unchecked(0).Run(ctx)
		if err != nil || out != "line 1\nline 2" {
			t.Fatalf("Run: %q %v", out, err)
		}
	})
}

func TestPipeFailingMiddleStage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		pl := onBackend(b, script("out", "a\nb\n"), script("cat", "err", "middle broke\n", "exit", "3"), script("cat"))
		r, err := pl.Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Stdout) != "a\nb\n" || r.Stages[2].Outcome != proc.Exited || r.Stages[2].ExitCode != 0 {
			t.Fatalf("last stage: %q %+v", r.Stdout, r.Stages[2])
		}
		if r.Success() || r.Failed != 1 {
			t.Fatalf("failed = %d, want 1", r.Failed)
		}
		err = r.Err()
		var pe *proc.PipeError
		var ee *proc.ExitError
		if !errors.As(err, &pe) || pe.Stage != 1 || pe.Stages != 3 || !errors.As(err, &ee) || !errors.Is(err, proc.ErrExit) {
			t.Fatalf("error %T %v", err, err)
		}
		if ee.Code != 3 || ee.Program != testchild.Exe() || string(ee.StderrTail) != "middle broke\n" {
			t.Fatalf("exit error: code %d program %q stderr %q", ee.Code, ee.Program, ee.StderrTail)
		}
		if !strings.Contains(err.Error(), "stage 1 of 3") || !strings.Contains(err.Error(), "middle broke") {
			t.Fatalf("error text %q", err)
		}
		if code, err := pl.ExitCode(ctx); err != nil || code != 3 {
			t.Fatalf("ExitCode: %d %v", code, err)
		}
		if _, err := pl.Run(ctx); !errors.As(err, &pe) || pe.Stage != 1 {
			t.Fatalf("Run: %v", err)
		}
		ok, err := onBackend(b, script("out", "x\n"), script("cat", "exit", "1")).Probe(ctx)
		if ok || err != nil {
			t.Fatalf("Probe: %v %v", ok, err)
		}
		ok, err = onBackend(b, script("out", "x\n"), script("cat")).Probe(ctx)
		if !ok || err != nil {
			t.Fatalf("Probe: %v %v", ok, err)
		}
	})
}

func TestPipeSigpipeVictimBehindCulprit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip(sigpipeReason)
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		// The producer dies of SIGPIPE (stage 0, first in order), but the
		// real culprit is the consumer that gave up with code 4.
		r, err := onBackend(b, script("lines", "100000000"), script("head", "1", "err", "consumer failed\n", "exit", "4")).
			Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if p := r.Stages[0]; p.Signal != "SIGPIPE" {
			t.Fatalf("producer %v %q, want SIGPIPE", p.Outcome, p.Signal)
		}
		var ee *proc.ExitError
		if r.Failed != 1 || !errors.As(r.Err(), &ee) || ee.Code != 4 || string(ee.StderrTail) != "consumer failed\n" {
			t.Fatalf("failed %d err %v", r.Failed, r.Err())
		}
	})
}

func TestPipeChainTimeoutKillsEveryStage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		first, second := testchild.PidFile(t), testchild.PidFile(t)
		began := time.Now()
		// sleep | cat, each stage with a grandchild holding its pipes.
		r, err := onBackend(b, script("hold", "pids", first, "block"), script("hold", "pids", second, "cat")).
			Timeout(time.Second).Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(began); d < time.Second || d > 10*time.Second {
			t.Fatalf("returned after %v", d)
		}
		if !r.TimedOut || r.Success() || !errors.Is(r.Err(), proc.ErrTimeout) {
			t.Fatalf("timed out %v failed %d err %v", r.TimedOut, r.Failed, r.Err())
		}
		for i, s := range r.Stages {
			if s.Outcome != proc.TimedOut {
				t.Errorf("stage %d: %v", i, s.Outcome)
			}
		}
		for _, f := range []string{first, second} {
			for role, pid := range testchild.ReadPidFile(t, f, patience) {
				if testchild.Alive(pid) {
					t.Errorf("%s %d alive after the chain's timeout", role, pid)
				}
			}
		}
	})
}

func TestPipeStageTimeoutAttributed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		// Stage 0 must have written before stage 1's timeout, or its
		// write meets a closed pipe (SIGPIPE): a loaded machine can delay
		// it past 200 ms, so the timeout grows until it has.
		var r *proc.PipeResult
		var err error
		for timeout := 200 * time.Millisecond; ; timeout *= 4 {
			r, err = onBackend(b, script("out", "x\n", "sleep", "1s"), script("block").Timeout(timeout), script("cat")).
				Output(ctxFor(t, patience))
			if err != nil {
				t.Fatal(err)
			}
			if r.Stages[0].Signal != "SIGPIPE" || timeout > 3*time.Second {
				break
			}
			t.Logf("stage 0 had not written within %v; again with a longer timeout", timeout)
		}
		if r.TimedOut || r.Failed != 1 || r.Stages[1].Outcome != proc.TimedOut || !errors.Is(r.Err(), proc.ErrTimeout) {
			t.Fatalf("chain timed out %v, failed %d, stage 1 %v, err %v", r.TimedOut, r.Failed, r.Stages[1].Outcome, r.Err())
		}
		if r.Stages[0].Outcome != proc.Exited || r.Stages[2].Outcome != proc.Exited {
			t.Fatalf("other stages: %v %v", r.Stages[0].Outcome, r.Stages[2].Outcome)
		}
	})
}

func TestPipeFailFast(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		pids := testchild.PidFile(t)
		began := time.Now()
		r, err := onBackend(b, script("hold", "pids", pids, "block"), script("sleep", "100ms", "err", "bad input\n", "exit", "5")).
			FailFast().Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(began); d > 10*time.Second {
			t.Fatalf("took %v", d)
		}
		if r.Failed != 1 || r.Stages[0].Outcome != proc.Signaled || r.Stages[1].ExitCode != 5 {
			t.Fatalf("failed %d, stage 0 %v, stage 1 %d", r.Failed, r.Stages[0].Outcome, r.Stages[1].ExitCode)
		}
		for role, pid := range testchild.ReadPidFile(t, pids, patience) {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive after FailFast", role, pid)
			}
		}
	})
}

func TestPipeWithoutFailFastWaitsForTheChain(t *testing.T) {
	// Without FailFast the blocked producer keeps the chain alive until
	// the context ends; then every stage is killed and the error says so.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	r, err := proc.Pipe(script("block"), script("exit", "5")).Output(ctx)
	if !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
	if r == nil || r.Stages[0].Outcome != proc.Cancelled || r.Stages[1].ExitCode != 5 || r.Failed != 0 {
		t.Fatalf("result %+v", r)
	}
}

func TestPipeInvalid(t *testing.T) {
	ctx := ctxFor(t, patience)
	ok := script("out", "x")
	for name, pl := range map[string]*proc.Pipeline{
		"no stages":        proc.Pipe(),
		"one stage":        proc.Pipe(ok),
		"nil stage":        proc.Pipe(ok, nil),
		"stdin not head":   proc.Pipe(ok, script("cat").StdinString("x")),
		"stdout not last":  proc.Pipe(ok.Stdout(proc.Discard()), script("cat")),
		"cap not last":     proc.Pipe(ok.CapStdout(10, proc.KeepHead), script("cat")),
		"unchecked range":  proc.Pipe(ok, script("cat")).Unchecked(2),
		"negative timeout": proc.Pipe(ok, script("cat")).Timeout(-time.Second),
		"bad stage":        proc.Pipe(ok, script("cat").Timeout(-time.Second)),
	} {
		if _, err := pl.Output(ctx); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		if _, err := pl.Start(ctx); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("%s: Start: %v, want ErrInvalid", name, err)
		}
	}
}

func TestPipeStdinToHead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		out, err := onBackend(b, script("cat").StdinString("hello\nworld\n"), script("cat")).Run(ctxFor(t, patience))
		if err != nil || out != "hello\nworld" {
			t.Fatalf("%q %v", out, err)
		}
	})
}

func TestPipeStartKill(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		rp, err := onBackend(b, script("block"), script("cat")).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-rp.Done():
			t.Fatal("done before Kill")
		default:
		}
		if err := rp.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := rp.Wait(ctx)
		if err != nil || r.Success() || r.Stages[0].Outcome != proc.Signaled {
			t.Fatalf("%+v %v", r, err)
		}
		for _, s := range r.Stages {
			if testchild.Alive(s.Pid) {
				t.Errorf("pid %d alive after Kill", s.Pid)
			}
		}
	})
}
