package testchild

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
)

// Patience bounds every wait for something that normally takes
// milliseconds, so that a loaded two-core machine does not flake.
const Patience = 10 * time.Second

// Start starts cmd in c the way proc does (c.Start) and reaps it in the
// background, as a caller of a container must. The returned function
// waits for the reaper and returns cmd.Wait's error, as often as it is
// called. A cleanup kills the container and waits too, so no goroutine
// or zombie outlives the test; it runs before the cleanup of a container
// made earlier in the test.
func Start(t testing.TB, c contain.Container, cmd *exec.Cmd) (wait func() error) {
	t.Helper()
	if err := c.Start(cmd); err != nil {
		t.Fatal("Start:", err)
	}
	return Reap(t, cmd, c.Kill)
}

// Reap waits for the started cmd in a goroutine. Its cleanup calls kill
// first (if not nil), then waits for the reaper, failing the test if the
// child is not reaped within Patience.
func Reap(t testing.TB, cmd *exec.Cmd, kill func(context.Context) error) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	wait = sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		defer cancel()
		if kill != nil {
			_ = kill(ctx)
		}
		reaped := make(chan struct{})
		go func() { _ = wait(); close(reaped) }()
		select {
		case <-reaped:
		case <-ctx.Done():
			t.Errorf("child %d not reaped within %v", cmd.Process.Pid, Patience)
		}
	})
	return wait
}
