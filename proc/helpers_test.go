package proc_test

import (
	"context"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

const patience = testchild.Patience

// script is a Cmd running the test binary as a ModeScript child.
func script(ops ...string) *proc.Cmd { return child(testchild.ModeScript, ops...) }

// child is a Cmd running the test binary in a helper mode.
func child(mode string, args ...string) *proc.Cmd {
	c := proc.Command(testchild.Exe(), args...)
	for _, kv := range testchild.EnvVars(mode) {
		c = c.SetEnv(kv[0], kv[1])
	}
	return c
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// forEachBackend runs f once per backend usable on this host, each in a
// subtest named after the mechanism.
func forEachBackend(t *testing.T, f func(t *testing.T, b contain.Backend)) {
	t.Helper()
	r := host.Inspect()
	ran := 0
	for _, b := range backends() {
		for _, a := range r.Backends {
			if a.Mechanism == b.Mechanism() && a.Usable {
				ran++
				t.Run(string(b.Mechanism()), func(t *testing.T) { f(t, b) })
			}
		}
	}
	if ran == 0 {
		t.Fatal("no backend usable on this host")
	}
}
