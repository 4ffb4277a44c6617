package proc

import (
	"context"
	"time"

	"github.com/gotether/tether/retry"
)

// retrySpec is a Cmd's retry policy.
type retrySpec struct {
	policy *retry.Policy
	output bool // Output retries too, not only the must-succeed verbs
}

// Retry returns a copy whose must-succeed verbs (Run, RunBytes, Exec,
// Checked, and Parse) retry a failed run under p: every attempt is a
// fresh process in a fresh container, and Result.Attempts counts them.
// ExitCode and Probe retry under p too, but a definite answer is never a
// failure for them: any exit code for ExitCode, exit 0 or 1 for Probe;
// what they retry is a run with no answer (a start failure, a timeout, a
// death by signal), as p.Retryable decides. Which failures are retried is
// p.Retryable's decision (by default only transient start errors); a
// cancelled context ends the retrying at once. Output retries only after
// RetryOutput. A one-shot Stdin reader cannot be
// replayed, so combining it with Retry fails with ErrInvalid before the
// first spawn. Each retry is logged (with Logger) as one event.
func (c *Cmd) Retry(p retry.Policy) *Cmd {
	return c.with(func(n *Cmd) { n.retry = retrySpec{policy: &p, output: n.retry.output} })
}

// RetryOutput returns a copy whose Output also retries under the Retry
// policy: a failed run (by Err) that the policy finds retryable is run
// again; the last Result is returned as data as usual. ExitCode and Probe
// do not follow it: they retry under Retry alone, by their own rule.
func (c *Cmd) RetryOutput() *Cmd {
	return c.with(func(n *Cmd) { n.retry.output = true })
}

// withRetry runs c once through its runner, or, when c has a Retry
// policy, under it: every result that is not a success (by Result.Err)
// is a failure the policy classifies, and the last attempt's Result comes
// back with the error. Its callers are the verbs that retry (the
// must-succeed ones, and Output after RetryOutput).
func (c *Cmd) withRetry(ctx context.Context) (*Result, error) {
	return c.retryJudged(ctx, (*Result).Err)
}

// retryJudged is withRetry with the failure a result stands for decided
// by judge (nil: an answer, nothing to retry).
func (c *Cmd) retryJudged(ctx context.Context, judge func(*Result) error) (*Result, error) {
	if c.retry.policy == nil {
		return c.runnerOrDefault().Output(ctx, c)
	}
	if err := c.stdin.checkReader(c.name, readerReplayed); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	p := *c.retry.policy
	user := p.OnRetry
	log := c.logger
	p.OnRetry = func(attempt int, err error, delay time.Duration) {
		if log != nil {
			log.Warn("tether: retrying", "program", c.name, "attempt", attempt, "delay", delay, "err", err)
		}
		if user != nil {
			user(attempt, err, delay)
		}
	}
	r, err := retry.Do(ctx, p, func(ctx context.Context) (*Result, error) {
		r, err := c.runnerOrDefault().Output(ctx, c)
		if r != nil {
			r.Attempts = retry.Attempt(ctx)
		}
		if err != nil {
			return r, err
		}
		return r, judge(r)
	})
	return r, err
}
