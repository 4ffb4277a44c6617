// Package spawngate is the spawn gate of a container (see
// contain.Container): a read-write lock that a Start holds shared, in its
// container and in every enclosing one, from its checks until the child
// is placed, and that Freeze (and whatever else stops the tree) holds
// exclusively. A child is then never created in a frozen tree, where it
// would stop before it could exec and hold the thread that forked it in
// the kernel.
//
// Lock order: Enter takes the gates outermost first. Lock takes one gate
// alone. A container's other locks come after its gate, so no holder of
// a gate waits for a gate while holding another container lock.
package spawngate

import (
	"errors"
	"sync"

	"github.com/gotether/tether/contain"
)

// Gate is one container's spawn gate. The zero value is a gate with no
// enclosing one; a sub's gate is nested with Nest before the sub is used.
type Gate struct {
	mu     sync.RWMutex
	parent *Gate
}

// Nest makes parent the enclosing gate of g: Enter on g takes parent's
// too. It must be called before g is used, and never again.
func (g *Gate) Nest(parent *Gate) { g.parent = parent }

// Enter takes g and every enclosing gate shared, outermost first. It
// waits while any of them is held exclusively. Leave releases them.
// (No closure is returned: a Start enters once per run, and a returned
// release function cost two allocations each time.)
func (g *Gate) Enter() {
	if g.parent != nil {
		g.parent.Enter()
	}
	g.mu.RLock()
}

// Leave releases what Enter took: g, then its enclosing gates. The
// nesting never changes after Nest, so it is the same chain.
func (g *Gate) Leave() {
	g.mu.RUnlock()
	if g.parent != nil {
		g.parent.Leave()
	}
}

// Lock takes g exclusively: it waits for the Enters in flight through g
// (into its container or any nested one) and keeps new ones out until
// Unlock.
func (g *Gate) Lock() { g.mu.Lock() }

// Unlock releases g.
func (g *Gate) Unlock() { g.mu.Unlock() }

// Freeze is a container's Freeze under its gate, as contain.Container
// has it: g is held exclusively while freeze runs, so the Starts in
// flight end first and none begins. If freeze fails, rollback resumes
// whatever it stopped, still under g, and freeze's error is returned;
// not when the container was killed or closed (contain.ErrClosed), which
// leaves nothing to resume. On success record marks the container
// frozen, still under g, so no Start can look before it has.
func (g *Gate) Freeze(freeze func() error, rollback, record func()) error {
	g.Lock()
	defer g.Unlock()
	if err := freeze(); err != nil {
		if !errors.Is(err, contain.ErrClosed) {
			rollback()
		}
		return err
	}
	record()
	return nil
}
