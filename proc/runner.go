package proc

import (
	"context"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
)

// Runner is the seam between a Cmd and whatever runs it, as
// http.RoundTripper is for net/http: production code takes a Runner (or a
// Cmd carrying one), and tests swap in a double from proctest.
//
// Output runs the command to completion; Start starts it and returns a
// handle. A runner that cannot do one of them returns an error matching
// ErrUnsupported.
type Runner interface {
	Output(ctx context.Context, c *Cmd) (*Result, error)
	Start(ctx context.Context, c *Cmd) (*RunningProcess, error)
}

// containedRunner gives every run a fresh container.
type containedRunner struct {
	backend contain.Backend // nil: the host's default
}

var defaultRunner Runner = containedRunner{}

// DefaultRunner returns the runner a Cmd uses unless told otherwise: every
// run gets a fresh container from the host's default backend
// (host.Default: cgroupv2 or pgid on Linux, jobobject on Windows, pgid on
// macOS and the BSDs).
func DefaultRunner() Runner { return defaultRunner }

// NewRunner returns a runner whose every run gets a fresh container from
// b. An explicitly chosen backend never falls back: if b is not usable
// here, every run fails with an error matching contain.ErrNotUsable and
// the reason. A nil b means the host's default.
func NewRunner(b contain.Backend) Runner { return containedRunner{backend: b} }

func (r containedRunner) backendFor() contain.Backend {
	if r.backend != nil {
		return r.backend
	}
	return host.Default().Backend
}

// Output runs c in a fresh container and returns once the tree is dead.
func (r containedRunner) Output(ctx context.Context, c *Cmd) (*Result, error) {
	p, err := start(ctx, c, r.backendFor(), false)
	if err != nil {
		return nil, err
	}
	rep := p.report()
	return rep.result, rep.err
}

// Start starts c in a fresh container.
func (r containedRunner) Start(ctx context.Context, c *Cmd) (*RunningProcess, error) {
	return start(ctx, c, r.backendFor(), true)
}

func (c *Cmd) runnerOrDefault() Runner {
	if c.runner != nil {
		return c.runner
	}
	return defaultRunner
}
