//go:build linux

package proc_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/proc"
)

// BenchmarkOwnerDeath is the cost of the owner-death watchdog per run:
// spawn + wait of /bin/true, captured, once with the default (the tree
// registered with the watchdog) and once with SurviveOwnerDeath. The
// difference between a backend's two figures is the cost.
func BenchmarkOwnerDeath(b *testing.B) {
	ctx := context.Background()
	b.Run("raw-os-exec", rawTrue)
	for _, be := range backends() {
		for _, watched := range []bool{true, false} {
			name := string(be.Mechanism())
			c := proc.Command("/bin/true").Backend(be)
			if !watched {
				name += "-unwatched"
				c = c.SurviveOwnerDeath()
			}
			b.Run(name, func(b *testing.B) {
				skipUnusable(b, be)
				for b.Loop() {
					if r, err := c.Output(ctx); err != nil || !r.Success() {
						b.Fatal(err, r)
					}
				}
			})
		}
	}
}

// BenchmarkGroupRun is a run through a long-lived group (a nested
// container per run) next to raw os/exec, watched and unwatched.
func BenchmarkGroupRun(b *testing.B) {
	ctx := context.Background()
	b.Run("raw-os-exec", rawTrue)
	for _, be := range backends() {
		for _, watched := range []bool{true, false} {
			name := string(be.Mechanism())
			if !watched {
				name += "-unwatched"
			}
			b.Run(name, func(b *testing.B) {
				skipUnusable(b, be)
				g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: be, SurviveOwnerDeath: !watched})
				if err != nil {
					b.Fatal(err)
				}
				defer g.Close(ctx)
				c := proc.Command("/bin/true").Runner(g)
				for b.Loop() {
					if r, err := c.Output(ctx); err != nil || !r.Success() {
						b.Fatal(err, r)
					}
				}
			})
		}
	}
}

// BenchmarkGroupLifecycle is NewGroup + Close of an empty group, watched
// and unwatched: the per-group cost of owner death.
func BenchmarkGroupLifecycle(b *testing.B) {
	ctx := context.Background()
	for _, be := range backends() {
		for _, watched := range []bool{true, false} {
			name := string(be.Mechanism())
			if !watched {
				name += "-unwatched"
			}
			b.Run(name, func(b *testing.B) {
				skipUnusable(b, be)
				for b.Loop() {
					g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: be, SurviveOwnerDeath: !watched})
					if err != nil {
						b.Fatal(err)
					}
					if err := g.Close(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func skipUnusable(b *testing.B, be contain.Backend) {
	b.Helper()
	if a := be.Availability(); !a.Usable {
		b.Skipf("%s not usable here: %s", be.Mechanism(), a.Reason)
	}
}

// rawTrue is the raw os/exec baseline: spawn + wait of /bin/true, captured.
func rawTrue(b *testing.B) {
	for b.Loop() {
		if _, err := exec.Command("/bin/true").Output(); err != nil {
			b.Fatal(err)
		}
	}
}
