package proc_test

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
	"github.com/gotether/tether/retry"
)

// newGroup makes a group on b that the test closes at its end.
func newGroup(t *testing.T, b contain.Backend) *proc.Group {
	t.Helper()
	g, err := proc.NewGroup(ctxFor(t, patience), proc.GroupOptions{Backend: b})
	if err != nil {
		t.Fatal("NewGroup:", err)
	}
	t.Cleanup(func() {
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Error("Close:", err)
		}
	})
	return g
}

// startTree starts, in g, a script child with a grandchild holding its
// stdout, and returns the handle and both pids.
func startTree(t *testing.T, g *proc.Group, c *proc.Cmd) (*proc.RunningProcess, testchild.Tree) {
	t.Helper()
	pidfile := filepath.Join(testchild.TempDir(t), "pids")
	if c == nil {
		c = script("hold", "pids", pidfile, "block")
	} else {
		c = c.WithArgs(append(c.Args(), "hold", "pids", pidfile, "block")...)
	}
	p, err := g.Start(ctxFor(t, patience), c)
	if err != nil {
		t.Fatal("Start:", err)
	}
	tr := testchild.ReadPidFile(t, pidfile, patience)
	if len(tr) != 2 {
		t.Fatalf("pid file: %v", tr)
	}
	return p, tr
}

// tryStartTree is startTree for a command that may end (its timeout)
// before its tree is set up: ok is false then.
func tryStartTree(t *testing.T, g *proc.Group, c *proc.Cmd) (*proc.RunningProcess, testchild.Tree, bool) {
	t.Helper()
	pidfile := filepath.Join(testchild.TempDir(t), "pids")
	c = c.WithArgs(append(c.Args(), "hold", "pids", pidfile, "block")...)
	p, err := g.Start(ctxFor(t, patience), c)
	if err != nil {
		t.Fatal("Start:", err)
	}
	for {
		if tr := testchild.TryReadPidFile(t, pidfile); len(tr) == 2 {
			return p, tr, true
		}
		select {
		case <-p.Done():
			if tr := testchild.TryReadPidFile(t, pidfile); len(tr) == 2 {
				return p, tr, true
			}
			return p, nil, false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestGroupRunsShareTheGroupAndEachKeepsItsOwnTree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		if g.Mechanism() != b.Mechanism() {
			t.Fatalf("Mechanism = %v, want %v", g.Mechanism(), b.Mechanism())
		}
		pa, a := startTree(t, g, nil)
		pb, bt := startTree(t, g, nil)
		procs, err := g.Processes()
		if err != nil {
			t.Fatal("Processes:", err)
		}
		var listed []int
		for _, p := range procs {
			listed = append(listed, p.Pid)
			if p.Known && (p.StartTime.IsZero() || p.Name == "") {
				t.Errorf("member %+v lacks its details", p)
			}
		}
		for _, pid := range append(a.Pids(), bt.Pids()...) {
			if !slices.Contains(listed, pid) {
				t.Errorf("pid %d not listed by Processes %v", pid, listed)
			}
		}
		if pa.Mechanism() != b.Mechanism() {
			t.Errorf("run mechanism %v", pa.Mechanism())
		}

		// Kill of one run ends its tree only.
		if err := pa.Kill(ctxFor(t, patience)); err != nil {
			t.Fatal("Kill:", err)
		}
		testchild.WaitDead(t, patience, a.Pids()...)
		for _, pid := range bt.Pids() {
			if !testchild.Alive(pid) {
				t.Errorf("pid %d of the other run died with the first", pid)
			}
		}
		st, err := g.Stats()
		if err != nil {
			t.Fatal("Stats:", err)
		}
		if st.Processes != 2 {
			t.Errorf("Stats.Processes = %d after one run was killed, want 2", st.Processes)
		}
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Fatal("Close:", err)
		}
		testchild.WaitDead(t, patience, bt.Pids()...)
		select {
		case <-pb.Done():
		default:
			t.Error("a run's Result is not ready when Close returns")
		}
		if r, _ := pb.Wait(ctxFor(t, patience)); r.Outcome != proc.Signaled {
			t.Errorf("run ended by Close: outcome %v, want Signaled", r.Outcome)
		}
	})
}

