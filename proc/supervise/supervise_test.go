package supervise_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proc/supervise"
	"github.com/gotether/tether/retry"
)

// fakeClock never waits: After records the wait, moves the time on by it
// and fires at once, so a test reads the exact delays the supervisor chose.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// kinds lists the kinds of every event the supervisor kept.
func kinds(s *supervise.Supervisor) []string {
	var out []string
	for ev := range s.Events() {
		out = append(out, ev.Kind.String())
	}
	return out
}

func quick() retry.Backoff { return retry.Constant{Interval: 10 * time.Millisecond} }

func TestSupervisorGivesUpAfterMaxRestarts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		s := supervise.Start(ctx, script("err", "boom", "exit", "3").Backend(b), supervise.Options{
			Restart: supervise.OnFailure, MaxRestarts: 2, Backoff: quick(), GuardThreshold: -1,
		})
		st, err := s.Wait(ctx)
		var gu *supervise.GaveUpError
		if !errors.As(err, &gu) || !errors.Is(err, supervise.ErrGaveUp) || gu.Reason != "max restarts" || gu.Restarts != 2 {
			t.Fatalf("err %v, want a max-restarts GaveUpError after 2 restarts", err)
		}
		var ee *proc.ExitError
		if !errors.As(err, &ee) || ee.Code != 3 {
			t.Fatalf("err %v does not carry the last exit error", err)
		}
		if st.State != supervise.GaveUp || st.Restarts != 2 || st.Runs != 3 || st.Pid != 0 || st.Last == nil || st.Last.ExitCode != 3 {
			t.Fatalf("status %+v", st)
		}
		want := []string{"started", "exited", "restarting", "started", "exited", "restarting", "started", "exited", "gave up"}
		if got := kinds(s); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
	})
}

func TestSupervisorEventsCarryPidsOutcomesAndDelays(t *testing.T) {
	ctx := ctxFor(t, patience)
	s := supervise.Start(ctx, script("exit", "3"), supervise.Options{MaxRestarts: 1, Backoff: quick(), GuardThreshold: -1})
	if _, err := s.Wait(ctx); !errors.Is(err, supervise.ErrGaveUp) {
		t.Fatal(err)
	}
	var pids []int
	for ev := range s.Events() {
		switch ev.Kind {
		case supervise.EventStarted:
			pids = append(pids, ev.Pid)
		case supervise.EventExited:
			if ev.Pid != pids[len(pids)-1] || ev.Result.Outcome != proc.Exited || ev.Result.ExitCode != 3 || ev.Result.Pid != ev.Pid {
				t.Fatalf("exited event %+v", ev)
			}
			if testchild.Alive(ev.Pid) {
				t.Fatalf("pid %d alive after its exited event", ev.Pid)
			}
		case supervise.EventRestarting:
			if ev.Delay != 10*time.Millisecond || ev.Run != 1 {
				t.Fatalf("restarting event %+v", ev)
			}
		}
		if ev.Dropped != 0 || ev.Time.IsZero() {
			t.Fatalf("event %+v", ev)
		}
	}
	if len(pids) != 2 || pids[0] == pids[1] {
		t.Fatalf("pids %v, want two incarnations", pids)
	}
}

func TestSupervisorFlappingChildRecoversAndRunsUntilStop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		dir := testchild.TempDir(t)
		count, ready := filepath.Join(dir, "count"), filepath.Join(dir, "ready")
		s := supervise.Start(ctx, script("failuntil", count, "3", "pids", ready, "block").Backend(b), supervise.Options{Restart: supervise.Always, Backoff: quick()})
		tree := testchild.ReadPidFile(t, ready, patience)
		testchild.Poll(t, patience, "the third run to be running", func() bool {
			st := s.Status()
			return st.State == supervise.Running && st.Pid == tree["child"]
		})
		if st := s.Status(); st.Restarts != 2 || st.Last == nil || st.Last.ExitCode != 75 {
			t.Fatalf("status %+v", st)
		}
		if err := s.Stop(ctx, 0); err != nil {
			t.Fatal(err)
		}
		st, err := s.Wait(ctx)
		if err != nil || st.State != supervise.Stopped || st.Restarts != 2 || st.Last.Outcome != proc.Signaled {
			t.Fatalf("status %+v err %v", st, err)
		}
		if testchild.Alive(tree["child"]) {
			t.Fatal("child alive after Stop")
		}
		if got := kinds(s); got[len(got)-1] != "stopped" || strings.Count(strings.Join(got, ","), "started") != 3 {
			t.Fatalf("events %v", got)
		}
	})
}

