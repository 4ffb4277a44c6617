package containtest

import (
	"os"

	"github.com/gotether/tether/contain"
)

// testDescriptors: whole container lifecycles (NewContainer, Start, Adopt,
// subs to two levels, Pids, Stats, Freeze and Thaw where supported, Close
// with a sub never closed) give back every descriptor they opened. Only
// where this process's descriptors can be counted (/proc/self/fd).
func testDescriptors(r *run) {
	if _, err := openDescriptors(); err != nil {
		r.t.Skipf("this process's descriptors cannot be counted here: %v", err)
	}
	lifecycle := func() {
		c, err := r.b.NewContainer(r.ctx(), contain.Options{KillOnOwnerDeath: true})
		if err != nil {
			r.t.Fatalf("NewContainer: %v", err)
		}
		var started []*child
		startIn := func(c contain.Container) {
			cmd := command(modeSleep)
			if err := r.startCmd(c, cmd); err != nil {
				r.t.Fatalf("Start: %v", err)
			}
			r.record(cmd.Process.Pid)
			started = append(started, &child{cmd: cmd, pid: cmd.Process.Pid, wait: cmd.Wait})
		}
		startIn(c)
		o := command(modeSleep)
		if err := o.Start(); err != nil {
			r.t.Fatal(err)
		}
		r.record(o.Process.Pid)
		started = append(started, &child{cmd: o, pid: o.Process.Pid, wait: o.Wait})
		if err := c.Adopt(o.Process.Pid); err != nil {
			_ = o.Process.Kill()
			r.t.Fatalf("Adopt: %v", err)
		}
		s, err := c.Sub(r.ctx(), contain.Options{})
		if err != nil {
			r.t.Fatalf("Sub: %v", err)
		}
		startIn(s)
		ss, err := s.Sub(r.ctx(), contain.Options{})
		if err != nil {
			r.t.Fatalf("sub's Sub: %v", err)
		}
		startIn(ss)
		closed, err := c.Sub(r.ctx(), contain.Options{})
		if err != nil {
			r.t.Fatalf("Sub: %v", err)
		}
		startIn(closed)
		if err := closed.Close(r.ctx()); err != nil {
			r.t.Fatalf("sub Close: %v", err)
		}
		if _, err := c.Pids(); err != nil {
			r.t.Fatalf("Pids: %v", err)
		}
		if _, err := c.Stats(); err != nil {
			r.t.Fatalf("Stats: %v", err)
		}
		if r.freeze {
			if err := c.Freeze(r.ctx()); err != nil {
				r.t.Fatalf("Freeze: %v", err)
			}
			if err := c.Thaw(r.ctx()); err != nil {
				r.t.Fatalf("Thaw: %v", err)
			}
		}
		if err := c.Close(r.ctx()); err != nil {
			r.t.Fatalf("Close: %v", err)
		}
		for _, ch := range started {
			if err := ch.wait(); !killedBy(err, os.Kill) {
				r.t.Errorf("child %d: Wait = %v, want killed", ch.pid, err)
			}
		}
	}
	lifecycle() // warms up what is opened once and kept
	before, _ := openDescriptors()
	for range 5 {
		lifecycle()
	}
	if after, _ := openDescriptors(); after != before {
		r.t.Errorf("open descriptors: %d before five container lifecycles, %d after", before, after)
	}
}