func TestGroupRunTimeoutEndsOnlyThatRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		_, other := startTree(t, g, nil)
		// The run must outlive the setting up of its tree: a timeout that
		// fires first (a loaded machine) leaves no pid file to read, so
		// the tree is started with a timeout that grows until it does.
		var p *proc.RunningProcess
		var tr testchild.Tree
		for timeout := 300 * time.Millisecond; ; timeout *= 4 {
			var ok bool
			if p, tr, ok = tryStartTree(t, g, script().Timeout(timeout)); ok || timeout > 10*time.Second {
				break
			}
			t.Logf("the tree was not set up within its %v timeout; again with a longer one", timeout)
		}
		r, err := p.Wait(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != proc.TimedOut {
			t.Fatalf("outcome %v, want TimedOut", r.Outcome)
		}
		testchild.WaitDead(t, patience, tr.Pids()...)
		for _, pid := range other.Pids() {
			if !testchild.Alive(pid) {
				t.Errorf("pid %d of another run died with the timed-out run", pid)
			}
		}
		// The group lives on: a new run works.
		out, err := g.Output(ctxFor(t, patience), script("out", "again"))
		if err != nil || out.StdoutText() != "again" {
			t.Fatalf("run after a timeout: %v %+v", err, out)
		}
	})
}

func TestGroupHonoursTheCmd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		r, err := g.Output(ctxFor(t, patience), script("cat", "err", "e").StdinString("in put"))
		if err != nil {
			t.Fatal(err)
		}
		if r.StdoutText() != "in put" || r.StderrText() != "e" || r.Mechanism != b.Mechanism() {
			t.Errorf("stdout %q stderr %q mechanism %v", r.StdoutText(), r.StderrText(), r.Mechanism)
		}
		// Retry through the group as a Runner: every attempt a fresh run
		// in the group.
		counter := filepath.Join(testchild.TempDir(t), "count")
		pol := retry.Policy{MaxAttempts: 3, Backoff: retry.Constant{Interval: time.Millisecond}, Retryable: retry.ExitCodes(75)}
		out, err := script("failuntil", counter, "3", "out", "ok").Retry(pol).Runner(g).Run(ctxFor(t, patience))
		if err != nil || out != "ok" {
			t.Fatalf("retried run in group: %q %v", out, err)
		}
		// Streaming.
		p, err := g.Start(ctxFor(t, patience), script("lines", "3"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for l := range p.StdoutLines() {
			got = append(got, l.Text)
		}
		if len(got) != 3 {
			t.Errorf("streamed lines %q", got)
		}
		if _, err := p.Wait(ctxFor(t, patience)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGroupCloseKillsEverythingAndIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g, err := proc.NewGroup(ctxFor(t, patience), proc.GroupOptions{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		var pids []int
		for range 3 {
			_, tr := startTree(t, g, nil)
			pids = append(pids, tr.Pids()...)
		}
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Fatal("Close:", err)
		}
		testchild.WaitDead(t, patience, pids...)
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Fatal("second Close:", err)
		}
		_, err = g.Start(ctxFor(t, patience), script("out", "x"))
		if !errors.Is(err, proc.ErrClosed) {
			t.Fatalf("Start after Close: %v, want ErrClosed", err)
		}
		if _, err := g.Adopt(ctxFor(t, patience), pids[0]); !errors.Is(err, proc.ErrClosed) {
			t.Fatalf("Adopt after Close: %v, want ErrClosed", err)
		}
	})
}

