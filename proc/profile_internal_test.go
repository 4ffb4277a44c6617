package proc

import (
	"context"
	"testing"
	"time"

	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/testchild"
)

// TestProfileEndsWithTheRunsFinalUsage holds the monitor after it has
// released the run's container and before the Result is ready, until
// Profile has looked at the container twice in that window. Those looks
// must not count: a released cgroup v2 container has no cpu.stat left, so
// such a look would replace the profile's CPU with "unavailable" (a slow
// teardown, as in a VM, leaves a wide window for it). The profile's CPU
// must be the run's final figure where the mechanism counts exited
// members, and every sample must carry a CPU figure there.
func TestProfileEndsWithTheRunsFinalUsage(t *testing.T) {
	released := make(chan struct{})
	looked := make(chan struct{})
	after := 0 // only Profile's goroutine (this test's) touches it
	testHookReleased = func() {
		close(released)
		select {
		case <-looked:
		case <-time.After(testchild.Patience): // Profile failed: let the run end
		}
	}
	testHookProfiled = func() {
		select {
		case <-released:
		default:
			return
		}
		if after++; after == 2 {
			close(looked)
		}
	}
	t.Cleanup(func() { testHookReleased, testHookProfiled = nil, nil })

	ctx, cancel := context.WithTimeout(context.Background(), testchild.Patience)
	defer cancel()
	b := host.Default().Backend
	p, err := exitsSoon(100 * time.Millisecond).Backend(b).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := p.Profile(ctx, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after < 2 {
		t.Fatalf("Profile looked %d times after the release, want 2", after)
	}
	if len(prof.Samples) == 0 {
		t.Fatal("no sample")
	}
	u := r.Usage
	if !u.CPUIncludesExited {
		t.Skipf("%s gave the run no final CPU figure that counts exited members (Result.Usage %+v): nothing to compare the profile's CPU with", b.Mechanism(), u)
	}
	for i, s := range prof.Samples {
		if s.Stats.CPU.Valid != u.CPU.Valid {
			t.Fatalf("sample %d of %d at %v: CPU %v, but the run's usage says %v", i, len(prof.Samples), s.Time.Format(time.StampMicro), s.Stats.CPU, u.CPU)
		}
	}
	if prof.CPU != u.CPU {
		t.Fatalf("the profile's CPU is %v, want the run's final %v", prof.CPU, u.CPU)
	}
	t.Logf("%s: %d samples, CPU %v (the run's final), peak memory %v", b.Mechanism(), len(prof.Samples), prof.CPU, prof.PeakMemory)
}
