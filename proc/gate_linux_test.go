//go:build linux

package proc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// The spawn gate (issue 12): a child is never created in a frozen tree,
// where it would stop before it could exec and hold the thread that
// forked it in the kernel, and with it the owner's whole runtime at its
// next garbage collection. The racy scenarios run in a helper process of
// their own (testchild.RunHelper), so that a hang is a failed test, not a
// hung `go test`.

// Helper modes of this file.
const (
	// helperSuspendRace: arguments mechanism, rounds, and "signal" or
	// "nosignal". See runSuspendRace.
	helperSuspendRace = "suspendrace"
	// helperSignalRace: arguments mechanism and number of starts. See
	// runSignalRace.
	helperSignalRace = "signalrace"
	// helperOwnGroup: argument mechanism. See runOwnGroup.
	helperOwnGroup = "owngroup"
)

func init() {
	helpers[helperSuspendRace] = runSuspendRace
	helpers[helperSignalRace] = runSignalRace
	helpers[helperOwnGroup] = runOwnGroup
}

// backendNamed returns the backend of mechanism name, or nil.
func backendNamed(name string) contain.Backend {
	for _, b := range backends() {
		if string(b.Mechanism()) == name {
			return b
		}
	}
	return nil
}

// helperFail reports a helper's failure on stderr and returns its exit
// code.
func helperFail(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	return 1
}

