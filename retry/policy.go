package retry

import (
	"math/rand/v2"
	"time"
)

// Policy says how often and how long Do retries. It is a plain value: copy
// it, change a field, share it between goroutines (its functions must then
// be safe for concurrent use).
//
// The zero Policy is the default: 3 attempts, no time budget beyond the
// context's, Exponential backoff from 100 ms doubling up to 10 s with
// FullJitter, and only TransientStart errors retried. Retrying only errors
// that prove nothing ran is the safe default: a command that exited may
// have done half its work, so retrying it must be asked for (ExitCodes,
// Timeouts, ...).
type Policy struct {
	// MaxAttempts is the most attempts Do makes, the first included: 1
	// means no retry. Zero means DefaultMaxAttempts (3); Unlimited (or any
	// negative value) means no limit, so MaxElapsed or the context must
	// end the retrying.
	MaxAttempts int

	// MaxElapsed is the time budget from the start of Do: no attempt
	// starts after it. Do gives up as soon as the next wait would end past
	// it, without waiting. A running attempt is not interrupted; bound it
	// with the context or the command's own timeout. Zero means no budget.
	MaxElapsed time.Duration

	// Backoff computes the wait before each retry. Nil means
	// Exponential{Initial: 100 ms, Factor: 2, Max: 10 s, Jitter: FullJitter}.
	Backoff Backoff

	// ServerDelay, when set, is asked first for every wait with the error
	// of the attempt that just failed. When it returns true its delay is
	// used for that wait instead of the Backoff's (a Retry-After, a lock
	// holder's announced release time); a negative delay means no wait.
	// That delay is not capped by the Backoff, but it does count against
	// MaxElapsed.
	ServerDelay func(err error) (delay time.Duration, ok bool)

	// Retryable decides which errors are retried. Nil means
	// TransientStart. Whatever it says, an error matching context.Canceled
	// is never retried.
	Retryable Classifier

	// OnRetry, when set, is called before each wait with the number of the
	// attempt that just failed (1 for the first), its error and the wait
	// that follows. It is not called when Do gives up. It runs on Do's
	// goroutine, so a slow OnRetry delays the next attempt.
	OnRetry func(attempt int, err error, delay time.Duration)

	// Rand returns a random number in [0, 1) for jitter. Nil means
	// math/rand/v2's Float64. Set it to make delays deterministic in tests;
	// values outside [0, 1] are clamped.
	Rand func() float64

	// clock is the time source; nil means the real one. Only tests set it.
	clock clock
}

// DefaultMaxAttempts is the number of attempts a Policy with MaxAttempts 0
// makes.
const DefaultMaxAttempts = 3

// Unlimited as a Policy's MaxAttempts removes the limit on attempts.
const Unlimited = -1

// defaultBackoff is the Backoff of a Policy that sets none.
var defaultBackoff Backoff = Exponential{
	Initial: defaultInitial,
	Factor:  defaultFactor,
	Max:     defaultMax,
	Jitter:  FullJitter,
}

// Delay returns the wait before retry n (n = 1 follows the first attempt)
// under p: the ServerDelay's when it claims err, else the Backoff's with
// p's Rand. prev is the previous wait (0 before the first retry). It never
// returns a negative duration. Do uses it; it is exported for loops that
// wait between runs themselves, such as a supervisor restarting a child
// (which starts over at n = 1, prev = 0 after a healthy run).
func (p Policy) Delay(n int, prev time.Duration, err error) time.Duration {
	if p.ServerDelay != nil && err != nil {
		if d, ok := p.ServerDelay(err); ok {
			return max(d, 0)
		}
	}
	b := p.Backoff
	if b == nil {
		b = defaultBackoff
	}
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	return max(b.Delay(n, prev, rnd), 0)
}

// Attempts returns the effective limit on attempts: MaxAttempts with the
// default applied, or 0 for no limit.
func (p Policy) Attempts() int {
	switch {
	case p.MaxAttempts == 0:
		return DefaultMaxAttempts
	case p.MaxAttempts < 0:
		return 0
	}
	return p.MaxAttempts
}

// classifier returns the effective classifier.
func (p Policy) classifier() Classifier {
	if p.Retryable == nil {
		return TransientStart
	}
	return p.Retryable
}

// retryable applies the classifier, keeping a cancellation terminal
// whatever a caller's classifier says.
func (p Policy) retryable(err error) bool {
	return !isCancel(err) && p.classifier().Retryable(err)
}
