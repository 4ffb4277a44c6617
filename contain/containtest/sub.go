package containtest

import (
	"errors"
	"os"
	"os/exec"
	"sync"

	"github.com/gotether/tether/contain"
)

// testSubMembers: a sub's members are its parent's too (listed and
// counted), the parent's own are not the sub's, and a sub has the
// parent's mechanism.
func testSubMembers(r *run) {
	p := r.newContainer(contain.Options{})
	own := r.sleeper(p)
	s := r.newSub(p, contain.Options{})
	if s.Mechanism() != r.b.Mechanism() {
		r.t.Errorf("sub Mechanism = %q, want %q", s.Mechanism(), r.b.Mechanism())
	}
	tr, _ := r.startTree(s)
	members := tr.contained(r.a)
	r.wantPids("parent", p, append(members, own.pid)...)
	r.wantPids("sub", s, members...)
	if st, err := p.Stats(); err != nil || st.Processes != len(members)+1 {
		r.t.Errorf("parent Stats = %+v, %v; want %d processes", st, err, len(members)+1)
	}
	if st, err := s.Stats(); err != nil || st.Processes != len(members) {
		r.t.Errorf("sub Stats = %+v, %v; want %d processes", st, err, len(members))
	}
}

// testSubKill: a sub's Kill reaches its tree alone; the parent and a
// sibling keep their members and take new ones; the killed sub takes
// nothing new, and its Close succeeds.
func testSubKill(r *run) {
	p := r.newContainer(contain.Options{})
	own := r.sleeper(p)
	s1 := r.newSub(p, contain.Options{})
	s2 := r.newSub(p, contain.Options{})
	tr, ch := r.startTree(s1)
	sib := r.sleeper(s2)
	if err := s1.Kill(r.ctx()); err != nil {
		r.t.Fatalf("sub Kill: %v", err)
	}
	r.deadNow("the sub's tree after its Kill", tr.contained(r.a)...)
	if err := ch.wait(); !killedBy(err, os.Kill) {
		r.t.Errorf("the sub's child: Wait = %v, want killed", err)
	}
	r.aliveNow("the parent's and the sibling's members after a sub's Kill", own.pid, sib.pid)
	r.wantPids("parent after a sub's Kill", p, own.pid, sib.pid)
	r.wantPids("killed sub", s1)
	r.wantRefused("killed sub", s1, contain.ErrClosed)
	_, err := s1.Sub(r.ctx(), contain.Options{})
	r.wantErr("killed sub's Sub", err, contain.ErrClosed)
	r.exitIn("the parent after a sub's Kill", p, 0)
	r.exitIn("the sibling after a sub's Kill", s2, 0)
	r.exitIn("a new sub after a sub's Kill", r.newSub(p, contain.Options{}), 0)
	if err := s1.Close(r.ctx()); err != nil {
		r.t.Errorf("killed sub's Close: %v", err)
	}
	r.wantPids("parent after the killed sub's Close", p, own.pid, sib.pid)
}

// testSubParentKill: the parent's Kill kills every sub at every depth,
// and is terminal for all of them.
func testSubParentKill(r *run) {
	p := r.newContainer(contain.Options{})
	own := r.sleeper(p)
	s1 := r.newSub(p, contain.Options{})
	s2 := r.newSub(p, contain.Options{})
	s2a := r.newSub(s2, contain.Options{})
	tr, ch := r.startTree(s1)
	mid := r.sleeper(s2)
	deep := r.sleeper(s2a)
	if err := p.Kill(r.ctx()); err != nil {
		r.t.Fatalf("parent Kill: %v", err)
	}
	r.deadNow("after the parent's Kill", append(tr.contained(r.a), own.pid, mid.pid, deep.pid)...)
	for name, w := range map[string]func() error{"own": own.wait, "sub's": ch.wait, "sub with a sub's": mid.wait, "sub of a sub's": deep.wait} {
		if err := w(); !killedBy(err, os.Kill) {
			r.t.Errorf("%s child: Wait = %v, want killed", name, err)
		}
	}
	for _, x := range []struct {
		name string
		c    contain.Container
	}{{"parent", p}, {"sub", s1}, {"sub with a sub", s2}, {"sub of a sub", s2a}} {
		r.wantClosed(x.name+" after the parent's Kill", x.c)
		if err := x.c.Kill(r.ctx()); err != nil {
			r.t.Errorf("%s: Kill after the parent's Kill = %v, want nil", x.name, err)
		}
		if pids, err := x.c.Pids(); (err != nil && !errors.Is(err, contain.ErrClosed)) || len(pids) != 0 {
			r.t.Errorf("%s: Pids after the parent's Kill = %v, %v; want none", x.name, pids, err)
		}
	}
}

