package retry

import (
	"context"
	"time"
)

// clock is the time Do reads and waits on: the real one, or a fake in
// tests so exact delays and time budgets are checked without waiting.
type clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, whichever is first, and
	// reports whether the full d passed with ctx still live.
	Sleep(ctx context.Context, d time.Duration) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}