// A Start racing Close either fails with ErrClosed or its tree is dead
// when Close returns.
func TestGroupStartRacingClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g, err := proc.NewGroup(ctxFor(t, patience), proc.GroupOptions{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		var started []*proc.RunningProcess
		firstFew := make(chan struct{}, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					p, err := g.Start(context.Background(), script("block"))
					if err != nil {
						if !errors.Is(err, proc.ErrClosed) {
							t.Errorf("Start racing Close: %v", err)
						}
						return
					}
					mu.Lock()
					started = append(started, p)
					mu.Unlock()
					select {
					case firstFew <- struct{}{}:
					default:
					}
				}
			}()
		}
		// Close while the starters are busy: after a few have succeeded.
		for range 3 {
			<-firstFew
		}
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Fatal("Close:", err)
		}
		mu.Lock()
		snapshot := slices.Clone(started)
		mu.Unlock()
		for _, p := range snapshot {
			if testchild.Alive(p.Pid()) {
				t.Errorf("pid %d started before Close returned is alive after it", p.Pid())
			}
		}
		wg.Wait()
		for _, p := range started {
			if testchild.Alive(p.Pid()) {
				t.Errorf("pid %d whose Start succeeded is alive after Close", p.Pid())
			}
			if _, err := p.Wait(ctxFor(t, patience)); err != nil {
				t.Error(err)
			}
		}
		t.Logf("%d starts succeeded before Close won", len(started))
	})
}

func TestGroupSignalReachesEveryRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no signal but kill to send to a group")
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		ready := filepath.Join(testchild.TempDir(t), "ready")
		var ps []*proc.RunningProcess
		for i := range 3 {
			f := ready + strconv.Itoa(i)
			p, err := g.Start(ctxFor(t, patience), script("onterm", "bye", "pids", f, "block"))
			if err != nil {
				t.Fatal(err)
			}
			testchild.ReadPidFile(t, f, patience)
			ps = append(ps, p)
		}
		if err := g.Signal(graceSignal()); err != nil {
			t.Fatal("Signal:", err)
		}
		rs, err := proc.WaitAll(ctxFor(t, patience), ps...)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if r.StdoutText() != "bye" || r.Outcome != proc.Exited {
				t.Errorf("run %d: %v %q", i, r.Outcome, r.StdoutText())
			}
		}
	})
}

func TestGroupStatsSampler(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		startTree(t, g, nil)
		ctx, cancel := context.WithCancel(ctxFor(t, patience))
		n := 0
		for s := range g.Samples(ctx, 5*time.Millisecond) {
			if s.Err != nil {
				t.Fatal(s.Err)
			}
			if s.Stats.Processes != 2 {
				t.Errorf("sample %d: %d processes, want 2", n, s.Stats.Processes)
			}
			if n++; n == 3 {
				cancel()
			}
		}
		if n != 3 {
			t.Errorf("sampler yielded %d samples after its context ended at 3", n)
		}
		cancel()

		// A sampler also stops when the group closes.
		n = 0
		for range g.Samples(ctxFor(t, patience), time.Millisecond) {
			if n++; n == 2 {
				if err := g.Close(ctxFor(t, patience)); err != nil {
					t.Fatal(err)
				}
			}
			if n > 3 {
				t.Fatal("sampler goes on after Close")
			}
		}
	})
}

func TestGroupShutdownReportsDrainAndEscalation(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no graceful signal: Shutdown escalates at once (TestGroupShutdownWindowsEscalates)")
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		t.Run("drained", func(t *testing.T) {
			g := newGroup(t, b)
			f := filepath.Join(testchild.TempDir(t), "p")
			if _, err := g.Start(ctxFor(t, patience), script("onterm", "bye", "pids", f, "block")); err != nil {
				t.Fatal(err)
			}
			testchild.ReadPidFile(t, f, patience)
			rep, err := g.Shutdown(ctxFor(t, patience), patience)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Signalled || rep.Before != 1 || rep.After != 0 || !rep.Drained || rep.Escalated {
				t.Errorf("report %+v", rep)
			}
		})
		t.Run("escalated", func(t *testing.T) {
			g := newGroup(t, b)
			f := filepath.Join(testchild.TempDir(t), "p")
			if _, err := g.Start(ctxFor(t, patience), script("ignoreterm", "hold", "pids", f, "block")); err != nil {
				t.Fatal(err)
			}
			tr := testchild.ReadPidFile(t, f, patience)
			const grace = 200 * time.Millisecond
			rep, err := g.Shutdown(ctxFor(t, patience), grace)
			if err != nil {
				t.Fatal(err)
			}
			// The child ignores SIGTERM and stays; its holder may or may
			// not have finished dying of it within the grace.
			if !rep.Signalled || rep.Before != 2 || rep.After < 1 || rep.After > 2 || rep.Drained || !rep.Escalated || rep.Elapsed < grace {
				t.Errorf("report %+v", rep)
			}
			testchild.WaitDead(t, patience, tr.Pids()...)
		})
	})
}

