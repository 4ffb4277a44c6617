//go:build unix

package proc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/retry"
)

// Supervise restarts a failing command with backoff and gives up after
// MaxRestarts restarts in a row.
func ExampleCmd_Supervise() {
	ctx := context.Background()
	s := proc.Command("sh", "-c", "exit 3").Supervise(ctx, proc.SupervisorOptions{
		Restart:     proc.OnFailure,
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
	s := proc.Command("sleep", "60").Supervise(ctx, proc.SupervisorOptions{Restart: proc.Always})
	for ev := range s.Events() {
		fmt.Println(ev.Kind)
		if ev.Kind == proc.SupervisorStarted {
			_ = s.Stop(ctx, time.Second)
		}
	}
	// Output:
	// started
	// exited
	// stopped
}
