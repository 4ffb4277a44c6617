package spawngate_test

import (
	"testing"
	"time"

	"github.com/gotether/tether/internal/spawngate"
)

// entered reports whether an Enter on g, started now, gets through within
// d, and returns a function that waits for it and releases it.
func entered(g *spawngate.Gate, d time.Duration) (bool, func()) {
	done := make(chan func(), 1)
	go func() { g.Enter(); done <- g.Leave }()
	select {
	case leave := <-done:
		return true, leave
	case <-time.After(d):
		return false, func() { (<-done)() }
	}
}

// An Enter into a nested gate waits while any enclosing gate is locked,
// at every depth, and a Lock waits for the Enters in flight below it.
func TestEnterTakesEveryEnclosingGate(t *testing.T) {
	var parent, sub, subsub spawngate.Gate
	sub.Nest(&parent)
	subsub.Nest(&sub)

	parent.Lock()
	ok, release := entered(&subsub, 50*time.Millisecond)
	if ok {
		t.Fatal("Enter of a sub's sub got through while the outermost gate was locked")
	}
	parent.Unlock()
	release()

	subsub.Enter()
	locked := make(chan struct{})
	go func() { sub.Lock(); close(locked) }()
	select {
	case <-locked:
		t.Fatal("Lock of an enclosing gate got through while an Enter below it was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	subsub.Leave()
	<-locked
	sub.Unlock()

	// Siblings do not exclude each other.
	var other spawngate.Gate
	other.Nest(&parent)
	other.Lock()
	ok, release = entered(&subsub, 10*time.Second)
	if !ok {
		t.Fatal("Enter waited for a sibling's gate")
	}
	release()
	other.Unlock()
}
