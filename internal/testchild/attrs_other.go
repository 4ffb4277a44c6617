//go:build !linux && !windows

package testchild

// readAttrs reads nothing but argv[0] here: tether gives no other
// attribute on these systems.
func readAttrs(*Report) {}
