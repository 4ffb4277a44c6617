package testchild

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// HelperRun is a helper process a test started with StartHelper.
type HelperRun struct {
	Cmd *exec.Cmd
	// Out reads the helper's stdout.
	Out *bufio.Reader
	// Wait waits for the helper to be reaped and returns cmd.Wait's error.
	Wait   func() error
	stderr strings.Builder
}

// StartHelper starts the test binary in mode with args. Its stdout is a
// pipe of our own rather than StdoutPipe, whose reads would have to end
// before Wait; a cleanup kills and reaps the helper.
func StartHelper(t testing.TB, mode string, args ...string) *HelperRun {
	t.Helper()
	h, err := startHelper(t, Command(mode, args...))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func startHelper(t testing.TB, cmd *exec.Cmd) (*HelperRun, error) {
	h := &HelperRun{Cmd: cmd}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	h.Cmd.Stdout, h.Cmd.Stderr = pw, &h.stderr
	err = h.Cmd.Start()
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		return nil, err
	}
	t.Cleanup(func() { _ = pr.Close() })
	h.Out = bufio.NewReader(pr)
	h.Wait = Reap(t, h.Cmd, func(context.Context) error { return h.Cmd.Process.Kill() })
	return h, nil
}

// Fail kills and reaps the helper, then fails the test with the message
// and the helper's stderr.
func (h *HelperRun) Fail(t testing.TB, format string, a ...any) {
	t.Helper()
	_ = h.Cmd.Process.Kill()
	_ = h.Wait()
	t.Fatalf("%s (helper stderr %q)", fmt.Sprintf(format, a...), h.stderr.String())
}

// RunHelper runs the test binary in mode with args, in a process group of
// its own (so that nothing it sends to its group reaches the test), to
// its end and returns its stdout, for a scenario that could hang or
// signal the process that runs it (a
// hung fork stops a Go program at its next garbage collection, timers
// included, so only another process can notice). A helper still running
// after limit is killed by pid, with every tether-<its pid>-* cgroup it
// left (their trees killed, the directories removed), and the test fails
// saying it hung; a helper that exits with an error fails the test with
// its stderr.
func RunHelper(t testing.TB, limit time.Duration, mode string, args ...string) string {
	t.Helper()
	cmd := Command(mode, args...)
	isolate(cmd)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child of a hung helper, stopped between fork and exec, holds
	// copies of the helper's descriptors, our pipes included: Wait must
	// not wait for their EOF for ever once the helper itself has died.
	cmd.WaitDelay = Patience
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("helper %s %v: %v\nstdout:\n%s\nstderr:\n%s", mode, args, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	case <-timer.C:
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Kill()
	left := killCgroupsOf(pid)
	waitErr := <-done
	t.Fatalf("helper %s %v hung: still running after %v, killed (%v; its cgroups killed and removed: %v)\nstdout:\n%s\nstderr:\n%s",
		mode, args, limit, waitErr, left, stdout.String(), stderr.String())
	return ""
}