func TestSupervisorNeverRunsOnce(t *testing.T) {
	ctx := ctxFor(t, patience)
	s := supervise.Start(ctx, script("exit", "3"), supervise.Options{Restart: supervise.Never})
	st, err := s.Wait(ctx)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || st.State != supervise.Finished || st.Runs != 1 || st.Restarts != 0 {
		t.Fatalf("status %+v err %v", st, err)
	}
	if got, want := kinds(s), []string{"started", "exited", "finished"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestSupervisorOnFailureFinishesAfterSuccess(t *testing.T) {
	ctx := ctxFor(t, patience)
	count := filepath.Join(testchild.TempDir(t), "count")
	s := supervise.Start(ctx, script("failuntil", count, "2", "out", "ok"), supervise.Options{Backoff: quick()})
	st, err := s.Wait(ctx)
	if err != nil || st.State != supervise.Finished || st.Restarts != 1 || string(st.Last.Stdout) != "ok" {
		t.Fatalf("status %+v err %v", st, err)
	}
}

func TestSupervisorStopWhenEndsSupervision(t *testing.T) {
	ctx := ctxFor(t, patience)
	count := filepath.Join(testchild.TempDir(t), "count")
	// Runs 1 and 2 exit 75; run 3 exits 78, which StopWhen matches.
	s := supervise.Start(ctx, script("failuntil", count, "3", "exit", "78"), supervise.Options{
		Restart: supervise.Always, Backoff: quick(),
		StopWhen: func(r *proc.Result) bool { return r.ExitCode == 78 },
	})
	st, err := s.Wait(ctx)
	if err != nil || st.State != supervise.Finished || st.Runs != 3 || st.Last.ExitCode != 78 {
		t.Fatalf("status %+v err %v", st, err)
	}
}

func TestSupervisorCrashLoopGuardPausesOnceThenGivesUp(t *testing.T) {
	ctx := ctxFor(t, patience)
	clk := newFakeClock()
	s := supervise.Start(ctx, script("exit", "3"), supervise.Options{
		Backoff:        retry.Constant{Interval: time.Second},
		GuardThreshold: 3, GuardHalfLife: 10 * time.Second, GuardPause: time.Minute,
		Clock: clk,
	})
	st, err := s.Wait(ctx)
	var gu *supervise.GaveUpError
	if !errors.As(err, &gu) || gu.Reason != "crash loop" {
		t.Fatalf("err %v, want a crash-loop GaveUpError", err)
	}
	// Scores with 1 s between failures and a 10 s half-life: 1, 1.93,
	// 2.80, 3.61 (trip: pause, score 0), 1, 1.93, 2.80, 3.61 (give up).
	s1 := time.Second
	if got, want := clk.Sleeps(), []time.Duration{s1, s1, s1, time.Minute, s1, s1, s1}; !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	if st.Runs != 8 || st.State != supervise.GaveUp {
		t.Fatalf("status %+v", st)
	}
	var paused []time.Duration
	for ev := range s.Events() {
		if ev.Kind == supervise.EventPaused {
			paused = append(paused, ev.Delay)
		}
	}
	if !slices.Equal(paused, []time.Duration{time.Minute}) {
		t.Fatalf("paused events %v", paused)
	}
}

func TestSupervisorBackoffResetsAfterHealthyRun(t *testing.T) {
	ctx := ctxFor(t, 3*patience)
	clk := newFakeClock()
	count := filepath.Join(testchild.TempDir(t), "count")
	runs := 0
	// Runs 1 and 2 fail at once; runs 3 and 4 last 1.2 s (healthy) and
	// then fail.
	s := supervise.Start(ctx, script("failuntil", count, "3", "sleep", "1200ms", "exit", "1"), supervise.Options{
		Backoff:      retry.Exponential{Initial: 100 * time.Millisecond, Factor: 2, Max: 10 * time.Second},
		HealthyAfter: time.Second, GuardThreshold: -1, Clock: clk,
		StopWhen: func(*proc.Result) bool { runs++; return runs == 4 },
	})
	if _, err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	if got, want := clk.Sleeps(), []time.Duration{100 * ms, 200 * ms, 100 * ms}; !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v (the healthy third run resets the backoff)", got, want)
	}
}

func TestSupervisorHealthCheckRestartsUnhealthyChild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, 3*patience)
		file := filepath.Join(testchild.TempDir(t), "pids")
		// Incarnations are keyed by handle, not pid: Windows reuses a
		// dead process's pid at once, so a new incarnation may get the
		// number of an old one.
		var (
			mu       sync.Mutex
			trees    = map[*proc.RunningProcess][]int{}
			order    []*proc.RunningProcess
			survived []string
		)
		check := func(ctx context.Context, p *proc.RunningProcess) error {
			mu.Lock()
			defer mu.Unlock()
			if !slices.Contains(order, p) {
				// The first check of a new incarnation: every earlier
				// tree must be dead already (its pids may now name this
				// incarnation's child, which is not a survivor).
				for _, old := range order {
					for _, pid := range trees[old] {
						if pid != p.Pid() && testchild.Alive(pid) {
							survived = append(survived, strconv.Itoa(pid))
						}
					}
				}
				order = append(order, p)
				trees[p] = []int{p.Pid()}
			}
			if pids := readTree(file); pids["child"] == p.Pid() && len(trees[p]) == 1 {
				trees[p] = append(trees[p], pids["hold"])
			}
			return errors.New("not healthy")
		}
		s := supervise.Start(ctx, script("hold", "pids", file, "block").Backend(b), supervise.Options{
			MaxRestarts: 2, Backoff: quick(), GuardThreshold: -1,
			Health: supervise.HealthCheck{Check: check, Interval: 100 * time.Millisecond, Failures: 3},
		})
		st, err := s.Wait(ctx)
		if !errors.Is(err, supervise.ErrGaveUp) || st.Runs != 3 || st.Last.Outcome != proc.Signaled {
			t.Fatalf("status %+v err %v", st, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(survived) > 0 {
			t.Fatalf("pids %v of an unhealthy incarnation alive when the next one started", survived)
		}
		if len(order) != 3 {
			t.Fatalf("%d incarnations checked, want 3", len(order))
		}
		for _, pids := range trees {
			for _, pid := range pids {
				if testchild.Alive(pid) {
					t.Fatalf("pid %d alive after the supervision ended", pid)
				}
			}
		}
		want := []string{"started", "unhealthy", "exited", "restarting"}
		if got := kinds(s); !slices.Equal(got[:4], want) || got[len(got)-1] != "gave up" {
			t.Fatalf("events %v", got)
		}
	})
}

