package retry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Do calls op until it succeeds, fails with an error p does not retry,
// runs out of attempts or of p.MaxElapsed, or ctx ends, waiting p's
// backoff between attempts. It returns op's value and a nil error on
// success.
//
// On failure it returns an *Error with the attempt count, the last error
// and the reason (ErrExhausted, ErrNotRetryable, or the context's error),
// together with the value of the last attempt: a failed run's result is
// often still worth reading. It never waits after the last attempt.
//
// A context that ends is terminal: a wait in progress ends at once, no
// further attempt starts, and the error matches ctx.Err() (and the cause
// given to context.WithCancelCause, if any). When ctx has ended before
// the first attempt, op is not called. op receives ctx, from which
// Attempt reads the attempt number.
func Do[T any](ctx context.Context, p Policy, op func(ctx context.Context) (T, error)) (T, error) {
	clk := p.clock
	if clk == nil {
		clk = realClock{}
	}
	start := clk.Now()
	fail := func(v T, n int, last, reason error) (T, error) {
		return v, &Error{Attempts: n, Elapsed: clk.Now().Sub(start), Last: last, Reason: reason}
	}
	if ctx.Err() != nil {
		var zero T
		return fail(zero, 0, nil, ctxReason(ctx))
	}
	limit := p.Attempts()
	var prev time.Duration
	for n := 1; ; n++ {
		v, err := op(context.WithValue(ctx, attemptKey{}, n))
		if err == nil {
			return v, nil
		}
		switch {
		case ctx.Err() != nil:
			return fail(v, n, err, ctxReason(ctx))
		case !p.retryable(err):
			return fail(v, n, err, ErrNotRetryable)
		case limit > 0 && n >= limit:
			return fail(v, n, err, ErrExhausted)
		}
		d := p.Delay(n, prev, err)
		if p.MaxElapsed > 0 && clk.Now().Sub(start)+d > p.MaxElapsed {
			return fail(v, n, err, ErrExhausted)
		}
		if p.OnRetry != nil {
			p.OnRetry(n, err, d)
		}
		if !clk.Sleep(ctx, d) {
			return fail(v, n, err, ctxReason(ctx))
		}
		prev = d
	}
}

// DoErr is Do for an operation that returns only an error.
func DoErr(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	_, err := Do(ctx, p, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, op(ctx)
	})
	return err
}

type attemptKey struct{}

// Attempt returns the number of the attempt (1 for the first) whose
// context ctx is, or derives from; 0 outside Do.
func Attempt(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}

// ctxReason is the reason an ended context gives: its error, joined with
// its cause when the caller gave one.
func ctxReason(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, err) {
		return fmt.Errorf("%w (%w)", err, cause)
	}
	return err
}
