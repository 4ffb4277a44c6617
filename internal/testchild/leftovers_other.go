//go:build !linux

package testchild

// leftovers has no process table to scan off Linux; the backends' own
// tests check their trees one by one instead.
func leftovers() []string { return nil }

// killCgroupsOf has no cgroups to kill off Linux.
func killCgroupsOf(int) []string { return nil }

// TetherCgroups lists no cgroup off Linux, which has none.
func TetherCgroups() []string { return nil }