// readTree parses a "role pid" file; nil while it is absent or partial.
func readTree(path string) map[string]int {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	tr := map[string]int{}
	for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		role, p, _ := strings.Cut(ln, " ")
		n, _ := strconv.Atoi(p)
		tr[role] = n
	}
	return tr
}

func TestSupervisorStopLetsTheChildExitGracefully(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no signals: Stop kills at once (TestSupervisorStopKillsWithoutSignals)")
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		file := filepath.Join(testchild.TempDir(t), "ready")
		s := supervise.Start(ctx, script("onterm", "bye", "pids", file, "block").Backend(b), supervise.Options{Restart: supervise.Always, Backoff: quick()})
		testchild.ReadPidFile(t, file, patience)
		began := time.Now()
		if err := s.Stop(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(began); el > 4*time.Second {
			t.Fatalf("Stop took %v: the grace was waited out although the child exited", el)
		}
		st, err := s.Wait(ctx)
		if err != nil || st.State != supervise.Stopped || st.Runs != 1 || !st.Last.Success() || string(st.Last.Stdout) != "bye" {
			t.Fatalf("status %+v err %v", st, err)
		}
	})
}

func TestSupervisorStopKillsAfterGrace(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no signals: Stop kills at once (TestSupervisorStopKillsWithoutSignals)")
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		file := filepath.Join(testchild.TempDir(t), "ready")
		s := supervise.Start(ctx, script("ignoreterm", "hold", "pids", file, "block").Backend(b), supervise.Options{Restart: supervise.Always, Backoff: quick()})
		tree := testchild.ReadPidFile(t, file, patience)
		began := time.Now()
		if err := s.Stop(ctx, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(began); el < 300*time.Millisecond || el > 3*time.Second {
			t.Fatalf("Stop took %v, want the 300 ms grace and not much more", el)
		}
		st, err := s.Wait(ctx)
		if err != nil || st.State != supervise.Stopped || st.Runs != 1 || st.Last.Outcome != proc.Signaled {
			t.Fatalf("status %+v err %v", st, err)
		}
		for _, pid := range tree.Pids() {
			if testchild.Alive(pid) {
				t.Fatalf("pid %d alive after Stop", pid)
			}
		}
	})
}

