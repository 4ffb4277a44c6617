package retry_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/gotether/tether/retry"
)

// exitError stands in for *proc.ExitError: a failed run that reports its
// exit code and output through retry's small interfaces.
type exitError struct {
	code   int
	stderr string
}

func (e *exitError) Error() string                        { return fmt.Sprintf("exited with code %d", e.code) }
func (e *exitError) ExitStatus() (int, bool)              { return e.code, true }
func (e *exitError) OutputTails() (stdout, stderr []byte) { return nil, []byte(e.stderr) }

func ExampleDo() {
	p := retry.Policy{
		MaxAttempts: 5,
		Backoff:     retry.Constant{Interval: time.Millisecond},
		// Retry EX_TEMPFAIL, and a lock file another run left behind.
		Retryable: retry.Any(
			retry.ExitCodes(75),
			retry.StderrMatches(regexp.MustCompile(`\.lock': File exists`)),
		),
		OnRetry: func(attempt int, err error, _ time.Duration) {
			fmt.Printf("attempt %d failed (%v), retrying\n", attempt, err)
		},
	}
	out, err := retry.Do(context.Background(), p, func(ctx context.Context) (string, error) {
		switch retry.Attempt(ctx) {
		case 1:
			return "", &exitError{code: 75}
		case 2:
			return "", &exitError{code: 128, stderr: "fatal: Unable to create '.git/index.lock': File exists."}
		}
		return "fetched", nil
	})
	fmt.Println(out, err)
	// Output:
	// attempt 1 failed (exited with code 75), retrying
	// attempt 2 failed (exited with code 128), retrying
	// fetched <nil>
}

func ExampleDo_giveUp() {
	p := retry.Policy{
		MaxAttempts: 3,
		Backoff:     retry.Constant{},
		Retryable:   retry.ExitCodes(75),
	}
	_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
		return 0, &exitError{code: 75}
	})
	var re *retry.Error
	if errors.As(err, &re) {
		fmt.Println("attempts:", re.Attempts)
	}
	fmt.Println(errors.Is(err, retry.ErrExhausted))
	fmt.Println(err)
	// Output:
	// attempts: 3
	// true
	// retry: gave up after 3 attempts: exited with code 75
}

func ExampleDoErr() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a cancelled context is terminal: nothing runs
	err := retry.DoErr(ctx, retry.Policy{}, func(context.Context) error {
		fmt.Println("not reached")
		return nil
	})
	fmt.Println(errors.Is(err, context.Canceled), err)
	// Output:
	// true retry: context canceled before the first attempt
}

func ExamplePolicy() {
	p := retry.Policy{
		MaxAttempts: 6,
		MaxElapsed:  time.Minute,
		Backoff:     retry.Exponential{Initial: 100 * time.Millisecond, Factor: 2, Max: time.Second, Jitter: retry.EqualJitter},
		// A fixed "random" number makes the delays reproducible.
		Rand: func() float64 { return 0.5 },
	}
	var prev time.Duration
	for n := 1; n < p.Attempts(); n++ {
		d := p.Delay(n, prev, errors.New("failed"))
		fmt.Println(n, d)
		prev = d
	}
	// Output:
	// 1 75ms
	// 2 150ms
	// 3 300ms
	// 4 600ms
	// 5 750ms
}

func ExamplePolicy_serverDelay() {
	errBusy := errors.New("registry busy")
	p := retry.Policy{
		Backoff: retry.Constant{Interval: time.Second},
		// The server said when to come back: use that instead.
		ServerDelay: func(err error) (time.Duration, bool) {
			if errors.Is(err, errBusy) {
				return 30 * time.Second, true
			}
			return 0, false
		},
	}
	fmt.Println(p.Delay(1, 0, errBusy))
	fmt.Println(p.Delay(1, 0, errors.New("other")))
	// Output:
	// 30s
	// 1s
}

func ExampleDecorrelated() {
	b := retry.Decorrelated{Base: 100 * time.Millisecond, Max: 2 * time.Second}
	rnd := func() float64 { return 0.5 }
	var prev time.Duration
	for n := 1; n <= 5; n++ {
		prev = b.Delay(n, prev, rnd)
		fmt.Println(prev)
	}
	// Output:
	// 100ms
	// 200ms
	// 350ms
	// 575ms
	// 912.5ms
}

func ExampleNot() {
	// Retry any failed run except a usage error (exit code 2).
	c := retry.All(retry.Func(func(err error) bool {
		var st retry.ExitStatus
		return errors.As(err, &st)
	}), retry.Not(retry.ExitCodes(2)))
	fmt.Println(c.Retryable(&exitError{code: 1}))
	fmt.Println(c.Retryable(&exitError{code: 2}))
	fmt.Println(c.Retryable(errors.New("not a run")))
	// Output:
	// true
	// false
	// false
}
