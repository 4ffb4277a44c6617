package proc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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

// always retries whatever fails, 5 attempts in all.
var always = retry.Policy{
	MaxAttempts: 5,
	Backoff:     retry.Constant{Interval: time.Millisecond},
	Retryable:   retry.Always,
}

// runs reads how many runs a failuntil counter counted.
func runs(t *testing.T, counter string) int {
	t.Helper()
	b, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// A definite answer is never a failure to retry: any exit code for
// ExitCode, exit 0 or 1 for Probe, even under a policy that retries
// everything and with RetryOutput. Before, an exit code of 3 ran five
// times with RetryOutput, and Probe's "false" four times more.
func TestExitCodeAndProbeNeverRetryAnAnswer(t *testing.T) {
	ctx := ctxFor(t, patience)
	dir := testchild.TempDir(t)

	counter := filepath.Join(dir, "code")
	code, err := script("failuntil", counter, "0", "exit", "3").Retry(always).RetryOutput().ExitCode(ctx)
	if err != nil || code != 3 || runs(t, counter) != 1 {
		t.Fatalf("ExitCode = %d, %v after %d runs; want 3 after 1", code, err, runs(t, counter))
	}
	counter = filepath.Join(dir, "false")
	ok, err := script("failuntil", counter, "0", "exit", "1").Retry(always).RetryOutput().Probe(ctx)
	if err != nil || ok || runs(t, counter) != 1 {
		t.Fatalf("Probe = %v, %v after %d runs; want false after 1", ok, err, runs(t, counter))
	}
	counter = filepath.Join(dir, "true")
	ok, err = script("failuntil", counter, "0").Retry(always).Probe(ctx)
	if err != nil || !ok || runs(t, counter) != 1 {
		t.Fatalf("Probe = %v, %v after %d runs; want true after 1", ok, err, runs(t, counter))
	}
}

// What has no answer is retried under Retry alone, as the classifier
// decides: for Probe an exit code other than 0 and 1 (the flaky tool's
// 75, then its 0), for both a death by signal. Before, neither verb
// retried without RetryOutput.
func TestExitCodeAndProbeRetryWhatHasNoAnswer(t *testing.T) {
	ctx := ctxFor(t, patience)
	dir := testchild.TempDir(t)

	counter := filepath.Join(dir, "flaky")
	ok, err := script("failuntil", counter, "3").Retry(fast).Probe(ctx)
	if err != nil || !ok || runs(t, counter) != 3 {
		t.Fatalf("Probe = %v, %v after %d runs; want true after 3", ok, err, runs(t, counter))
	}

	// A run that ends without an exit code of its own has no answer:
	// killed by a signal on Unix; on Windows, which has no signals,
	// ended by its timeout.
	counter = filepath.Join(dir, "noanswer")
	noAnswer, want := script("failuntil", counter, "0", "kill", "9"), proc.Signaled
	if runtime.GOOS == "windows" {
		noAnswer = script("failuntil", counter, "0", "sleep", "30s").Timeout(50 * time.Millisecond)
		want = proc.TimedOut
	}
	// The attempts are counted by the Result: a timeout may fire before
	// a slow start (Wine) reaches the counter.
	_, err = noAnswer.Retry(always).ExitCode(ctx)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Outcome != want || ee.Result.Attempts != 5 {
		t.Fatalf("ExitCode error %v; want outcome %v after 5 attempts", err, want)
	}
}
