//go:build windows

package jobobject

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
