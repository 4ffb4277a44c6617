package retry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var errFlaky = errors.New("flaky")

// failing returns an op that fails with errs in turn (nil = success),
// returning the attempt number as its value, and counts its calls.
func failing(calls *int, errs ...error) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		*calls++
		n := Attempt(ctx)
		if n != *calls {
			panic(fmt.Sprintf("Attempt(ctx) = %d on call %d", n, *calls))
		}
		return n, errs[min(n, len(errs))-1]
	}
}

// fixed is a policy with constant, unjittered delays on a fake clock,
// retrying every error.
func fixed(clk *fakeClock, attempts int, interval time.Duration) Policy {
	return Policy{
		MaxAttempts: attempts,
		Backoff:     Constant{Interval: interval},
		Retryable:   Always,
		clock:       clk,
	}
}

func TestDoReturnsTheSuccessfulAttemptsValue(t *testing.T) {
	clk := newFakeClock()
	calls := 0
	v, err := Do(context.Background(), fixed(clk, 5, time.Second), failing(&calls, errFlaky, errFlaky, nil))
	if err != nil || v != 3 {
		t.Fatalf("Do = %d, %v; want 3, nil", v, err)
	}
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(clk.sleeps(), want) {
		t.Errorf("slept %v, want %v", clk.sleeps(), want)
	}
}

func TestDoGivesUpAfterMaxAttemptsWithoutAFinalSleep(t *testing.T) {
	clk := newFakeClock()
	calls := 0
	last := &runErr{code: 1, exited: true}
	v, err := Do(context.Background(), fixed(clk, 4, time.Second), failing(&calls, errFlaky, errFlaky, errFlaky, last))
	if calls != 4 {
		t.Errorf("op called %d times, want 4", calls)
	}
	if v != 4 {
		t.Errorf("value = %d, want the last attempt's (4)", v)
	}
	var re *Error
	if !errors.As(err, &re) || re.Attempts != 4 || !errors.Is(re.Last, last) {
		t.Fatalf("err = %#v, want *Error with 4 attempts and the last error", err)
	}
	if !errors.Is(err, ErrExhausted) || errors.Is(err, ErrNotRetryable) {
		t.Errorf("err = %v: want ErrExhausted only", err)
	}
	var st ExitStatus
	if !errors.As(err, &st) {
		t.Errorf("errors.As does not reach the last error through *Error")
	}
	if got := len(clk.sleeps()); got != 3 {
		t.Errorf("slept %d times, want 3 (never after the last attempt)", got)
	}
	if re.Elapsed != 3*time.Second {
		t.Errorf("Elapsed = %v, want 3s", re.Elapsed)
	}
	if want := "retry: gave up after 4 attempts: run failed"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestDoStopsAtANonRetryableError(t *testing.T) {
	clk := newFakeClock()
	calls := 0
	p := fixed(clk, 5, time.Second)
	p.Retryable = ExitCodes(75)
	perm := &runErr{code: 2, exited: true}
	_, err := Do(context.Background(), p, failing(&calls, &runErr{code: 75, exited: true}, perm))
	if calls != 2 || len(clk.sleeps()) != 1 {
		t.Errorf("calls %d, sleeps %d; want 2, 1", calls, len(clk.sleeps()))
	}
	var re *Error
	if !errors.As(err, &re) || re.Attempts != 2 || !errors.Is(err, ErrNotRetryable) || errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrNotRetryable after 2 attempts", err)
	}
	if want := "retry: not retryable (attempt 2): run failed"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestZeroPolicyIsTheDocumentedDefault(t *testing.T) {
	var p Policy
	if p.Attempts() != 3 {
		t.Errorf("Attempts() = %d, want 3", p.Attempts())
	}
	// Exponential 100 ms ×2 capped at 10 s, full jitter: with r = 0.5
	// each delay is half the exponential one.
	p.Rand = seq(0.5)
	var got []time.Duration
	for n := 1; n <= 9; n++ {
		got = append(got, p.Delay(n, 0, errFlaky))
	}
	want := []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("default delays = %v, want %v", got, want)
	}

	// Only transient start errors are retried.
	clk := newFakeClock()
	p = Policy{clock: clk}
	calls := 0
	_, err := Do(context.Background(), p, failing(&calls, errFlaky))
	if calls != 1 || !errors.Is(err, ErrNotRetryable) {
		t.Errorf("plain error: %d calls, %v; want 1 call, not retryable", calls, err)
	}
	calls = 0
	transient := &wrapErr{transientForTest}
	_, err = Do(context.Background(), p, failing(&calls, transient))
	if calls != 3 || !errors.Is(err, ErrExhausted) {
		t.Errorf("transient error: %d calls, %v; want 3 calls, exhausted", calls, err)
	}
	for _, d := range clk.sleeps() {
		if d < 0 || d > 200*ms {
			t.Errorf("default sleep %v outside [0, 200ms]", d)
		}
	}
}

