//go:build linux

package cgroupv2

import (
	"context"
	"os/exec"
	"testing"

	"github.com/gotether/tether/contain"
)

// BenchmarkSpawn compares one short run in a fresh cgroup (create, clone3
// into it, wait, kill-confirm, remove) with raw os/exec, in the same
// process. Report the ratio of the two ns/op.
func BenchmarkSpawn(b *testing.B) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true(1) on PATH")
	}
	b.Run("raw-os-exec", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command(truePath).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, watched := range []bool{false, true} {
		name := "cgroupv2"
		if watched {
			name += "-kill-on-owner-death"
		}
		b.Run(name, func(b *testing.B) { benchSpawn(b, truePath, contain.Options{KillOnOwnerDeath: watched}) })
	}
}

// benchSpawn is one short run in a fresh cgroup created with opts.
func benchSpawn(b *testing.B, truePath string, opts contain.Options) {
	be := New()
	if a := be.Availability(); !a.Usable {
		b.Skipf("cgroup v2 not usable here: %s", a.Reason)
	}
	ctx := context.Background()
	for b.Loop() {
		c, err := be.NewContainer(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(truePath)
		if err := c.Start(cmd); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKillTree measures kill-and-confirm of a running tree.
func BenchmarkKillTree(b *testing.B) {
	be := New()
	if a := be.Availability(); !a.Usable {
		b.Skipf("cgroup v2 not usable here: %s", a.Reason)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		c, err := be.NewContainer(ctx, contain.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & sleep 60 & wait")
		if err := c.Start(cmd); err != nil {
			b.Fatal(err)
		}
		for {
			if p, _ := c.Pids(); len(p) == 4 {
				break
			}
		}
		b.StartTimer()
		if err := c.Kill(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = cmd.Wait()
		_ = c.Close(ctx)
		b.StartTimer()
	}
}

// BenchmarkSubCycle measures Sub and Close of an empty sub: mkdir, the
// O_PATH descriptor, the kill check, rmdir and leaving the parent's list.
// "with-sibling-subs" keeps 100 other subs open in the same parent, as a
// long-lived group would.
func BenchmarkSubCycle(b *testing.B) {
	be := New()
	if a := be.Availability(); !a.Usable {
		b.Skipf("cgroup v2 not usable here: %s", a.Reason)
	}
	for _, siblings := range []int{0, 100} {
		name := "alone"
		if siblings > 0 {
			name = "with-sibling-subs"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			p, err := be.NewContainer(ctx, contain.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = p.Close(ctx) }()
			for range siblings {
				if _, err := p.Sub(ctx, contain.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				s, err := p.Sub(ctx, contain.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSubKillTree measures kill-and-confirm of a running 4-process
// tree in a sub, with a sibling sub running too ("sub"), and of the parent
// over three such subs, 12 processes ("parent-of-3-subs").
func BenchmarkSubKillTree(b *testing.B) {
	be := New()
	if a := be.Availability(); !a.Usable {
		b.Skipf("cgroup v2 not usable here: %s", a.Reason)
	}
	ctx := context.Background()
	spawn := func(b *testing.B, c contain.Container) *exec.Cmd {
		cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & sleep 60 & wait")
		if err := c.Start(cmd); err != nil {
			b.Fatal(err)
		}
		return cmd
	}
	settle := func(c contain.Container, n int) {
		for {
			if p, _ := c.Pids(); len(p) == n {
				return
			}
		}
	}
	b.Run("sub", func(b *testing.B) {
		p, err := be.NewContainer(ctx, contain.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = p.Close(ctx) }()
		sibling, err := p.Sub(ctx, contain.Options{})
		if err != nil {
			b.Fatal(err)
		}
		sib := spawn(b, sibling)
		defer func() { _ = sibling.Kill(ctx); _ = sib.Wait() }()
		settle(sibling, 4)
		for b.Loop() {
			b.StopTimer()
			s, err := p.Sub(ctx, contain.Options{})
			if err != nil {
				b.Fatal(err)
			}
			cmd := spawn(b, s)
			settle(s, 4)
			b.StartTimer()
			if err := s.Kill(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = cmd.Wait()
			_ = s.Close(ctx)
			b.StartTimer()
		}
	})
	b.Run("parent-of-3-subs", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			p, err := be.NewContainer(ctx, contain.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var cmds []*exec.Cmd
			for range 3 {
				s, err := p.Sub(ctx, contain.Options{})
				if err != nil {
					b.Fatal(err)
				}
				cmds = append(cmds, spawn(b, s))
			}
			settle(p, 12)
			b.StartTimer()
			if err := p.Kill(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, cmd := range cmds {
				_ = cmd.Wait()
			}
			_ = p.Close(ctx)
			b.StartTimer()
		}
	})
}
