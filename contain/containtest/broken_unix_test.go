//go:build unix

package containtest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/containtest"
	"github.com/gotether/tether/contain/pgid"
)

// brokenEnv names, in a re-executed test binary, the broken backend
// that TestSuiteCatchesBrokenBackends runs the suite against.
const brokenEnv = "CONTAINTEST_BROKEN"

// breakage is one way a backend can break the contract: a wrapper of
// pgid's containers, the subtests that must fail for it, and a -test.run
// filter for the part of the suite that holds them.
type breakage struct {
	name   string
	run    string // the suite's groups to run, a -test.run element
	fails  []string
	broken func(inner contain.Container) contain.Container
}

var breakages = []breakage{
	{
		name:  "SubNotListed",
		run:   "^Sub$",
		fails: []string{"Sub/MembersAreTheParents", "Sub/SubOfSub"},
		broken: func(c contain.Container) contain.Container {
			return &unlistedSubs{Container: c}
		},
	},
	{
		name:  "StartIgnoresFreeze",
		run:   "^Freeze$",
		fails: []string{"Freeze/StartFailsWithErrFrozen"},
		broken: func(c contain.Container) contain.Container {
			return &wrapped{Container: c, start: func(inner contain.Container, cmd *exec.Cmd) error {
				if err := inner.Start(cmd); !errors.Is(err, contain.ErrFrozen) {
					return err
				}
				return nil // as if it had started
			}}
		},
	},
	{
		name:  "CloseNotIdempotent",
		run:   "^Close$",
		fails: []string{"Close/IdempotentAndConcurrent"},
		broken: func(c contain.Container) contain.Container {
			var once sync.Once
			return &wrapped{Container: c, close: func(inner contain.Container, ctx context.Context) error {
				first := false
				once.Do(func() { first = true })
				if !first {
					return errors.New("already closed")
				}
				return inner.Close(ctx)
			}}
		},
	},
	{
		name:  "AdoptOfNothing",
		run:   "^Adopt$",
		fails: []string{"Adopt/NoSuchProcess"},
		broken: func(c contain.Container) contain.Container {
			return &wrapped{Container: c, adopt: func(inner contain.Container, pid int) error {
				if err := inner.Adopt(pid); !errors.Is(err, contain.ErrNoSuchProcess) {
					return err
				}
				return nil // as if it had adopted it
			}}
		},
	},
	{
		name:  "KillNotTerminal",
		run:   "^Kill$",
		fails: []string{"Kill/IsTerminal"},
		broken: func(c contain.Container) contain.Container {
			return &wrapped{Container: c, start: func(inner contain.Container, cmd *exec.Cmd) error {
				if err := inner.Start(cmd); !errors.Is(err, contain.ErrClosed) {
					return err
				}
				return cmd.Start() // outside, as a container that forgot it was killed
			}}
		},
	},
}

// TestSuiteCatchesBrokenBackends runs the suite against pgid with one
// method broken at a time, in a re-executed test binary, and checks that
// the subtests meant to catch it fail (and that the suite as a whole
// does): proof that those subtests can fail.
func TestSuiteCatchesBrokenBackends(t *testing.T) {
	if name := os.Getenv(brokenEnv); name != "" {
		for _, b := range breakages {
			if b.name == name {
				t.Run(b.name, func(t *testing.T) {
					containtest.TestBackend(t, brokenBackend{Backend: pgid.New(), b: b}, containtest.Options{})
				})
				return
			}
		}
		t.Fatalf("no breakage %q", name)
	}
	if a := pgid.New().Availability(); !a.Usable {
		t.Skipf("pgid, which the broken backends wrap, is not usable here: %s", a.Reason)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) {
			cmd := exec.Command(exe, "-test.run=^TestSuiteCatchesBrokenBackends$/^"+b.name+"$/"+b.run, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+b.name)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if err == nil {
				t.Fatalf("the suite passed a backend whose %s:\n%s", b.name, text)
			}
			for _, sub := range b.fails {
				if !strings.Contains(text, "--- FAIL: TestSuiteCatchesBrokenBackends/"+b.name+"/"+sub+" ") {
					t.Errorf("the subtest %s did not fail for %s:\n%s", sub, b.name, text)
				}
			}
		})
	}
}

// brokenBackend is pgid with its containers wrapped by a breakage.
type brokenBackend struct {
	contain.Backend
	b breakage
}

func (bb brokenBackend) NewContainer(ctx context.Context, o contain.Options) (contain.Container, error) {
	c, err := bb.Backend.NewContainer(ctx, o)
	if err != nil {
		return nil, err
	}
	return bb.b.broken(c), nil
}

// wrapped overrides the methods it has a function for.
type wrapped struct {
	contain.Container
	start func(inner contain.Container, cmd *exec.Cmd) error
	close func(inner contain.Container, ctx context.Context) error
	adopt func(inner contain.Container, pid int) error
}

func (w *wrapped) Start(cmd *exec.Cmd) error {
	if w.start != nil {
		return w.start(w.Container, cmd)
	}
	return w.Container.Start(cmd)
}

func (w *wrapped) Close(ctx context.Context) error {
	if w.close != nil {
		return w.close(w.Container, ctx)
	}
	return w.Container.Close(ctx)
}

func (w *wrapped) Adopt(pid int) error {
	if w.adopt != nil {
		return w.adopt(w.Container, pid)
	}
	return w.Container.Adopt(pid)
}

func (w *wrapped) Sub(ctx context.Context, o contain.Options) (contain.Container, error) {
	s, err := w.Container.Sub(ctx, o)
	if err != nil {
		return nil, err
	}
	return &wrapped{Container: s, start: w.start, close: w.close, adopt: w.adopt}, nil
}

// unlistedSubs leaves its subs' members out of Pids.
type unlistedSubs struct {
	contain.Container
	mu   sync.Mutex
	subs []contain.Container
}

func (u *unlistedSubs) Sub(ctx context.Context, o contain.Options) (contain.Container, error) {
	s, err := u.Container.Sub(ctx, o)
	if err != nil {
		return nil, err
	}
	ws := &unlistedSubs{Container: s}
	u.mu.Lock()
	u.subs = append(u.subs, ws)
	u.mu.Unlock()
	return ws, nil
}

func (u *unlistedSubs) Pids() ([]int, error) {
	all, err := u.Container.Pids()
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	subs := slices.Clone(u.subs)
	u.mu.Unlock()
	for _, s := range subs {
		theirs, _ := s.(*unlistedSubs).Container.Pids()
		all = slices.DeleteFunc(all, func(p int) bool { return slices.Contains(theirs, p) })
	}
	return all, nil
}
