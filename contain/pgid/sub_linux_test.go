//go:build linux

package pgid

import (
	"context"
	"os/exec"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

// newSub makes a sub of parent, closed at cleanup.
func newSub(t *testing.T, parent *container, opts contain.Options) *container {
	t.Helper()
	return testchild.NewSub(t, parent, opts).(*container)
}

// subCount is the number of subs c tracks.
func subCount(c *container) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

func sorted(pids ...int) []int {
	out := slices.Clone(pids)
	slices.Sort(out)
	return out
}

func wantPids(t *testing.T, name string, c *container, want ...int) {
	t.Helper()
	if pids, err := c.Pids(); err != nil || !slices.Equal(pids, sorted(want...)) {
		t.Fatalf("%s Pids = %v, %v; want %v", name, pids, err, sorted(want...))
	}
}

// A sub is tracked by its parent until its Close, or the parent's:
// a refused Sub adds nothing, a killed sub's Close drops it, and the
// parent's Close releases every sub still open.
func TestParentTracksItsOpenSubs(t *testing.T) {
	parent := newContainer(t)
	for _, l := range []contain.Limit{contain.MemoryMax(0), contain.MaxProcesses(10)} {
		if _, err := parent.Sub(context.Background(), contain.Options{Limits: []contain.Limit{l}}); err == nil {
			t.Fatalf("Sub with %v succeeded", l)
		}
	}
	if n := subCount(parent); n != 0 {
		t.Errorf("refused Subs left %d subs behind", n)
	}
	a := newSub(t, parent, contain.Options{})
	testchild.Sleeper(t, a)
	b := newSub(t, parent, contain.Options{})
	bb := newSub(t, b, contain.Options{})
	testchild.Sleeper(t, bb)
	if err := a.Kill(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := subCount(parent); n != 2 {
		t.Errorf("parent tracks %d subs after a sub's Kill, want 2", n)
	}
	if err := a.Close(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := subCount(parent); n != 1 {
		t.Errorf("parent tracks %d subs after a killed sub's Close, want 1", n)
	}
	if err := parent.Close(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n, m := subCount(parent), subCount(b); n != 0 || m != 0 {
		t.Errorf("closed parent tracks %d subs, its sub %d", n, m)
	}
}

// A parent that hosts many runs, each in a sub closed at its end, keeps
// neither their group ids nor their descriptors nor their watchdog
// registrations.
func TestManySubCyclesLeaveNothingBehind(t *testing.T) {
	parent := newContainer(t)
	own, _ := testchild.Sleeper(t, parent)
	cycle := func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		s, err := parent.Sub(ctx, contain.Options{KillOnOwnerDeath: i%2 == 0})
		if err != nil {
			t.Fatal("Sub:", err)
		}
		cmd := testchild.Command(testchild.ModeSleep)
		if err := s.Start(cmd); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal("sub Close:", err)
		}
		_ = cmd.Wait()
	}
	cycle(0) // starts the watchdog, whose pipe stays open
	regs, fds := watchdog.Registered(), testchild.OpenFDs(t)
	n := 1000
	if testing.Short() {
		n = 100
	}
	begin := time.Now()
	for i := range n {
		cycle(i)
	}
	t.Logf("%d Sub+spawn+Close cycles: %v each", n, time.Since(begin)/time.Duration(n))
	if got := subCount(parent); got != 0 {
		t.Errorf("parent tracks %d subs after every one was closed", got)
	}
	parent.mu.Lock()
	if parent.subs != nil {
		t.Error("parent keeps the map of its former subs")
	}
	parent.mu.Unlock()
	if got := testchild.OpenFDs(t); got != fds {
		t.Errorf("open descriptors: %d before, %d after %d cycles", fds, got, n)
	}
	if got := watchdog.Registered(); got != regs {
		t.Errorf("watchdog registrations: %d before, %d after", regs, got)
	}
	if !testchild.Alive(own) {
		t.Error("the parent's own member died")
	}
	wantPids(t, "parent", parent, own)
}

// Once a sub is closed, its group id is free for the kernel to reuse: the
// parent must never visit it again. A process in a group of its own
// stands in for a stranger that was given the recycled id, and the closed
// sub's state is made to look live and holding that group, so that the
// only thing protecting the stranger is the sub's removal from the
// parent's list.
func TestClosedSubsGroupIsNeverSignalledAgain(t *testing.T) {
	parent := newContainer(t)
	own, _ := testchild.Sleeper(t, parent)
	sub := newSub(t, parent, contain.Options{})
	member, _ := testchild.Sleeper(t, sub)
	if err := sub.Close(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, 0, member)
	if n := subCount(parent); n != 0 {
		t.Errorf("parent tracks %d subs after the sub's Close", n)
	}

	stranger := testchild.Command(testchild.ModeSleep)
	stranger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	wait := testchild.Reap(t, stranger, func(context.Context) error { return stranger.Process.Kill() })
	sp := stranger.Process.Pid
	sub.mu.Lock()
	saved := *sub.leader
	sub.pgid, sub.leader, sub.gone, sub.closed = sp, &handle{pid: sp, fd: -1}, false, false
	sub.mu.Unlock()
	t.Cleanup(func() {
		sub.mu.Lock()
		sub.pgid, sub.leader, sub.gone, sub.closed = saved.pid, &saved, true, true
		sub.mu.Unlock()
	})

	wantPids(t, "parent", parent, own)
	if err := parent.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := parent.Kill(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !testchild.Alive(sp) {
		t.Fatal("the parent signalled the group id of a closed sub")
	}
	_ = stranger.Process.Kill()
	_ = wait()
}

// spawnIn places a ModeSleep child in c.
func spawnIn(b *testing.B, c contain.Container) *exec.Cmd {
	cmd := testchild.Command(testchild.ModeSleep)
	if err := c.Start(cmd); err != nil {
		b.Fatal(err)
	}
	return cmd
}

// BenchmarkSpawnClose compares one run (make the container, spawn a child
// in it, Close it) in a fresh container from NewContainer with one in a Sub
// of a long-lived parent. The machine is shared, so the two alternate
// within each iteration (taking turns to go first) and are reported as
// metrics (ns per run, and the part of it spent in Close), which cancels
// out drifting load.
func BenchmarkSpawnClose(b *testing.B) {
	ctx := context.Background()
	parent, err := New().NewContainer(ctx, contain.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer parent.Close(ctx)
	kinds := []struct {
		name string
		mk   func() (contain.Container, error)
	}{
		{"new", func() (contain.Container, error) { return New().NewContainer(ctx, contain.Options{}) }},
		{"sub", func() (contain.Container, error) { return parent.Sub(ctx, contain.Options{}) }},
	}
	total := make([]time.Duration, len(kinds))
	closing := make([]time.Duration, len(kinds))
	for i := 0; b.Loop(); i++ {
		for j := range kinds {
			k := (i + j) % len(kinds) // alternate which goes first
			kind := kinds[k]
			began := time.Now()
			c, err := kind.mk()
			if err != nil {
				b.Fatal(err)
			}
			cmd := spawnIn(b, c)
			closeAt := time.Now()
			if err := c.Close(ctx); err != nil {
				b.Fatal(err)
			}
			closing[k] += time.Since(closeAt)
			total[k] += time.Since(began)
			_ = cmd.Wait()
		}
	}
	for k, kind := range kinds {
		b.ReportMetric(float64(total[k].Nanoseconds())/float64(b.N), kind.name+"-ns/run")
		b.ReportMetric(float64(closing[k].Nanoseconds())/float64(b.N), kind.name+"-close-ns/run")
	}
	if n := subCount(parent.(*container)); n != 0 {
		b.Fatalf("parent tracks %d subs", n)
	}
}

// settle waits until every thread of every child sleeps, so that Kill
// meets started programs rather than ones still starting up, whichever
// set-up took longer.
func settle(b *testing.B, cmds []*exec.Cmd) {
	deadline := time.Now().Add(patience)
	for _, cmd := range cmds {
		for {
			states, err := sysproc.ThreadStates(cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			if len(states) > 1 && !slices.ContainsFunc(states, func(s byte) bool { return s != 'S' }) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("child %d did not settle: thread states %q", cmd.Process.Pid, states)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// BenchmarkKill measures Kill to confirmed death of three containers,
// alternating within each iteration: one child (1proc), ten children in
// one group (10procs-1group), and a parent with ten subs of one child
// each (10subs). Setting up, and waiting for the children to settle, is
// not timed.
func BenchmarkKill(b *testing.B) {
	ctx := context.Background()
	kinds := []string{"1proc", "10procs-1group", "10subs"}
	took := make([]time.Duration, len(kinds))
	for b.Loop() {
		for k, kind := range kinds {
			b.StopTimer()
			cc, err := New().NewContainer(ctx, contain.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var cmds []*exec.Cmd
			switch kind {
			case "1proc":
				cmds = append(cmds, spawnIn(b, cc))
			case "10procs-1group":
				for range 10 {
					cmds = append(cmds, spawnIn(b, cc))
				}
			case "10subs":
				for range 10 {
					s, err := cc.Sub(ctx, contain.Options{})
					if err != nil {
						b.Fatal(err)
					}
					cmds = append(cmds, spawnIn(b, s))
				}
			}
			settle(b, cmds)
			b.StartTimer()
			began := time.Now()
			if err := cc.Kill(ctx); err != nil {
				b.Fatal(err)
			}
			took[k] += time.Since(began)
			b.StopTimer()
			if err := cc.Close(ctx); err != nil {
				b.Fatal(err)
			}
			for _, cmd := range cmds {
				_ = cmd.Wait()
			}
			b.StartTimer()
		}
	}
	for k, kind := range kinds {
		b.ReportMetric(float64(took[k].Nanoseconds())/float64(b.N), kind+"-ns/kill")
	}
}

// stateOf is the state letter of pid's main thread, or 0.
func stateOf(pid int) byte {
	st, err := sysproc.ReadStat(pid)
	if err != nil {
		return 0
	}
	return st.State
}

// countScans counts the passes over /proc until the test ends.
func countScans(t *testing.T) *atomic.Int64 {
	var n atomic.Int64
	orig := listProcs
	listProcs = func() ([]int, error) {
		n.Add(1)
		return orig()
	}
	t.Cleanup(func() { listProcs = orig })
	return &n
}

// A parent with many subs looks at all their groups in one pass over
// /proc. Members that have exited but are not reaped yet hold every group
// (as zombies), so the very first check of Kill confirms: any per-sub scan
// would show up as more than one pass.
func TestParentScansProcOnceForAllSubs(t *testing.T) {
	const subs = 20
	parent := newContainer(t)
	var pids []int
	var waits []func() error
	for range subs {
		s := newSub(t, parent, contain.Options{})
		cmd := testchild.Command(testchild.ModeExit, "0")
		if err := s.Start(cmd); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		waits = append(waits, func() error { return cmd.Wait() })
	}
	// Reap only at the end, so that the zombies hold the groups meanwhile.
	t.Cleanup(func() {
		for _, w := range waits {
			_ = w()
		}
	})
	testchild.Poll(t, patience, "every sub's leader to exit", func() bool {
		return !slices.ContainsFunc(pids, func(p int) bool { return stateOf(p) != 'Z' })
	})
	scans := countScans(t)
	wantPids(t, "parent", parent)
	if n := scans.Swap(0); n != 1 {
		t.Errorf("parent Pids with %d subs scanned /proc %d times, want once", subs, n)
	}
	if _, err := parent.Stats(); err != nil {
		t.Fatal(err)
	}
	if n := scans.Swap(0); n != 1 {
		t.Errorf("parent Stats with %d subs scanned /proc %d times, want once", subs, n)
	}
	if err := parent.Kill(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := scans.Swap(0); n != 1 {
		t.Errorf("parent Kill with %d subs (all members zombies) scanned /proc %d times, want once", subs, n)
	}
}
