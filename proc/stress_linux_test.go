//go:build linux

package proc_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// The stress tier (issue 5): many runs through groups, checking that
// nothing accumulates. It is slow (about a minute for both backends), so
// it runs only when TETHER_STRESS=1: `make stress`, which CI runs.

func stressOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("TETHER_STRESS") != "1" {
		t.Skip("stress tier: runs with TETHER_STRESS=1 (make stress, which CI runs); too slow for every make test")
	}
}

// truePath is a program that exits 0 at once, far cheaper to spawn than
// the test binary.
func truePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) on PATH:", err)
	}
	return p
}

// counts is what must return to its baseline.
type counts struct{ fds, goroutines, cgroups int }

func measure() counts {
	ents, _ := os.ReadDir("/proc/self/fd")
	return counts{fds: len(ents), goroutines: runtime.NumGoroutine(), cgroups: len(testchild.TetherCgroups())}
}

// settle polls until the counts are back to base (goroutines end a moment
// after the runs they served), or fails.
func settle(t *testing.T, base counts) counts {
	t.Helper()
	var now counts
	deadline := time.Now().Add(patience)
	for {
		now = measure()
		if now.fds <= base.fds && now.goroutines <= base.goroutines && now.cgroups <= base.cgroups {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back to baseline: now %+v, base %+v", now, base)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStressConcurrentStartsThenClose(t *testing.T) {
	stressOnly(t)
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g, err := proc.NewGroup(ctxFor(t, patience), proc.GroupOptions{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		ps := make([]*proc.RunningProcess, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := g.Start(ctxFor(t, 2*patience), script("block"))
				if err != nil {
					errs <- err
					return
				}
				ps[i] = p
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error("Start:", err)
		}
		began := time.Now()
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Fatal("Close:", err)
		}
		t.Logf("%d runs: Close took %v", n, time.Since(began).Round(time.Millisecond))
		for _, p := range ps {
			if p != nil && testchild.Alive(p.Pid()) {
				t.Errorf("pid %d alive after Close", p.Pid())
			}
		}
	})
}

func TestStressStartCloseCycles(t *testing.T) {
	stressOnly(t)
	tru := truePath(t)
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, 10*patience)
		// One cycle first, so lazily started things (the watchdog, the
		// cgroup site) are in the baseline.
		cycle := func() {
			g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.Output(ctx, proc.Command(tru)); err != nil {
				t.Fatal(err)
			}
			if err := g.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cycle()
		base := settle(t, measure())
		for range 1000 {
			cycle()
		}
		now := settle(t, base)
		t.Logf("1,000 group cycles: fds %d→%d, goroutines %d→%d, cgroups %d→%d", base.fds, now.fds, base.goroutines, now.goroutines, base.cgroups, now.cgroups)
	})
}

func TestStressManyRunsThroughOneGroup(t *testing.T) {
	stressOnly(t)
	tru := truePath(t)
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, 20*patience)
		// A sentinel outside the group: it reports any SIGTERM, and
		// dies on SIGKILL, which are the signals a group sends.
		sentinel := testchild.Command(testchild.ModeScript, "onterm", "got SIGTERM", "block")
		var out syncBuffer
		sentinel.Stdout = &out
		if err := sentinel.Start(); err != nil {
			t.Fatal(err)
		}
		wait := testchild.Reap(t, sentinel, func(context.Context) error { return sentinel.Process.Kill() })

		g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		const total, conc = 10_000, 8
		heap := func() uint64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapInuse
		}
		run := func(n int) {
			cmds := make([]*proc.Cmd, n)
			for i := range cmds {
				cmds[i] = proc.Command(tru).Runner(g)
			}
			rs, err := proc.OutputAll(ctx, cmds, conc)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.ExitCode != 0 {
					t.Fatalf("run failed: %+v", r)
				}
			}
		}
		began := time.Now()
		run(1000)
		warm := heap()
		run(total - 1000)
		hot := heap()
		elapsed := time.Since(began)
		if err := g.Close(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d runs in one group: %v (%.0f runs/s); heap in use %.1f MiB after 1,000, %.1f MiB after %d",
			total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), mib(warm), mib(hot), total)
		// Flat: 9,000 more runs may not add more than 4 MiB (a leak of
		// one 1 KiB object per run would add 9 MiB).
		if hot > warm+4<<20 {
			t.Errorf("heap grew from %.1f to %.1f MiB over 9,000 runs", mib(warm), mib(hot))
		}
		if !testchild.Alive(sentinel.Process.Pid) || out.String() != "" {
			t.Errorf("the sentinel outside the group was signalled (alive %v, said %q)", testchild.Alive(sentinel.Process.Pid), out.String())
		}
		_ = sentinel.Process.Kill()
		_ = wait()
	})
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// syncBuffer is a strings.Builder safe for a writer goroutine and a
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