// testSubParentClose: the parent's Close kills and releases every sub
// never closed; their own Close then returns nil, and they are closed.
func testSubParentClose(r *run) {
	p := r.newContainer(contain.Options{})
	s1 := r.newSub(p, contain.Options{})
	s2 := r.newSub(p, contain.Options{})
	s2a := r.newSub(s2, contain.Options{})
	tr, _ := r.startTree(s2a)
	a := r.sleeper(s1)
	b := r.sleeper(s2)
	if err := p.Close(r.ctx()); err != nil {
		r.t.Fatalf("parent Close: %v", err)
	}
	r.deadNow("after the parent's Close", append(tr.contained(r.a), a.pid, b.pid)...)
	for _, x := range []struct {
		name string
		c    contain.Container
	}{{"sub", s1}, {"sub with a sub", s2}, {"sub of a sub", s2a}} {
		for i := range 2 {
			if err := x.c.Close(r.ctx()); err != nil {
				r.t.Errorf("%s: Close #%d after the parent's Close = %v, want nil", x.name, i+1, err)
			}
		}
		r.wantClosed(x.name+" after the parent's Close", x.c)
		if pids, err := x.c.Pids(); (err != nil && !errors.Is(err, contain.ErrClosed)) || len(pids) != 0 {
			r.t.Errorf("%s: Pids after the parent's Close = %v, %v; want ErrClosed or none", x.name, pids, err)
		}
	}
	_, err := p.Sub(r.ctx(), contain.Options{})
	r.wantErr("closed parent's Sub", err, contain.ErrClosed)
}

// testSubOfSub: subs nest: a sub of a sub's members are members of both
// ancestors; its Kill leaves its parent's members and a sibling alone;
// closing the middle sub kills its members and its own sub's, whose
// Close then returns nil; the top container is untouched.
func testSubOfSub(r *run) {
	p := r.newContainer(contain.Options{})
	s := r.newSub(p, contain.Options{})
	sib := r.newSub(p, contain.Options{})
	ss := r.newSub(s, contain.Options{})
	tr, _ := r.startTree(ss)
	mid := r.sleeper(s)
	other := r.sleeper(sib)
	deep := tr.contained(r.a)
	r.wantPids("top", p, append(deep, mid.pid, other.pid)...)
	r.wantPids("sub", s, append(deep, mid.pid)...)
	r.wantPids("sub of a sub", ss, deep...)
	if err := ss.Kill(r.ctx()); err != nil {
		r.t.Fatalf("sub of a sub's Kill: %v", err)
	}
	r.deadNow("the sub of a sub's tree after its Kill", deep...)
	r.aliveNow("its parent's and their sibling's members", mid.pid, other.pid)
	ss2 := r.newSub(s, contain.Options{})
	deep2 := r.sleeper(ss2)
	if err := s.Close(r.ctx()); err != nil {
		r.t.Fatalf("middle sub's Close: %v", err)
	}
	r.deadNow("the middle sub's members after its Close", mid.pid, deep2.pid)
	r.aliveNow("the sibling's member after the middle sub's Close", other.pid)
	for name, c := range map[string]contain.Container{"killed sub of a sub": ss, "open sub of a sub": ss2} {
		if err := c.Close(r.ctx()); err != nil {
			r.t.Errorf("%s: Close after its parent's Close = %v, want nil", name, err)
		}
		r.wantRefused(name+" after its parent's Close", c, contain.ErrClosed)
	}
	r.wantPids("top", p, other.pid)
	r.exitIn("the top container", p, 0)
}

// testSubParentSignal: the parent's Signal reaches every sub's members,
// adopted ones included, and nobody outside; after a graceful signal the
// subs still take children.
func testSubParentSignal(r *run) {
	sig := r.signal()
	p := r.newContainer(contain.Options{})
	other := r.newContainer(contain.Options{})
	s := r.newSub(p, contain.Options{})
	ss := r.newSub(s, contain.Options{})
	tr, ch := r.startTree(s)
	deep := r.sleeper(ss)
	adopted := r.outsider()
	if err := s.Adopt(adopted.pid); err != nil {
		r.t.Fatalf("sub Adopt: %v", err)
	}
	bystander := r.sleeper(other)
	if err := p.Signal(sig); err != nil {
		r.t.Fatalf("parent Signal(%v): %v", sig, err)
	}
	r.waitDead("every sub's members to die of the parent's signal", append(tr.contained(r.a), deep.pid, adopted.pid)...)
	for name, w := range map[string]func() error{"sub's": ch.wait, "sub of a sub's": deep.wait, "adopted": adopted.wait} {
		if err := w(); !killedBy(err, sig) {
			r.t.Errorf("%s child: Wait = %v, want ended by %v", name, err, sig)
		}
	}
	r.aliveNow("another container's member after the parent's Signal", bystander.pid)
	if sig != os.Kill {
		r.exitIn("a new sub of the sub of a sub after the parent's graceful Signal", r.newSub(ss, contain.Options{}), 0)
	}
}