type wrapErr struct{ err error }

func (e *wrapErr) Error() string { return "start failed: " + e.err.Error() }
func (e *wrapErr) Unwrap() error { return e.err }

func TestUnlimitedAttemptsEndWithMaxElapsed(t *testing.T) {
	clk := newFakeClock()
	p := fixed(clk, Unlimited, time.Second)
	p.MaxElapsed = 10 * time.Second
	calls := 0
	_, err := Do(context.Background(), p, func(context.Context) (int, error) {
		calls++
		clk.advance(500 * ms) // each attempt takes half a second
		return 0, errFlaky
	})
	// Attempts start at 0, 1.5, 3, ... 9 s; after the 7th (ends 10 s) the
	// next would start at 11 s: give up without that last sleep.
	if calls != 7 {
		t.Errorf("calls = %d, want 7", calls)
	}
	if !errors.Is(err, ErrExhausted) {
		t.Errorf("err = %v, want ErrExhausted", err)
	}
	if n := len(clk.sleeps()); n != 6 {
		t.Errorf("slept %d times, want 6 (none past the budget)", n)
	}
	var re *Error
	if errors.As(err, &re) && re.Elapsed > p.MaxElapsed {
		t.Errorf("Elapsed %v past MaxElapsed %v", re.Elapsed, p.MaxElapsed)
	}
}

func TestMaxElapsedEndsTheLongWaitNotJustAttempts(t *testing.T) {
	clk := newFakeClock()
	p := fixed(clk, 10, 4*time.Second)
	p.MaxElapsed = 10 * time.Second
	calls := 0
	_, err := Do(context.Background(), p, failing(&calls, errFlaky))
	// Waits at 4 s and 8 s fit; a third would end at 12 s.
	if calls != 3 || len(clk.sleeps()) != 2 || !errors.Is(err, ErrExhausted) {
		t.Errorf("calls %d, sleeps %v, err %v; want 3 calls, 2 sleeps, exhausted", calls, clk.sleeps(), err)
	}
}

func TestServerDelayOverridesTheBackoff(t *testing.T) {
	clk := newFakeClock()
	p := fixed(clk, 4, time.Second)
	retryAfter := errors.New("busy, retry after 30s")
	p.ServerDelay = func(err error) (time.Duration, bool) {
		if errors.Is(err, retryAfter) {
			return 30 * time.Second, true // more than the backoff would wait
		}
		if errors.Is(err, errNegative) {
			return -time.Second, true
		}
		return 0, false
	}
	calls := 0
	_, err := Do(context.Background(), p, failing(&calls, retryAfter, errFlaky, errNegative, errFlaky))
	if want := []time.Duration{30 * time.Second, time.Second, 0}; !slices.Equal(clk.sleeps(), want) {
		t.Errorf("slept %v, want %v", clk.sleeps(), want)
	}
	if !errors.Is(err, ErrExhausted) {
		t.Errorf("err = %v", err)
	}
}

var errNegative = errors.New("negative delay")

