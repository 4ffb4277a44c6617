package teardown

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

// TestGraceful checks the order of a graceful stop: the signal, the wait
// only when the signal was delivered, the kill in every case.
func TestGraceful(t *testing.T) {
	refused := errors.New("refused")
	for _, tc := range []struct {
		name    string
		sig     os.Signal
		sigErr  error
		want    []string
		wantErr error
	}{
		{"delivered", os.Interrupt, nil, []string{"signal", "wait", "kill"}, nil},
		{"refused", os.Interrupt, refused, []string{"signal", "kill"}, refused},
		{"no signal", nil, nil, []string{"kill"}, ErrNoSignal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := Graceful(tc.sig,
				func(os.Signal) error { got = append(got, "signal"); return tc.sigErr },
				func() { got = append(got, "wait") },
				func() { got = append(got, "kill") })
			if !slices.Equal(got, tc.want) || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("steps %v err %v, want %v and %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// The teardown context behaves as context.WithTimeout's does, though
// its timer is made only when Done is asked for.
func TestContextEndsAtItsDeadline(t *testing.T) {
	// Done asked for before the deadline: the timer closes it.
	ctx, cancel := within(20 * time.Millisecond)
	defer cancel()
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err before the deadline = %v", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed 10 s after a 20 ms deadline")
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after the deadline = %v", err)
	}
	cancel() // a cancel after the deadline changes nothing
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after the deadline and a cancel = %v", err)
	}

	// Done asked for only after the deadline: closed at once.
	ctx, cancel = within(time.Millisecond)
	defer cancel()
	for deadline := time.Now().Add(10 * time.Second); ctx.Err() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("Err still nil 10 s after a 1 ms deadline")
		}
		time.Sleep(time.Millisecond) // polling the clock, with a deadline
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done not closed though Err says the deadline passed")
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > 0 {
		t.Fatalf("Deadline = %v, %v", d, ok)
	}
}

func TestContextCancel(t *testing.T) {
	for _, askFirst := range []bool{false, true} {
		ctx, cancel := Context()
		var done <-chan struct{}
		if askFirst {
			done = ctx.Done()
		}
		cancel()
		cancel()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("askFirst %v: Err after cancel = %v", askFirst, err)
		}
		if done == nil {
			done = ctx.Done()
		}
		select {
		case <-done:
		default:
			t.Fatalf("askFirst %v: Done not closed after cancel", askFirst)
		}
		if ctx.Value("x") != nil {
			t.Fatal("Value of a key no one set")
		}
		// A derived context ends with it.
		sub, subCancel := context.WithCancel(ctx)
		subCancel()
		<-sub.Done()
	}
}