// testSubSignal: a sub's own Signal reaches its tree (its own subs
// included) and nothing else.
func testSubSignal(r *run) {
	sig := r.signal()
	p := r.newContainer(contain.Options{})
	own := r.sleeper(p)
	a := r.newSub(p, contain.Options{})
	inA := r.sleeper(a)
	aa := r.newSub(a, contain.Options{})
	inAA := r.sleeper(aa)
	b := r.newSub(p, contain.Options{})
	sib := r.sleeper(b)
	if err := a.Signal(sig); err != nil {
		r.t.Fatalf("sub Signal(%v): %v", sig, err)
	}
	r.waitDead("the sub's members to die of its signal", inA.pid, inAA.pid)
	for name, w := range map[string]func() error{"sub's": inA.wait, "sub of the sub's": inAA.wait} {
		if err := w(); !killedBy(err, sig) {
			r.t.Errorf("%s child: Wait = %v, want ended by %v", name, err, sig)
		}
	}
	r.aliveNow("the parent's and the sibling's members after a sub's Signal", own.pid, sib.pid)
}

// testSubAdopt: a process adopted into a sub is a member of the sub and
// of its parent, and dies with the parent.
func testSubAdopt(r *run) {
	p := r.newContainer(contain.Options{})
	s := r.newSub(p, contain.Options{})
	o := r.outsider()
	if err := s.Adopt(o.pid); err != nil {
		r.t.Fatalf("sub Adopt: %v", err)
	}
	r.wantPids("sub", s, o.pid)
	r.wantPids("parent", p, o.pid)
	r.killAdopted("the parent's Kill", p, o)
}

// testSubLimits: Sub checks limits as NewContainer does: invalid ones fail
// with ErrInvalidLimit, unenforceable ones with ErrUnsupported, and a
// refused Sub leaves nothing in the parent.
func testSubLimits(r *run) {
	p := r.newContainer(contain.Options{})
	sub := func(o contain.Options) (contain.Container, error) { return p.Sub(r.ctx(), o) }
	checkInvalid(r, "Sub", sub)
	checkUnenforceable(r, "Sub", sub)
	r.wantPids("parent after the refused Subs", p)
	// Through a sub: a parent that delegated controllers to a sub's
	// limits may hold no process of its own (cgroup v2).
	r.exitIn("a sub of the parent after the refused Subs", r.newSub(p, contain.Options{}), 0)
}

// testSubOfClosed: a killed or closed container makes no sub, and a sub
// of a parent killed while both were empty is killed too.
func testSubOfClosed(r *run) {
	killed := r.newContainer(contain.Options{})
	if err := killed.Kill(r.ctx()); err != nil {
		r.t.Fatalf("Kill: %v", err)
	}
	_, err := killed.Sub(r.ctx(), contain.Options{})
	r.wantErr("Sub of a killed container", err, contain.ErrClosed)
	closed, err := r.b.NewContainer(r.ctx(), contain.Options{})
	if err != nil {
		r.t.Fatalf("NewContainer: %v", err)
	}
	if err := closed.Close(r.ctx()); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	_, err = closed.Sub(r.ctx(), contain.Options{})
	r.wantErr("Sub of a closed container", err, contain.ErrClosed)
	p := r.newContainer(contain.Options{})
	s := r.newSub(p, contain.Options{})
	if err := p.Kill(r.ctx()); err != nil {
		r.t.Fatalf("Kill of an empty parent: %v", err)
	}
	r.wantClosed("empty sub of a killed empty parent", s)
}