func TestServerDelayPastMaxElapsedGivesUpAtOnce(t *testing.T) {
	clk := newFakeClock()
	p := fixed(clk, 5, time.Second)
	p.MaxElapsed = time.Minute
	p.ServerDelay = func(error) (time.Duration, bool) { return time.Hour, true }
	calls := 0
	_, err := Do(context.Background(), p, failing(&calls, errFlaky))
	if calls != 1 || len(clk.sleeps()) != 0 || !errors.Is(err, ErrExhausted) {
		t.Errorf("calls %d, sleeps %v, err %v; want 1 call, no sleep, exhausted", calls, clk.sleeps(), err)
	}
}

func TestOnRetryIsCalledOncePerRetry(t *testing.T) {
	clk := newFakeClock()
	p := fixed(clk, 4, 0)
	p.Backoff = Exponential{Initial: time.Second, Factor: 2, Max: time.Minute}
	type call struct {
		attempt int
		err     error
		delay   time.Duration
	}
	var got []call
	p.OnRetry = func(attempt int, err error, delay time.Duration) {
		got = append(got, call{attempt, err, delay})
	}
	e1, e2, e3, e4 := errors.New("1"), errors.New("2"), errors.New("3"), errors.New("4")
	calls := 0
	_, _ = Do(context.Background(), p, failing(&calls, e1, e2, e3, e4))
	want := []call{{1, e1, time.Second}, {2, e2, 2 * time.Second}, {3, e3, 4 * time.Second}}
	if !slices.Equal(got, want) {
		t.Errorf("OnRetry calls = %v, want %v (none when giving up)", got, want)
	}
	if !slices.Equal(clk.sleeps(), []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}) {
		t.Errorf("slept %v: not what OnRetry announced", clk.sleeps())
	}
}

func TestDecorrelatedPrevIsThePreviousWait(t *testing.T) {
	clk := newFakeClock()
	p := fixed(clk, 5, 0)
	p.Backoff = Decorrelated{Base: 100 * ms, Max: time.Second}
	p.Rand = seq(1)
	calls := 0
	_, _ = Do(context.Background(), p, failing(&calls, errFlaky))
	if want := []time.Duration{100 * ms, 300 * ms, 900 * ms, time.Second}; !slices.Equal(clk.sleeps(), want) {
		t.Errorf("slept %v, want %v", clk.sleeps(), want)
	}
}

func TestDoNeverStartsWithAnEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	v, err := Do(ctx, fixed(newFakeClock(), 3, 0), failing(&calls, nil))
	if calls != 0 || v != 0 {
		t.Errorf("op called %d times, value %d; want not called", calls, v)
	}
	var re *Error
	if !errors.As(err, &re) || re.Attempts != 0 || re.Last != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %#v, want *Error, 0 attempts, matching context.Canceled", err)
	}
	if want := "retry: context canceled before the first attempt"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestCancelDuringAnAttemptIsTerminal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	// The error is retryable, but the context ended during the attempt.
	_, err := Do(ctx, fixed(newFakeClock(), 5, 0), func(context.Context) (int, error) {
		calls++
		cancel()
		return 0, errFlaky
	})
	if calls != 1 {
		t.Errorf("calls = %d, want 1", calls)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) || errors.Is(err, ErrExhausted) {
		t.Errorf("err = %v: want context.Canceled and the last error", err)
	}
	if want := "retry: context canceled after 1 attempt: flaky"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestCancelDuringASleepIsTerminal(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	clk := newFakeClock()
	stop := errors.New("shutting down")
	clk.during = func() { cancel(stop) }
	calls := 0
	_, err := Do(ctx, fixed(clk, 5, time.Second), failing(&calls, errFlaky))
	if calls != 1 {
		t.Errorf("calls = %d, want 1", calls)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, stop) || !errors.Is(err, errFlaky) {
		t.Errorf("err = %v: want context.Canceled, its cause and the last error", err)
	}
}

// A classifier from elsewhere that says yes to everything still cannot
// retry a cancellation.
type yes struct{}

func (yes) Retryable(error) bool { return true }

