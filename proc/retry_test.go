package proc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/retry"
)

var fast = retry.Policy{
	MaxAttempts: 5,
	Backoff:     retry.Constant{Interval: time.Millisecond},
	Retryable:   retry.ExitCodes(75),
}

func TestRetryRunsFreshAttemptsUntilSuccess(t *testing.T) {
	ctx := ctxFor(t, patience)
	var logs bytes.Buffer
	counter := filepath.Join(testchild.TempDir(t), "count")
	c := script("failuntil", counter, "3", "out", "ok").Retry(fast).
		Logger(slog.New(slog.NewTextHandler(&logs, nil)))
	r, err := c.Checked(ctx)
	if err != nil || string(r.Stdout) != "ok" || r.Attempts != 3 {
		t.Fatalf("result %+v, err %v", r, err)
	}
	if n := strings.Count(logs.String(), "tether: retrying"); n != 2 {
		t.Fatalf("%d retry events logged, want 2:\n%s", n, logs.String())
	}
}

func TestRetryGivesUpWithTheAttemptCount(t *testing.T) {
	ctx := ctxFor(t, patience)
	counter := filepath.Join(testchild.TempDir(t), "count")
	_, err := script("failuntil", counter, "100").Retry(fast).Run(ctx)
	var re *retry.Error
	var ee *proc.ExitError
	if !errors.As(err, &re) || re.Attempts != 5 || !errors.Is(err, retry.ErrExhausted) || !errors.As(err, &ee) || ee.Code != 75 {
		t.Fatalf("error %v", err)
	}
	// A failure the policy does not classify as retryable is not retried.
	counter2 := filepath.Join(testchild.TempDir(t), "count")
	_, err = script("failuntil", counter2, "100").Retry(retry.Policy{MaxAttempts: 5, Retryable: retry.ExitCodes(1)}).Run(ctx)
	if !errors.Is(err, retry.ErrNotRetryable) {
		t.Fatalf("not retryable: %v", err)
	}
}

func TestRetryOnlyWhereAsked(t *testing.T) {
	ctx := ctxFor(t, patience)
	counter := filepath.Join(testchild.TempDir(t), "count")
	r, err := script("failuntil", counter, "3").Retry(fast).Output(ctx)
	if err != nil || r.ExitCode != 75 || r.Attempts != 1 {
		t.Fatalf("Output without RetryOutput: %+v %v", r, err)
	}
	r, err = script("failuntil", counter, "4").Retry(fast).RetryOutput().Output(ctx)
	if err != nil || !r.Success() || r.Attempts != 3 {
		t.Fatalf("Output with RetryOutput: code %d attempts %d %v", r.ExitCode, r.Attempts, err)
	}
	counter2 := filepath.Join(testchild.TempDir(t), "count")
	r, err = script("failuntil", counter2, "100").Retry(fast).RetryOutput().Output(ctx)
	if err != nil || r.ExitCode != 75 || r.Attempts != 5 {
		t.Fatalf("exhausted Output is data: %+v %v", r, err)
	}
}

func TestRetryWithOneShotStdinFailsBeforeSpawning(t *testing.T) {
	counter := filepath.Join(testchild.TempDir(t), "count")
	_, err := script("failuntil", counter, "1").Stdin(strings.NewReader("x")).Retry(fast).Run(ctxFor(t, patience))
	if !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("%v", err)
	}
	if _, statErr := os.Stat(counter); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatal("a process ran")
	}
}

func TestCancelledContextEndsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	counter := filepath.Join(testchild.TempDir(t), "count")
	slow := fast
	slow.Backoff = retry.Constant{Interval: time.Hour}
	slow.OnRetry = func(int, error, time.Duration) { cancel() }
	began := time.Now()
	_, err := script("failuntil", counter, "100").Retry(slow).Run(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(began) > 5*time.Second {
		t.Fatalf("error %v after %v", err, time.Since(began))
	}
}
