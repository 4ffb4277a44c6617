package testchild

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
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
