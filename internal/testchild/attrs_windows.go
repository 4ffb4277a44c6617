//go:build windows

package testchild

import "golang.org/x/sys/windows"

// readAttrs reads the priority class: Windows has no nice value, umask,
// rlimits or OOM score.
func readAttrs(r *Report) {
	c, err := windows.GetPriorityClass(windows.CurrentProcess())
	if err != nil {
		r.Err = err.Error()
		return
	}
	r.PriorityClass = c
}