func TestGroupAdopt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		cmd := testchild.Command(testchild.ModeSleep)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wait := testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
		a, err := g.Adopt(ctxFor(t, patience), cmd.Process.Pid)
		if err != nil {
			t.Fatal("Adopt:", err)
		}
		wantAlone := b.Mechanism() == contain.PGID
		if a.Pid != cmd.Process.Pid || a.Mechanism != b.Mechanism() || a.Alone != wantAlone || a.Descendants == wantAlone {
			t.Errorf("adoption %+v", a)
		}
		procs, err := g.Processes()
		if err != nil || len(procs) != 1 || procs[0].Pid != cmd.Process.Pid {
			t.Errorf("Processes after Adopt: %+v %v", procs, err)
		}
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Fatal(err)
		}
		_ = wait()
		testchild.WaitDead(t, patience, cmd.Process.Pid)

		g2 := newGroup(t, b)
		if _, err := g2.Adopt(ctxFor(t, patience), cmd.Process.Pid); !errors.Is(err, contain.ErrNoSuchProcess) {
			t.Errorf("Adopt of a dead pid: %v, want ErrNoSuchProcess", err)
		}
		if _, err := g2.Adopt(ctxFor(t, patience), os.Getpid()); err == nil {
			t.Error("Adopt of the calling process succeeded")
		}
	})
}

func TestWaitAnyAndWaitAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		slow, err := g.Start(ctxFor(t, patience), script("block"))
		if err != nil {
			t.Fatal(err)
		}
		fast, err := g.Start(ctxFor(t, patience), script("out", "fast"))
		if err != nil {
			t.Fatal(err)
		}
		i, r, err := proc.WaitAny(ctxFor(t, patience), slow, fast)
		if err != nil || i != 1 || r.StdoutText() != "fast" {
			t.Fatalf("WaitAny = %d %v %v", i, r, err)
		}
		short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := proc.WaitAll(short, slow, fast); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitAll with an expiring context: %v", err)
		}
		if !testchild.Alive(slow.Pid()) {
			t.Fatal("WaitAll's context ending killed a process")
		}
		if err := slow.Kill(ctxFor(t, patience)); err != nil {
			t.Fatal(err)
		}
		rs, err := proc.WaitAll(ctxFor(t, patience), slow, fast)
		if err != nil || rs[0].Outcome != proc.Signaled || rs[1].StdoutText() != "fast" {
			t.Fatalf("WaitAll = %v %v", rs, err)
		}
		if _, _, err := proc.WaitAny(ctxFor(t, patience)); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("WaitAny of nothing: %v", err)
		}
	})
}

func TestOutputAllKeepsInputOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		var cmds []*proc.Cmd
		for i := range 8 {
			// Later commands finish first.
			cmds = append(cmds, script("sleep", strconv.Itoa((8-i)*5)+"ms", "out", strconv.Itoa(i), "exit", strconv.Itoa(i%2)).Runner(g))
		}
		cmds = append(cmds, proc.Command(filepath.Join(testchild.TempDir(t), "missing")).Runner(g))
		rs, err := proc.OutputAll(ctxFor(t, patience), cmds, 3)
		var ie *proc.IndexedError
		if !errors.As(err, &ie) || ie.Index != 8 || !errors.Is(err, proc.ErrNotFound) {
			t.Fatalf("OutputAll error %v, want the missing program at index 8", err)
		}
		for i, r := range rs[:8] {
			if r == nil || r.StdoutText() != strconv.Itoa(i) || r.ExitCode != i%2 {
				t.Errorf("result %d: %+v", i, r)
			}
		}
		if rs[8] != nil {
			t.Errorf("result of a start failure: %+v", rs[8])
		}
	})
}

