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
	if a := be.Probe(); !a.Usable {
		b.Skipf("cgroup v2 not usable here: %s", a.Reason)
	}
	ctx := context.Background()
	for b.Loop() {
		c, err := be.New(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(truePath)
		if err := c.PrepareCmd(cmd); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Run(); err != nil {
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
	if a := be.Probe(); !a.Usable {
		b.Skipf("cgroup v2 not usable here: %s", a.Reason)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		c, err := be.New(ctx, contain.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & sleep 60 & wait")
		_ = c.PrepareCmd(cmd)
		if err := cmd.Start(); err != nil {
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
