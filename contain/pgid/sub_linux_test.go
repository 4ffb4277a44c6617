//go:build linux

package pgid

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/internal/watchdog"
)

// newSub makes a sub of parent; a cleanup closes it, which must succeed
// (and returns nil once the parent has released it).
func newSub(t *testing.T, parent *Container, opts contain.Options) *Container {
	t.Helper()
	s, err := parent.Sub(context.Background(), opts)
	if err != nil {
		t.Fatal("Sub:", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("sub Close: %v", err)
		}
	})
	return s.(*Container)
}

// sleeper starts a ModeSleep child in c and returns its pid and reaper.
func sleeper(t *testing.T, c *Container) (int, func() error) {
	t.Helper()
	cmd := testchild.Command(testchild.ModeSleep)
	wait := start(t, c, cmd)
	return cmd.Process.Pid, wait
}

// subCount is the number of subs c tracks.
func subCount(c *Container) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

// openFDs counts this process's descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func sorted(pids ...int) []int {
	out := slices.Clone(pids)
	slices.Sort(out)
	return out
}

func wantPids(t *testing.T, name string, c *Container, want ...int) {
	t.Helper()
	if pids, err := c.Pids(); err != nil || !slices.Equal(pids, sorted(want...)) {
		t.Fatalf("%s Pids = %v, %v; want %v", name, pids, err, sorted(want...))
	}
}

func wantClosed(t *testing.T, name string, c *Container) {
	t.Helper()
	if err := c.Start(testchild.Command(testchild.ModeSleep)); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("%s Start = %v, want ErrClosed", name, err)
	}
	if err := c.Adopt(os.Getppid()); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("%s Adopt = %v, want ErrClosed", name, err)
	}
	if s, err := c.Sub(context.Background(), contain.Options{}); s != nil || !errors.Is(err, contain.ErrClosed) {
		t.Errorf("%s Sub = %v, %v; want ErrClosed", name, s, err)
	}
}

func wantSignalled(t *testing.T, name string, wait func() error, sig syscall.Signal) {
	t.Helper()
	var ee *exec.ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != sig {
		t.Errorf("%s: Wait = %v, want killed by %v", name, err, sig)
	}
}

func TestSubMembersAreTheParentsMembers(t *testing.T) {
	parent := newContainer(t)
	own, _ := sleeper(t, parent)
	sub := newSub(t, parent, contain.Options{})
	member, _ := sleeper(t, sub)

	if pg, err := unix.Getpgid(member); err != nil || pg != member {
		t.Fatalf("sub member: pgid %d, %v; want a group of its own (%d)", pg, err, member)
	}
	wantPids(t, "parent", parent, own, member)
	wantPids(t, "sub", sub, member)
	if st, err := parent.Stats(); err != nil || st.Processes != 2 {
		t.Errorf("parent Stats = %+v, %v; want 2 processes", st, err)
	}
	if st, err := sub.Stats(); err != nil || st.Processes != 1 {
		t.Errorf("sub Stats = %+v, %v; want 1 process", st, err)
	}
	if sub.Mechanism() != contain.PGID {
		t.Errorf("sub Mechanism = %q", sub.Mechanism())
	}
}