// runSuspendRace: a Start on a suspended group fails at once with
// ErrSuspended and spawns nothing, the garbage collector still runs, and
// after Resume a Start works. Then, for the given number of rounds,
// Suspend and Resume race two goroutines that start short runs and one
// that allocates and collects (and, with "signal", one that sends SIGCONT
// to the group): every Start succeeds or fails with ErrSuspended, and
// every run started ends with exit 0. It prints "ok starts=N refused=M".
func runSuspendRace(args []string) int {
	if len(args) != 3 {
		return 2
	}
	be := backendNamed(args[0])
	rounds, err := strconv.Atoi(args[1])
	if be == nil || err != nil {
		return 2
	}
	sleep, err1 := exec.LookPath("sleep")
	tru, err2 := exec.LookPath("true")
	if err1 != nil || err2 != nil {
		return helperFail("sleep or true not on PATH")
	}
	ctx := context.Background()
	g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: be})
	if err != nil {
		return helperFail("NewGroup: %v", err)
	}
	defer func() { _ = g.Close(ctx) }()
	if _, err := g.Start(ctx, proc.Command(sleep, "60")); err != nil {
		return helperFail("Start of the first member: %v", err)
	}
	if err := g.Suspend(ctx); err != nil {
		return helperFail("Suspend: %v", err)
	}
	began := time.Now()
	p, err := g.Start(ctx, proc.Command(tru))
	took := time.Since(began)
	var se *proc.StartError
	if p != nil || !errors.Is(err, proc.ErrSuspended) || !errors.Is(err, contain.ErrFrozen) || !errors.As(err, &se) {
		return helperFail("Start on a suspended group = %v (a run started: %v); want a *StartError matching ErrSuspended and contain.ErrFrozen", err, p != nil)
	}
	// At once: it never waits for the Resume. The bound is generous for
	// a loaded machine; the refusal itself costs a sub's mkdir and rmdir.
	if took > 2*time.Second {
		return helperFail("Start on a suspended group took %v to fail", took)
	}
	if _, err := proc.Command(tru).Runner(g).Output(ctx); !errors.Is(err, proc.ErrSuspended) {
		return helperFail("Output through the suspended group = %v, want ErrSuspended", err)
	}
	// A collection, as any allocation may start: with a child stuck
	// between fork and exec it would never return.
	runtime.GC()
	if ps, err := g.Processes(); err != nil || len(ps) != 1 {
		return helperFail("members of the suspended group after the refused starts: %v, %v; want the first one alone", ps, err)
	}
	if err := g.Resume(ctx); err != nil {
		return helperFail("Resume: %v", err)
	}
	if r, err := g.Output(ctx, proc.Command(tru)); err != nil || r.ExitCode != 0 {
		return helperFail("Output after Resume = %+v, %v", r, err)
	}

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		starts   atomic.Int64
		refused  atomic.Int64
		mu       sync.Mutex
		runs     []*proc.RunningProcess
		failures []error
	)
	failed := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	wg.Go(func() { allocate(stop) })
	for range 2 {
		wg.Go(func() {
			for !stopped() {
				p, err := g.Start(ctx, proc.Command(tru))
				switch {
				case err == nil:
					starts.Add(1)
					mu.Lock()
					runs = append(runs, p)
					mu.Unlock()
				case errors.Is(err, proc.ErrSuspended):
					refused.Add(1)
					time.Sleep(100 * time.Microsecond) // on 2 cores, a spinning refusal starves the rest
				default:
					failed(fmt.Errorf("Start: %w", err))
					return
				}
			}
		})
	}
	if args[2] == "signal" {
		wg.Go(func() {
			for !stopped() {
				if err := g.Signal(syscall.SIGCONT); err != nil {
					failed(fmt.Errorf("Signal: %w", err))
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	for i := range rounds {
		if err := g.Suspend(ctx); err != nil {
			failed(fmt.Errorf("Suspend in round %d: %w", i, err))
			break
		}
		time.Sleep(time.Duration(i%3) * time.Millisecond)
		if err := g.Resume(ctx); err != nil {
			failed(fmt.Errorf("Resume in round %d: %w", i, err))
			break
		}
		time.Sleep(time.Duration(i%2) * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		return helperFail("%v", errors.Join(failures...))
	}
	for _, p := range runs {
		if r, err := p.Wait(ctx); err != nil || r.ExitCode != 0 {
			return helperFail("run %d = %+v, %v; want exit 0", p.Pid(), r, err)
		}
	}
	fmt.Printf("ok starts=%d refused=%d\n", starts.Load(), refused.Load())
	return 0
}

// allocate allocates and collects until stop is closed.
func allocate(stop <-chan struct{}) {
	var keep [][]byte
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Millisecond):
		}
		keep = append(keep, make([]byte, 64<<10))
		if len(keep) > 64 {
			keep = keep[:0]
		}
		if i%10 == 0 {
			runtime.GC()
		}
	}
}

// runSignalRace starts n runs of sleep(1) one after another while one
// goroutine sends SIGUSR1 to the whole group in a loop and another
// allocates and collects. Every Start must succeed (a Signal holds the
// spawn gate only for a moment: a Start waits for it, it never fails),
// and every run that was a member when a Signal began must have died of
// SIGUSR1 (its default action): a Start that returned before a Signal
// began made a member that Signal must reach. It prints "ok starts=N
// signals=S signalled=K".
func runSignalRace(args []string) int {
	if len(args) != 2 {
		return 2
	}
	be := backendNamed(args[0])
	n, err := strconv.Atoi(args[1])
	if be == nil || err != nil {
		return 2
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return helperFail("sleep not on PATH")
	}
	ctx := context.Background()
	g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: be})
	if err != nil {
		return helperFail("NewGroup: %v", err)
	}
	defer func() { _ = g.Close(ctx) }()

	// seq orders Start returns and Signal beginnings; covered is the
	// largest seq at which a Signal that then succeeded began.
	var seq, covered, signals atomic.Int64
	var sigErr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { allocate(stop) })
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			at := seq.Add(1)
			if err := g.Signal(syscall.SIGUSR1); err != nil {
				sigErr = err
				return
			}
			signals.Add(1)
			covered.Store(at) // this goroutine alone stores, in increasing order
		}
	})
	type member struct {
		p  *proc.RunningProcess
		at int64
	}
	var members []member
	var startErr error
	for range n {
		p, err := g.Start(ctx, proc.Command(sleep, "60"))
		if err != nil {
			startErr = err
			break
		}
		members = append(members, member{p, seq.Add(1)})
	}
	close(stop)
	wg.Wait()
	if startErr != nil {
		return helperFail("Start racing Signal: %v", startErr)
	}
	if sigErr != nil {
		return helperFail("Signal racing Start: %v", sigErr)
	}
	last := covered.Load()
	signalled := 0
	for _, m := range members {
		if m.at > last {
			continue // no Signal began after it was a member
		}
		wctx, cancel := context.WithTimeout(ctx, testchild.Patience)
		r, err := m.p.Wait(wctx)
		cancel()
		if r == nil || r.Signal != "SIGUSR1" {
			return helperFail("member %d (seq %d, last signal began at %d) = %+v, %v; want killed by SIGUSR1", m.p.Pid(), m.at, last, r, err)
		}
		signalled++
	}
	fmt.Printf("ok starts=%d signals=%d signalled=%d\n", len(members), signals.Load(), signalled)
	return 0
}

