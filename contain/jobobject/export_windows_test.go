//go:build windows

package jobobject

import "github.com/gotether/tether/contain"

// Hooks for the external tests.
var (
	UnderWine = underWine
	CPURate   = cpuRate
)

const WineLimitsReason = wineLimits

// SetPidListInitial shrinks the first process-list buffer, so a test can
// force the ERROR_MORE_DATA path, and returns the restore function.
func SetPidListInitial(n int) (restore func()) {
	old := pidListInitial
	pidListInitial = n
	return func() { pidListInitial = old }
}

// OpenSubs counts the subs of c (a container from this backend) whose
// Close has not run yet: the parent's list that a sub's Close must leave.
func OpenSubs(c contain.Container) int {
	p := c.(*container)
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// SetHookCreated makes Start call f between creating the suspended child
// and placing it, and returns the restore function.
func SetHookCreated(f func()) (restore func()) {
	testHookCreated = f
	return func() { testHookCreated = nil }
}
