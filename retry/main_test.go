package retry

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock advances only when Do sleeps on it, and records every sleep,
// so exact delays and time budgets are checked without waiting.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
	// during, when set, runs inside each Sleep (to cancel mid-wait).
	during func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	during := c.during
	c.mu.Unlock()
	if during != nil {
		during()
	}
	return ctx.Err() == nil
}

// advance moves the clock as if an attempt took d.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// seq returns a Rand that yields rs in turn, then repeats the last.
func seq(rs ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		r := rs[min(i, len(rs)-1)]
		i++
		return r
	}
}

// runErr is a failed run as a process runner would report it: it
// implements every status interface, like *proc.ExitError will.
type runErr struct {
	code           int
	exited         bool
	signal         string
	timedOut, oom  bool
	stdout, stderr string
	cause          error
}

func (e *runErr) Error() string                        { return "run failed" }
func (e *runErr) Unwrap() error                        { return e.cause }
func (e *runErr) ExitStatus() (int, bool)              { return e.code, e.exited }
func (e *runErr) SignalName() string                   { return e.signal }
func (e *runErr) TimedOut() bool                       { return e.timedOut }
func (e *runErr) OOMKilled() bool                      { return e.oom }
func (e *runErr) OutputTails() (stdout, stderr []byte) { return []byte(e.stdout), []byte(e.stderr) }

// The status interfaces are what proc's ExitError implements.
var (
	_ ExitStatus    = (*runErr)(nil)
	_ SignalStatus  = (*runErr)(nil)
	_ TimeoutStatus = (*runErr)(nil)
	_ OOMStatus     = (*runErr)(nil)
	_ OutputStatus  = (*runErr)(nil)
)
