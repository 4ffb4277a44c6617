// Package retry runs an operation again when it fails in a way that is
// worth retrying, waiting a little longer each time, and never past the
// context.
//
// It is tether's own small retry package, usable without the rest of
// tether. Go's retry libraries change their API often (cenkalti/backoff
// shipped three breaking major versions between December 2024 and June
// 2026), and a process SDK needs things they lack: classifying a failed
// run by exit code, signal, timeout, OOM kill or output, not by HTTP
// status.
//
// Three pieces fit together:
//
//   - A [Policy] says how often and how long: at most MaxAttempts attempts,
//     no new attempt after MaxElapsed, a [Backoff] between attempts
//     ([Constant], [Exponential], [Decorrelated], with [FullJitter] or
//     [EqualJitter]), an optional server-provided delay (a Retry-After),
//     and which errors are retryable. Its zero value is a documented
//     default: 3 attempts, exponential backoff from 100 ms doubling up to
//     10 s with full jitter, retrying only transient start errors.
//   - A [Classifier] says which errors are retryable. Classifiers compose
//     ([Any], [All], [Not]) and look at errors through [errors.Is],
//     [errors.As] and small interfaces ([ExitStatus], [SignalStatus],
//     [TimeoutStatus], [OOMStatus], [OutputStatus]) that tether's proc
//     errors implement and any other error type can.
//   - [Do] and [DoErr] run the operation. They return at once, without
//     another attempt, when the context ends; a failure comes back as an
//     [*Error] carrying the attempt count, the last error and why the
//     retrying stopped ([ErrExhausted], [ErrNotRetryable], or the context's
//     error).
//
// A cancelled context is terminal: no classifier treats an error matching
// [context.Canceled] as retryable, a sleep between attempts ends as soon as
// the context does, and no attempt starts after it ended.
//
// Example: retry a flaky command up to 5 times when it exits with code 75
// (EX_TEMPFAIL) or fails to start transiently, logging each retry:
//
//	p := retry.Policy{
//		MaxAttempts: 5,
//		Backoff:     retry.Exponential{Initial: 200 * time.Millisecond, Factor: 2, Max: 5 * time.Second, Jitter: retry.FullJitter},
//		Retryable:   retry.Any(retry.TransientStart, retry.ExitCodes(75)),
//		OnRetry: func(attempt int, err error, delay time.Duration) {
//			slog.Warn("retrying", "attempt", attempt, "err", err, "delay", delay)
//		},
//	}
//	out, err := retry.Do(ctx, p, func(ctx context.Context) (string, error) {
//		return proc.Command("fetch-index").Run(ctx)
//	})
package retry