func TestSubKillLeavesTheParentAndSiblingsAlive(t *testing.T) {
	parent := newContainer(t)
	own, _ := sleeper(t, parent)
	a := newSub(t, parent, contain.Options{})
	_, tr, waitA := startTree(t, a)
	b := newSub(t, parent, contain.Options{})
	sib, _ := sleeper(t, b)
	wantPids(t, "parent", parent, own, tr["child"], tr["grandchild"], sib)

	if err := a.Kill(killCtx(t)); err != nil {
		t.Fatal("sub Kill:", err)
	}
	for _, role := range []string{"child", "grandchild"} {
		if testchild.Alive(tr[role]) {
			t.Errorf("sub's %s %d is alive after the sub's Kill", role, tr[role])
		}
	}
	wantSignalled(t, "sub's child", waitA, syscall.SIGKILL)
	if !testchild.Alive(own) || !testchild.Alive(sib) {
		t.Fatalf("after a sub's Kill: parent's member alive %v, sibling's member alive %v; want both alive",
			testchild.Alive(own), testchild.Alive(sib))
	}
	wantPids(t, "parent", parent, own, sib)
	if err := a.Start(testchild.Command(testchild.ModeSleep)); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("killed sub's Start = %v, want ErrClosed", err)
	}
	// The parent and the sibling still take new processes and subs.
	late, _ := sleeper(t, b)
	c := newSub(t, parent, contain.Options{})
	third, _ := sleeper(t, c)
	wantPids(t, "parent", parent, own, sib, late, third)
	// Closing the killed sub removes it; nothing else changes.
	if err := a.Close(killCtx(t)); err != nil {
		t.Fatal("killed sub's Close:", err)
	}
	if n := subCount(parent); n != 2 {
		t.Errorf("parent tracks %d subs, want 2", n)
	}
}

func TestParentKillKillsEverySub(t *testing.T) {
	parent := newContainer(t)
	own, waitOwn := sleeper(t, parent)
	a := newSub(t, parent, contain.Options{})
	_, trA, waitA := startTree(t, a)
	b := newSub(t, parent, contain.Options{})
	_, trB, waitB := startTree(t, b)
	bb := newSub(t, b, contain.Options{})
	deep, waitDeep := sleeper(t, bb)

	begin := time.Now()
	if err := parent.Kill(killCtx(t)); err != nil {
		t.Fatal("parent Kill:", err)
	}
	t.Logf("parent Kill with 3 subs confirmed in %v", time.Since(begin))
	dead := []int{own, trA["child"], trA["grandchild"], trB["child"], trB["grandchild"], deep}
	for _, p := range dead {
		if testchild.Alive(p) {
			t.Errorf("%d is alive after the parent's Kill", p)
		}
	}
	for name, wait := range map[string]func() error{"own": waitOwn, "a": waitA, "b": waitB, "b's sub": waitDeep} {
		wantSignalled(t, name, wait, syscall.SIGKILL)
	}
	wantPids(t, "parent", parent)
	for name, c := range map[string]*Container{"parent": parent, "a": a, "b": b, "b's sub": bb} {
		wantClosed(t, name, c)
	}
	if err := b.Freeze(killCtx(t)); !errors.Is(err, contain.ErrClosed) {
		t.Errorf("killed sub's Freeze = %v, want ErrClosed", err)
	}
}