func TestOutputEachStopsEarlyAndKillsTheRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		g := newGroup(t, b)
		dir := testchild.TempDir(t)
		cmds := []*proc.Cmd{script("out", "first").Runner(g)}
		for i := range 5 {
			cmds = append(cmds, script("pids", filepath.Join(dir, strconv.Itoa(i)), "block").Runner(g))
		}
		began := time.Now()
		var got []int
		for c := range proc.OutputEach(ctxFor(t, patience), cmds, 3) {
			got = append(got, c.Index)
			if c.Err != nil || c.Result.StdoutText() != "first" {
				t.Fatalf("first completion %+v", c)
			}
			break
		}
		if len(got) != 1 || got[0] != 0 {
			t.Fatalf("completions %v", got)
		}
		// The blocked runs were killed before the loop returned, and the
		// unstarted ones never ran. With 3 at once, blocked commands 0
		// and 1 start beside the first command, and 2 may start in the
		// slot the first one frees before the consumer has stopped (seen
		// in the VM); 3 and 4 can never start.
		procs, err := g.Processes()
		if err != nil || len(procs) != 0 {
			t.Fatalf("members after the loop: %+v %v", procs, err)
		}
		var ran []int
		for i := range 5 {
			if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(i))); err == nil {
				ran = append(ran, i)
			}
		}
		if len(ran) > 0 && ran[len(ran)-1] > 2 {
			t.Errorf("blocked commands %v ran; only 0, 1 and 2 could have started", ran)
		}
		if d := time.Since(began); d > patience {
			t.Errorf("stopping early took %v", d)
		}
	})
}

func TestOutputEachYieldsEveryCommandWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cmds := []*proc.Cmd{script("out", "a"), script("out", "b"), script("out", "c")}
	n := 0
	for c := range proc.OutputEach(ctx, cmds, 1) {
		n++
		if !errors.Is(c.Err, proc.ErrCancelled) || c.Result != nil {
			t.Errorf("completion %+v, want cancelled and never started", c)
		}
	}
	if n != 3 {
		t.Errorf("%d completions, want 3", n)
	}
}

func TestDetachRefusesWhatNeedsAnOwner(t *testing.T) {
	for name, c := range map[string]*proc.Cmd{
		"timeout": script("out", "x").Timeout(time.Second),
		"stdin":   script("out", "x").StdinString("in"),
		"capture": script("out", "x").Stdout(proc.Capture()),
		"tee":     script("out", "x").Stderr(proc.Tee(&strings.Builder{})),
		"retry":   script("out", "x").Retry(retry.Policy{MaxAttempts: 2}),
		"limits":  script("out", "x").Limits(contain.MaxProcesses(3)),
		"idle":    script("out", "x").IdleTimeout(time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			pid, err := proc.Detach(ctxFor(t, patience), c)
			if !errors.Is(err, proc.ErrUnsupported) || pid != 0 {
				t.Fatalf("Detach = %d, %v; want ErrUnsupported", pid, err)
			}
		})
	}
}

func TestDetachedProcessOutlivesItsStarter(t *testing.T) {
	f := filepath.Join(testchild.TempDir(t), "pids")
	pid, err := proc.Detach(ctxFor(t, patience), script("pids", f, "block"))
	if err != nil {
		t.Fatal(err)
	}
	tr := testchild.ReadPidFile(t, f, patience)
	if tr["child"] != pid {
		t.Fatalf("pid %d, file %v", pid, tr)
	}
	t.Cleanup(func() {
		testchild.KillPids(pid)
		testchild.WaitDead(t, patience, pid)
	})
	// In no container: no group or run of ours lists it, and it runs in a
	// session of its own.
	if err := checkDetached(pid); err != nil {
		t.Error(err)
	}
}
