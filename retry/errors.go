package retry

import (
	"errors"
	"strconv"
	"time"
)

// Why retrying stopped. Match them with errors.Is on the error Do returns;
// when the context ended, that error matches the context's error instead.
var (
	// ErrExhausted: the last attempt failed with a retryable error, but
	// the policy allows no more: MaxAttempts were made, or the next wait
	// would have ended past MaxElapsed.
	ErrExhausted = errors.New("retry: attempts exhausted")
	// ErrNotRetryable: the last attempt failed with an error the policy's
	// classifier does not retry.
	ErrNotRetryable = errors.New("retry: not retryable")
)

// Error is the error Do and DoErr return when they give up. It matches
// its Reason and its Last error with errors.Is and errors.As, so
// errors.As(err, &exitErr) finds the last attempt's *proc.ExitError and
// errors.Is(err, context.Canceled) holds after a cancellation.
type Error struct {
	// Attempts is the number of attempts made (0 when the context had
	// ended before the first).
	Attempts int
	// Elapsed is the time from the start of Do to giving up.
	Elapsed time.Duration
	// Last is the last attempt's error (nil when no attempt was made).
	Last error
	// Reason says why retrying stopped: ErrExhausted, ErrNotRetryable, or
	// the context's error (context.Canceled or context.DeadlineExceeded,
	// joined with the context's cause when that differs).
	Reason error
}

// Error returns "retry: " followed by the reason, the attempt count and
// the last error's text. It adds nothing else to what the last error
// says, so it holds no more secrets than that error does.
func (e *Error) Error() string {
	s := "retry: "
	switch {
	case errors.Is(e.Reason, ErrExhausted):
		s += "gave up after " + attempts(e.Attempts)
	case errors.Is(e.Reason, ErrNotRetryable):
		s += "not retryable (" + ordinal(e.Attempts) + ")"
	case e.Reason != nil && e.Attempts == 0:
		s += e.Reason.Error() + " before the first attempt"
	case e.Reason != nil:
		s += e.Reason.Error() + " after " + attempts(e.Attempts)
	default:
		s += "failed after " + attempts(e.Attempts)
	}
	if e.Last != nil {
		s += ": " + e.Last.Error()
	}
	return s
}

// Unwrap returns the Reason and the Last error (those that are not nil).
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	for _, err := range []error{e.Reason, e.Last} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

func ordinal(n int) string { return "attempt " + strconv.Itoa(n) }
