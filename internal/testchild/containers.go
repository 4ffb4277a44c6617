package testchild

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/watchdog"
)

// NewContainer makes a container of b with opts; a cleanup closes it,
// and that Close must succeed.
func NewContainer(t testing.TB, b contain.Backend, opts contain.Options) contain.Container {
	t.Helper()
	c, err := b.NewContainer(context.Background(), opts)
	return closedAtCleanup(t, "NewContainer", c, err)
}

// NewSub makes a sub of parent with opts; a cleanup closes it, and that
// Close must succeed (it returns nil once the parent has released it).
func NewSub(t testing.TB, parent contain.Container, opts contain.Options) contain.Container {
	t.Helper()
	s, err := parent.Sub(context.Background(), opts)
	return closedAtCleanup(t, "Sub", s, err)
}

// closedAtCleanup fails the test if made (NewContainer or Sub) returned
// err, and otherwise returns c with a cleanup that closes it and fails
// the test if that Close does.
func closedAtCleanup(t testing.TB, made string, c contain.Container, err error) contain.Container {
	t.Helper()
	if err != nil {
		t.Fatal(made+":", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close of a container from %s: %v", made, err)
		}
	})
	return c
}

// Sleeper starts a ModeSleep child in c (Start) and returns its pid and
// waiter.
func Sleeper(t testing.TB, c contain.Container) (pid int, wait func() error) {
	t.Helper()
	cmd := Command(ModeSleep)
	wait = Start(t, c, cmd)
	return cmd.Process.Pid, wait
}

// StartTree starts a ModeTree child in c (Start) and returns its pids
// once it has reported them all, and its waiter.
func StartTree(t testing.TB, c contain.Container) (Tree, func() error) {
	t.Helper()
	pidfile := PidFile(t)
	wait := Start(t, c, Command(ModeTree, pidfile))
	return WaitTree(t, pidfile, Patience), wait
}

// RunOwner is the body of a helper owner for owner-death tests: it makes
// n containers of b with KillOnOwnerDeath, starts a ModeTree child (pid
// file pidfile) in the first and a ModeSleep child in each other, prints
// describe's line for each container (if describe is not nil), then
// "watchdog <pid>" and "ready", and blocks until it is killed. It
// returns an exit code only on failure.
func RunOwner(b contain.Backend, pidfile string, n int, describe func(contain.Container) string) int {
	for i := range n {
		c, err := b.NewContainer(context.Background(), contain.Options{KillOnOwnerDeath: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		cmd := Command(ModeSleep)
		if i == 0 {
			cmd = Command(ModeTree, pidfile)
		}
		if err := c.Start(cmd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if describe != nil {
			fmt.Println(describe(c))
		}
	}
	fmt.Printf("watchdog %d\nready\n", watchdog.Pid())
	for {
		time.Sleep(time.Hour)
	}
}