func TestParentCloseReleasesEverySub(t *testing.T) {
	// lifecycle checks, if fds is not negative, that the parent's Close
	// alone brings the open descriptors back to fds.
	lifecycle := func(fds int) {
		cc, err := New().New(context.Background(), contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		parent := cc.(*Container)
		var waits []func() error
		var subs []*Container
		for range 2 {
			s, err := parent.Sub(context.Background(), contain.Options{})
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, s.(*Container))
		}
		ss, err := subs[0].Sub(context.Background(), contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ss.(*Container))
		var members []int
		for _, c := range append([]*Container{parent}, subs...) {
			p, w := sleeper(t, c)
			members, waits = append(members, p), append(waits, w)
		}
		outside := testchild.Command(testchild.ModeSleep)
		if err := outside.Start(); err != nil {
			t.Fatal(err)
		}
		waits = append(waits, reap(t, outside, func(context.Context) error { return outside.Process.Kill() }))
		if err := subs[1].Adopt(outside.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if err := parent.Close(killCtx(t)); err != nil {
			t.Fatal("parent Close:", err)
		}
		testchild.WaitDead(t, 0, append(members, outside.Process.Pid)...)
		for _, w := range waits {
			_ = w() // os/exec closes its own pidfd at Wait
		}
		if n := openFDs(t); fds >= 0 && n != fds {
			t.Errorf("open descriptors: %d before, %d after the parent's Close", fds, n)
		}
		for i, s := range subs {
			if err := s.Close(killCtx(t)); err != nil {
				t.Errorf("sub %d Close after the parent's = %v, want nil", i, err)
			}
			if err := s.Signal(syscall.SIGCONT); !errors.Is(err, contain.ErrClosed) {
				t.Errorf("sub %d Signal after the parent's Close = %v, want ErrClosed", i, err)
			}
			wantPids(t, "released sub", s)
		}
		if n := subCount(parent); n != 0 {
			t.Errorf("closed parent tracks %d subs", n)
		}
	}
	lifecycle(-1) // warm up whatever the runtime opens once
	before := openFDs(t)
	for range 3 {
		lifecycle(before)
	}
	if after := openFDs(t); after != before {
		t.Fatalf("open descriptors: %d before, %d after three lifecycles of a parent with subs", before, after)
	}
}

// A parent that hosts many runs, each in a sub closed at its end, keeps
// neither their group ids nor their descriptors nor their watchdog
// registrations.
func TestManySubCyclesLeaveNothingBehind(t *testing.T) {
	parent := newContainer(t)
	own, _ := sleeper(t, parent)
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
	regs, fds := watchdog.Registered(), openFDs(t)
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
	if got := openFDs(t); got != fds {
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

func TestParentSignalReachesEverySub(t *testing.T) {
	parent := newContainer(t)
	_, waitOwn := sleeper(t, parent)
	a := newSub(t, parent, contain.Options{})
	_, waitA := sleeper(t, a)
	aa := newSub(t, a, contain.Options{})
	_, waitAA := sleeper(t, aa)
	b := newSub(t, parent, contain.Options{})
	_, waitB := sleeper(t, b)
	outside := testchild.Command(testchild.ModeSleep)
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	waitOutside := reap(t, outside, func(context.Context) error { return outside.Process.Kill() })
	if err := b.Adopt(outside.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := parent.Signal(syscall.SIGTERM); err != nil {
		t.Fatal("Signal:", err)
	}
	for name, wait := range map[string]func() error{
		"parent's own": waitOwn, "a's": waitA, "a's sub's": waitAA, "b's": waitB, "b's adopted": waitOutside,
	} {
		wantSignalled(t, name, wait, syscall.SIGTERM)
	}
}

// The sub's own Signal reaches its tree only.
func TestSubSignalReachesOnlyItsTree(t *testing.T) {
	parent := newContainer(t)
	own, _ := sleeper(t, parent)
	a := newSub(t, parent, contain.Options{})
	_, waitA := sleeper(t, a)
	aa := newSub(t, a, contain.Options{})
	_, waitAA := sleeper(t, aa)
	b := newSub(t, parent, contain.Options{})
	sib, _ := sleeper(t, b)
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatal("Signal:", err)
	}
	wantSignalled(t, "a's", waitA, syscall.SIGTERM)
	wantSignalled(t, "a's sub's", waitAA, syscall.SIGTERM)
	if !testchild.Alive(own) || !testchild.Alive(sib) {
		t.Fatal("a sub's Signal reached the parent's or a sibling's member")
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

func TestParentFreezeStopsEverySub(t *testing.T) {
	parent := newContainer(t)
	dir := t.TempDir()
	appender := func(c *Container, name string) (int, string) {
		out := dir + "/" + name
		cmd := testchild.Command(testchild.ModeAppend, out)
		start(t, c, cmd)
		testchild.Poll(t, patience, name+" to write", func() bool { return fileSize(out) > 0 })
		return cmd.Process.Pid, out
	}
	ownPid, ownOut := appender(parent, "own")
	a := newSub(t, parent, contain.Options{})
	aPid, aOut := appender(a, "a")
	aa := newSub(t, a, contain.Options{})
	aaPid, aaOut := appender(aa, "aa")
	b := newSub(t, parent, contain.Options{})
	bPid, bOut := appender(b, "b")

	// A sub's Freeze stops its tree only.
	if err := a.Freeze(killCtx(t)); err != nil {
		t.Fatal("sub Freeze:", err)
	}
	for _, p := range []int{aPid, aaPid} {
		if s := stateOf(p); s != 'T' {
			t.Fatalf("member %d of the frozen sub: state %q, want T", p, s)
		}
	}
	for _, p := range []int{ownPid, bPid} {
		if s := stateOf(p); s == 'T' {
			t.Fatalf("member %d outside the frozen sub is stopped", p)
		}
	}
	if err := a.Thaw(killCtx(t)); err != nil {
		t.Fatal("sub Thaw:", err)
	}

	if err := parent.Freeze(killCtx(t)); err != nil {
		t.Fatal("parent Freeze:", err)
	}
	outs := []string{ownOut, aOut, aaOut, bOut}
	sizes := make([]int64, len(outs))
	for i, p := range []int{ownPid, aPid, aaPid, bPid} {
		if s := stateOf(p); s != 'T' {
			t.Fatalf("member %d: state %q after the parent's Freeze, want T", p, s)
		}
		sizes[i] = fileSize(outs[i])
	}
	for range 3 {
		time.Sleep(20 * time.Millisecond)
		for i, out := range outs {
			if n := fileSize(out); n != sizes[i] {
				t.Fatalf("%s grew from %d to %d bytes after the parent's Freeze", out, sizes[i], n)
			}
		}
	}
	if err := parent.Thaw(killCtx(t)); err != nil {
		t.Fatal("parent Thaw:", err)
	}
	for i, out := range outs {
		testchild.Poll(t, patience, out+" to grow again", func() bool { return fileSize(out) > sizes[i] })
	}
}

func TestSubOfASub(t *testing.T) {
	parent := newContainer(t)
	own, _ := sleeper(t, parent)
	sub := newSub(t, parent, contain.Options{})
	mid, waitMid := sleeper(t, sub)
	deepest := newSub(t, sub, contain.Options{})
	deep, waitDeep := sleeper(t, deepest)

	wantPids(t, "parent", parent, own, mid, deep)
	wantPids(t, "sub", sub, mid, deep)
	wantPids(t, "sub's sub", deepest, deep)
	if st, err := parent.Stats(); err != nil || st.Processes != 3 {
		t.Errorf("parent Stats = %+v, %v; want 3 processes", st, err)
	}

	if err := sub.Kill(killCtx(t)); err != nil {
		t.Fatal("sub Kill:", err)
	}
	wantSignalled(t, "sub's", waitMid, syscall.SIGKILL)
	wantSignalled(t, "sub's sub's", waitDeep, syscall.SIGKILL)
	if !testchild.Alive(own) {
		t.Fatal("the parent's member died with a sub")
	}
	wantClosed(t, "sub's sub", deepest)
	wantPids(t, "parent", parent, own)
	if err := sub.Close(killCtx(t)); err != nil {
		t.Fatal("sub Close:", err)
	}
	if err := deepest.Close(killCtx(t)); err != nil {
		t.Fatal("sub's sub Close after the sub's:", err)
	}
	if n := subCount(parent); n != 0 {
		t.Errorf("parent tracks %d subs", n)
	}
}

func TestAdoptIntoSub(t *testing.T) {
	parent := newContainer(t)
	sub := newSub(t, parent, contain.Options{})
	outside := testchild.Command(testchild.ModeSleep)
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	wait := reap(t, outside, func(context.Context) error { return outside.Process.Kill() })
	if err := sub.Adopt(outside.Process.Pid); err != nil {
		t.Fatal("Adopt:", err)
	}
	wantPids(t, "parent", parent, outside.Process.Pid)
	wantPids(t, "sub", sub, outside.Process.Pid)
	if err := parent.Kill(killCtx(t)); err != nil {
		t.Fatal("parent Kill:", err)
	}
	wantSignalled(t, "adopted", wait, syscall.SIGKILL)
}

func TestSubRefusesLimitsAndAClosedParent(t *testing.T) {
	parent := newContainer(t)
	for _, l := range []contain.Limit{contain.MemoryMax(0), contain.MaxProcesses(10)} {
		s, err := parent.Sub(context.Background(), contain.Options{Limits: []contain.Limit{l}})
		var le *contain.LimitError
		if s != nil || !errors.As(err, &le) {
			t.Errorf("Sub with %v = %v, %v; want a *contain.LimitError", l, s, err)
		}
	}
	if n := subCount(parent); n != 0 {
		t.Errorf("a refused Sub left %d subs behind", n)
	}
	if err := parent.Close(killCtx(t)); err != nil {
		t.Fatal(err)
	}
	if s, err := parent.Sub(context.Background(), contain.Options{}); s != nil || !errors.Is(err, contain.ErrClosed) {
		t.Errorf("Sub after Close = %v, %v; want ErrClosed", s, err)
	}
}

// Once a sub is closed, its group id is free for the kernel to reuse: the
// parent must never visit it again. A process in a group of its own
// stands in for a stranger that was given the recycled id, and the closed
// sub's state is made to look live and holding that group, so that the
// only thing protecting the stranger is the sub's removal from the
// parent's list.
func TestClosedSubsGroupIsNeverSignalledAgain(t *testing.T) {
	parent := newContainer(t)
	own, _ := sleeper(t, parent)
	sub := newSub(t, parent, contain.Options{})
	member, _ := sleeper(t, sub)
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
	wait := reap(t, stranger, func(context.Context) error { return stranger.Process.Kill() })
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

// Subs made, started and closed while the parent is killed: each one
// either fails with ErrClosed or has its members killed, and nothing
// outlives the parent. Readers race it all.
func TestSubRacesTheParentsKill(t *testing.T) {
	for round := range 5 {
		parent := newContainer(t)
		own, _ := sleeper(t, parent)
		ctx := killCtx(t)
		var (
			mu      sync.Mutex
			started []int
			waits   []func() error
			made    atomic.Int32
		)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					s, err := parent.Sub(context.Background(), contain.Options{})
					if errors.Is(err, contain.ErrClosed) {
						return
					}
					if err != nil {
						t.Error("Sub:", err)
						return
					}
					made.Add(1)
					cmd := testchild.Command(testchild.ModeSleep)
					if err := s.Start(cmd); err != nil {
						if !errors.Is(err, contain.ErrClosed) {
							t.Error("Start:", err)
						}
						_ = s.Close(context.Background())
						return
					}
					done := make(chan error, 1)
					go func() { done <- cmd.Wait() }()
					mu.Lock()
					started = append(started, cmd.Process.Pid)
					waits = append(waits, func() error { return <-done })
					mu.Unlock()
					if (g+i)%3 == 0 {
						if err := s.Close(ctx); err != nil {
							t.Error("sub Close:", err)
						}
					}
				}
			})
		}
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = parent.Pids()
				_ = parent.Signal(syscall.SIGCONT)
			}
		})
		testchild.Poll(t, patience, "some subs to be made", func() bool { return made.Load() >= 8 })
		if err := parent.Kill(ctx); err != nil {
			t.Fatal("parent Kill:", err)
		}
		if testchild.Alive(own) {
			t.Fatal("the parent's member survived its Kill")
		}
		close(stop)
		wg.Wait()
		// A child whose Start recorded it after the Kill began was
		// killed and reaped by that Start, and is not listed; every
		// other one was killed by the Kill. A sub the Kill missed would
		// keep its member alive for good.
		mu.Lock()
		testchild.WaitDead(t, patience, started...)
		for _, w := range waits {
			_ = w()
		}
		t.Logf("round %d: %d subs made, %d children started", round, made.Load(), len(started))
		mu.Unlock()
		if err := parent.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
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
// in it, Close it) in a fresh container from New with one in a Sub of a
// long-lived parent. The machine is shared, so the two alternate within
// each iteration (taking turns to go first) and are reported as metrics
// (ns per run, and the part of it spent in Close), which cancels out
// drifting load.
func BenchmarkSpawnClose(b *testing.B) {
	ctx := context.Background()
	parent, err := New().New(ctx, contain.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer parent.Close(ctx)
	kinds := []struct {
		name string
		mk   func() (contain.Container, error)
	}{
		{"new", func() (contain.Container, error) { return New().New(ctx, contain.Options{}) }},
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
	if n := subCount(parent.(*Container)); n != 0 {
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
			cc, err := New().New(ctx, contain.Options{})
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
