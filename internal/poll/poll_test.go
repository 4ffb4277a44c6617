package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntilReturnsWhenDone(t *testing.T) {
	n := 0
	err := Until(context.Background(), time.Microsecond, time.Millisecond, func() (bool, error) {
		n++
		return n == 5, nil
	})
	if err != nil || n != 5 {
		t.Fatalf("Until = %v after %d checks, want nil after 5", err, n)
	}
}

func TestUntilReturnsTheCheckError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := Until(context.Background(), time.Microsecond, time.Millisecond, func() (bool, error) {
		n++
		return false, boom
	})
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("Until = %v after %d checks, want boom after 1", err, n)
	}
}

// An ended context still gets one look (a condition already true is
// confirmed), and then ends the wait with its error.
func TestUntilEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	err := Until(ctx, time.Hour, time.Hour, func() (bool, error) { n++; return false, nil })
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("Until = %v after %d checks, want context.Canceled after 1", err, n)
	}
	if err := Until(ctx, time.Hour, time.Hour, func() (bool, error) { return true, nil }); err != nil {
		t.Fatalf("a condition already true with an ended context = %v, want nil", err)
	}
}

// The waits double from first up to limit: with first 1 ms and limit
// 4 ms, six looks take 1+2+4+4+4 = 15 ms at least.
func TestUntilBacksOffToTheLimit(t *testing.T) {
	n := 0
	start := time.Now()
	_ = Until(context.Background(), time.Millisecond, 4*time.Millisecond, func() (bool, error) {
		n++
		return n == 6, nil
	})
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Fatalf("six looks took %v, want at least 15ms", d)
	}
}
