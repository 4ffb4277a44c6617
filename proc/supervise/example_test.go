//go:build unix

package supervise_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proc/supervise"
	"github.com/gotether/tether/retry"
)

// Start supervises a command: it restarts a failing one with backoff and
// gives up after MaxRestarts restarts in a row.
func ExampleStart() {
	ctx := context.Background()
	s := supervise.Start(ctx, proc.Command("sh", "-c", "exit 3"), supervise.Options{
		Restart:     supervise.OnFailure,
		MaxRestarts: 2,
		Backoff:     retry.Constant{Interval: 10 * time.Millisecond},
	})
	st, err := s.Wait(ctx)
	fmt.Println(st.State, st.Restarts, st.Last.ExitCode)
	fmt.Println(err != nil)
	// Output:
	// gave up 2 3
	// true
}

// Events reports every lifecycle event in order; Stop ends the
// supervision gracefully.
func ExampleSupervisor_Events() {
	ctx := context.Background()
	s := supervise.Start(ctx, proc.Command("sleep", "60"), supervise.Options{Restart: supervise.Always})
	for ev := range s.Events() {
		fmt.Println(ev.Kind)
		if ev.Kind == supervise.EventStarted {
			_ = s.Stop(ctx, time.Second)
		}
	}
	// Output:
	// started
	// exited
	// stopped
}