// testSubRaces: subs made, started and closed by several goroutines
// while the parent is killed or closed and read (Pids, Stats): every
// call either works or fails with ErrClosed, every child started dies,
// and every sub's Close returns nil afterwards.
func testSubRaces(r *run) {
	for round := range 4 {
		killFirst := round%2 == 0
		p := r.newContainer(contain.Options{})
		var (
			mu      sync.Mutex
			subs    []contain.Container
			started []*exec.Cmd
			made    int
			wg      sync.WaitGroup
			stop    = make(chan struct{})
		)
		keep := func(s contain.Container, cmd *exec.Cmd) {
			mu.Lock()
			defer mu.Unlock()
			if s != nil {
				subs = append(subs, s)
				made++
			}
			if cmd != nil {
				started = append(started, cmd)
				r.record(cmd.Process.Pid)
			}
		}
		expected := func(what string, err error) bool {
			if err == nil {
				return true
			}
			if !errors.Is(err, contain.ErrClosed) {
				r.t.Errorf("%s racing the parent's teardown = %v, want nil or ErrClosed", what, err)
			}
			return false
		}
		for g := range 3 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					s, err := p.Sub(r.ctx(), contain.Options{})
					if !expected("Sub", err) {
						return
					}
					keep(s, nil)
					switch (g + i) % 3 {
					case 0:
						if ss, err := s.Sub(r.ctx(), contain.Options{}); expected("sub's Sub", err) {
							keep(ss, nil)
						}
					case 1:
						cmd := command(modeSleep)
						if expected("Start in a sub", r.startCmd(s, cmd)) {
							keep(nil, cmd)
						}
					default:
						cmd := command(modeSleep)
						if expected("Start in a sub", r.startCmd(s, cmd)) {
							keep(nil, cmd)
						}
						expected("sub Close", s.Close(r.ctx()))
					}
				}
			})
		}
		// Readers race it all.
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = p.Pids()
				_, _ = p.Stats()
			}
		})
		r.poll("a few subs", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return made >= 6
		})
		if killFirst {
			if err := p.Kill(r.ctx()); err != nil {
				r.t.Errorf("parent Kill: %v", err)
			}
		}
		if err := p.Close(r.ctx()); err != nil {
			r.t.Errorf("parent Close: %v", err)
		}
		close(stop)
		wg.Wait()
		for _, cmd := range started {
			if err := cmd.Wait(); !killedBy(err, os.Kill) {
				r.t.Errorf("child %d of a sub: Wait = %v, want killed", cmd.Process.Pid, err)
			}
		}
		for _, s := range subs {
			if err := s.Close(r.ctx()); err != nil {
				r.t.Errorf("sub Close after the parent's = %v", err)
			}
		}
		r.t.Logf("round %d (Kill before Close: %v): %d subs, %d children", round, killFirst, made, len(started))
	}
}

// testSubClosesRace: subs closed concurrently with their parent: every
// Close returns nil and every member dies.
func testSubClosesRace(r *run) {
	for range 3 {
		p := r.newContainer(contain.Options{})
		var subs []contain.Container
		for i := range 16 {
			s, err := p.Sub(r.ctx(), contain.Options{})
			if err != nil {
				r.t.Fatalf("Sub: %v", err)
			}
			subs = append(subs, s)
			if i%4 == 0 {
				ss, err := s.Sub(r.ctx(), contain.Options{})
				if err != nil {
					r.t.Fatalf("sub's Sub: %v", err)
				}
				subs = append(subs, ss)
			}
		}
		a, b := r.sleeper(subs[0]), r.sleeper(subs[len(subs)-1])
		errs := make(chan error, len(subs)+1)
		for _, s := range subs {
			go func() { errs <- s.Close(r.ctx()) }()
		}
		go func() { errs <- p.Close(r.ctx()) }()
		for range len(subs) + 1 {
			if err := <-errs; err != nil {
				r.t.Errorf("Close racing the parent's: %v", err)
			}
		}
		r.deadNow("after every Close returned", a.pid, b.pid)
	}
}

// testSubCycles: a long-lived parent that runs each job in a sub and
// closes it keeps nothing of them: not their members, not descriptors
// (where they can be counted), not what Options.Leftovers lists.
func testSubCycles(r *run) {
	p := r.newContainer(contain.Options{})
	own := r.sleeper(p)
	cycle := func(i int) {
		s, err := p.Sub(r.ctx(), contain.Options{KillOnOwnerDeath: i%2 == 1})
		if err != nil {
			r.t.Fatalf("cycle %d: Sub: %v", i, err)
		}
		var cmd *exec.Cmd
		if i%10 == 0 {
			cmd = command(modeSleep)
			if err := r.startCmd(s, cmd); err != nil {
				r.t.Fatalf("cycle %d: Start: %v", i, err)
			}
			r.record(cmd.Process.Pid)
		}
		if i%25 == 0 {
			if _, err := s.Sub(r.ctx(), contain.Options{}); err != nil {
				r.t.Fatalf("cycle %d: sub's Sub: %v", i, err)
			}
		}
		if err := s.Close(r.ctx()); err != nil {
			r.t.Fatalf("cycle %d: Close: %v", i, err)
		}
		if cmd != nil {
			if err := cmd.Wait(); !killedBy(err, os.Kill) {
				r.t.Errorf("cycle %d: child's Wait = %v, want killed", i, err)
			}
		}
	}
	// Warm up what is opened once (a watchdog, a reaper) with and
	// without KillOnOwnerDeath.
	cycle(0)
	cycle(1)
	fds, fdErr := openDescriptors()
	const n = 200
	for i := 2; i < n+2; i++ {
		cycle(i)
	}
	r.wantPids("parent after the cycles", p, own.pid)
	if fdErr == nil {
		if after, _ := openDescriptors(); after != fds {
			r.t.Errorf("open descriptors: %d before %d Sub cycles, %d after", fds, n, after)
		}
	}
	r.aliveNow("the parent's own member", own.pid)
}