func TestCancelledErrorIsNeverRetried(t *testing.T) {
	for name, c := range map[string]Classifier{
		"custom":  yes{},
		"Always":  Always,
		"Not":     Not(ExitCodes(1)),
		"Any":     Any(Always),
		"Not nil": Not(nil),
	} {
		t.Run(name, func(t *testing.T) {
			p := fixed(newFakeClock(), 5, 0)
			p.Retryable = c
			calls := 0
			// An inner cancellation: Do's own context is still live.
			inner := fmt.Errorf("attempt: %w", context.Canceled)
			_, err := Do(context.Background(), p, failing(&calls, inner))
			if calls != 1 || !errors.Is(err, ErrNotRetryable) || !errors.Is(err, context.Canceled) {
				t.Errorf("calls %d, err %v; want 1 call, not retryable", calls, err)
			}
		})
	}
}

// With the real clock: a cancellation in the middle of a 10 s wait ends
// Do within milliseconds, not at the wait's end.
func TestCancelEndsARealSleepPromptly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	p := Policy{
		MaxAttempts: 5,
		Backoff:     Constant{Interval: 10 * time.Second},
		Retryable:   Always,
		OnRetry: func(int, error, time.Duration) {
			// Cancel once Do is (about to be) asleep.
			time.AfterFunc(20*ms, func() { cancelled = time.Now(); cancel() })
		},
	}
	calls := 0
	start := time.Now()
	_, err := Do(ctx, p, failing(&calls, errFlaky))
	end := time.Now()
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("calls %d, err %v; want 1 call, cancelled", calls, err)
	}
	if lag := end.Sub(cancelled); lag > 100*ms {
		t.Errorf("Do returned %v after the cancellation, want a few ms", lag)
	}
	if total := end.Sub(start); total > time.Second {
		t.Errorf("Do took %v: it waited for the sleep", total)
	}
}

func TestDeadlineEndsARealSleepPromptly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*ms)
	defer cancel()
	calls := 0
	start := time.Now()
	_, err := Do(ctx, Policy{Backoff: Constant{Interval: 10 * time.Second}, Retryable: Always}, failing(&calls, errFlaky))
	if took := time.Since(start); took > 500*ms {
		t.Errorf("Do took %v, want about 50ms", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 {
		t.Errorf("calls %d, err %v; want 1 call, deadline exceeded", calls, err)
	}
}

func TestDoErr(t *testing.T) {
	clk := newFakeClock()
	calls := 0
	err := DoErr(context.Background(), fixed(clk, 3, 0), func(ctx context.Context) error {
		calls++
		if Attempt(ctx) < 2 {
			return errFlaky
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("DoErr = %v after %d calls, want nil after 2", err, calls)
	}
	err = DoErr(context.Background(), fixed(clk, 2, 0), func(context.Context) error { return errFlaky })
	var re *Error
	if !errors.As(err, &re) || re.Attempts != 2 || !errors.Is(err, errFlaky) {
		t.Errorf("DoErr = %v, want *Error after 2 attempts", err)
	}
}

func TestAttemptOutsideDoIsZero(t *testing.T) {
	if n := Attempt(context.Background()); n != 0 {
		t.Errorf("Attempt = %d, want 0", n)
	}
}

func TestErrorUnwrap(t *testing.T) {
	last := errors.New("last")
	e := &Error{Attempts: 2, Last: last, Reason: ErrExhausted}
	if got := e.Unwrap(); len(got) != 2 || !errors.Is(got[0], ErrExhausted) || !errors.Is(got[1], last) {
		t.Errorf("Unwrap = %v", got)
	}
	if got := (&Error{Reason: context.Canceled}).Unwrap(); len(got) != 1 {
		t.Errorf("Unwrap with no last error = %v, want only the reason", got)
	}
	if want := "retry: gave up after 1 attempt: last"; (&Error{Attempts: 1, Last: last, Reason: ErrExhausted}).Error() != want {
		t.Errorf("singular attempt text wrong: %q", (&Error{Attempts: 1, Last: last, Reason: ErrExhausted}).Error())
	}
}