func TestSupervisorStopKillsWithoutSignals(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("only Windows lacks signals")
	}
	ctx := ctxFor(t, patience)
	file := filepath.Join(testchild.TempDir(t), "ready")
	s := supervise.Start(ctx, script("pids", file, "block"), supervise.Options{Restart: supervise.Always})
	testchild.ReadPidFile(t, file, patience)
	began := time.Now()
	if err := s.Stop(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(began); el > 30*time.Second {
		t.Fatalf("Stop took %v: it waited for a grace the signal could not start", el)
	}
	if st, err := s.Wait(ctx); err != nil || st.State != supervise.Stopped || st.Last.Outcome != proc.Signaled {
		t.Fatalf("status %+v err %v", st, err)
	}
}

func TestSupervisorCancelledContextIsTerminal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		file := filepath.Join(testchild.TempDir(t), "ready")
		s := supervise.Start(ctx, script("hold", "pids", file, "block").Backend(b), supervise.Options{Restart: supervise.Always, Backoff: quick()})
		tree := testchild.ReadPidFile(t, file, patience)
		cancel()
		st, err := s.Wait(ctxFor(t, patience))
		if !errors.Is(err, context.Canceled) || st.State != supervise.Stopped || st.Runs != 1 || st.Last.Outcome != proc.Cancelled {
			t.Fatalf("status %+v err %v", st, err)
		}
		for _, pid := range tree.Pids() {
			if testchild.Alive(pid) {
				t.Fatalf("pid %d alive after the context ended", pid)
			}
		}
		if got, want := kinds(s), []string{"started", "exited", "stopped"}; !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
	})
}

func TestSupervisorCancelDuringBackoffIsTerminal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := supervise.Start(ctx, script("exit", "3"), supervise.Options{Backoff: retry.Constant{Interval: time.Hour}})
	testchild.Poll(t, patience, "the backoff wait", func() bool { return s.Status().State == supervise.Restarting })
	cancel()
	st, err := s.Wait(ctxFor(t, patience))
	if !errors.Is(err, context.Canceled) || st.State != supervise.Stopped || st.Runs != 1 {
		t.Fatalf("status %+v err %v", st, err)
	}
}

func TestSupervisorInvalidOptionsGiveUpAtOnce(t *testing.T) {
	s := supervise.Start(context.Background(), script("exit", "0"), supervise.Options{MaxRestarts: -1})
	st, err := s.Wait(ctxFor(t, patience))
	if !errors.Is(err, supervise.ErrGaveUp) || !errors.Is(err, proc.ErrInvalid) || st.Runs != 0 {
		t.Fatalf("status %+v err %v", st, err)
	}
}

func TestSupervisorSlowEventReaderDropsOldest(t *testing.T) {
	// 100 runs: a few seconds here, a minute with a load of 15 on 2
	// cores; the deadline only catches a hang.
	ctx := ctxFor(t, 12*patience)
	n := 0
	// 100 runs make 300 events (started, exited, restarting) and more: a
	// reader that starts after the end lost the oldest ones, counted.
	s := supervise.Start(ctx, script("exit", "3"), supervise.Options{
		Backoff: retry.Constant{}, GuardThreshold: -1,
		StopWhen: func(*proc.Result) bool { n++; return n == 100 },
	})
	st, err := s.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Under Wine a start now and then fails inside CreateProcess (a fault
	// of Wine's, see scripts/test-windows.sh): that attempt makes two
	// events (start failed, restarting) and no Result for StopWhen.
	failed := st.Runs - 100
	if failed < 0 || (failed > 0 && runtime.GOOS != "windows") {
		t.Fatalf("%d incarnations for 100 Results", st.Runs)
	}
	want := 300 + 2*failed
	total, seen := 0, 0
	for ev := range s.Events() {
		total += ev.Dropped + 1
		seen++
	}
	if seen != supervise.EventBuffer || total != want {
		t.Fatalf("saw %d events, %d with drops; want %d and %d (%d failed starts)", seen, total, supervise.EventBuffer, want, failed)
	}
}