// runOwnGroup runs a child that sends SIGTERM to its own process group
// (kill(0, SIGTERM), the "trap 'kill 0' EXIT" idiom) and prints the run's
// outcome and signal, then "alive": the owner, the helper itself, must
// not have been in that group.
func runOwnGroup(args []string) int {
	if len(args) != 1 {
		return 2
	}
	be := backendNamed(args[0])
	if be == nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), testchild.Patience)
	defer cancel()
	r, err := script("killgroup", strconv.Itoa(int(syscall.SIGTERM)), "block").Backend(be).Output(ctx)
	if r == nil {
		return helperFail("Output: %v", err)
	}
	fmt.Printf("%s %s\n", r.Outcome, r.Signal)
	time.Sleep(50 * time.Millisecond) // a signal to our group would have landed by now
	fmt.Println("alive")
	return 0
}

// A Start on a suspended group fails at once with ErrSuspended, spawning
// nothing, and the owner's runtime keeps running (it hung at its next
// garbage collection before the gate: the child was cloned into the
// frozen cgroup and stopped before exec); after Resume a Start works, and
// Start, Suspend and Resume racing for 50 rounds neither hang nor fail.
func TestGroupStartOnSuspendedGroupFailsAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		// The limit only tells a hang (which never ends) from slowness: in
		// the systemd VM, under qemu's emulation on a loaded host, the
		// races take tens of seconds.
		out := testchild.RunHelper(t, 12*patience, helperSuspendRace, string(b.Mechanism()), "50", "nosignal")
		if !strings.HasPrefix(out, "ok ") {
			t.Fatalf("helper said %q", out)
		}
		t.Log(strings.TrimSpace(out))
	})
}

// Starts racing a Signal loop on the group neither hang (a Signal freezes
// a cgroup while it lists the members; a clone3 into it then hung the
// owner) nor fail, and every run that was a member when a Signal began
// got that signal.
func TestGroupStartsRacingSignalAllGetTheSignal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		// As above: 300 starts took over a minute as a user in the
		// systemd VM (emulated, on a loaded host); a hang never ends.
		out := testchild.RunHelper(t, 18*patience, helperSignalRace, string(b.Mechanism()), "300")
		if !strings.HasPrefix(out, "ok ") {
			t.Fatalf("helper said %q", out)
		}
		t.Log(strings.TrimSpace(out))
	})
}

// Every child leads a process group of its own: a child that signals its
// group (kill(0, SIGTERM)) kills itself, not its owner, and the run
// reports the SIGTERM. Before this, under cgroupv2 the child shared its
// owner's group, and the owner died with it (exit 143).
func TestChildSignallingItsGroupLeavesTheOwnerAlive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		out := testchild.RunHelper(t, 3*patience, helperOwnGroup, string(b.Mechanism()))
		if want := "signaled SIGTERM\nalive\n"; out != want {
			t.Fatalf("owner said %q, want %q", out, want)
		}
	})
}

// The child's process group id is its own pid, on every backend.
func TestChildLeadsItsOwnProcessGroup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("block").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := unix.Getpgid(p.Pid())
		if kerr := p.Kill(ctx); kerr != nil {
			t.Error(kerr)
		}
		if err != nil || pg != p.Pid() {
			t.Fatalf("child %d: pgid %d, %v; want its own pid", p.Pid(), pg, err)
		}
		if own, _ := unix.Getpgid(0); pg == own {
			t.Fatalf("child shares the test's process group %d", own)
		}
	})
}

// The stress tier's frozen-group race: 1,000 rounds of Suspend and Resume
// against two starters, a loop sending SIGCONT to the group and one that
// allocates and collects.
func TestStressFrozenGroupRace(t *testing.T) {
	stressOnly(t)
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		out := testchild.RunHelper(t, 30*patience, helperSuspendRace, string(b.Mechanism()), "1000", "signal")
		if !strings.HasPrefix(out, "ok ") {
			t.Fatalf("helper said %q", out)
		}
		t.Log(strings.TrimSpace(out))
	})
}
