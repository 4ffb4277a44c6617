//go:build !linux

package testchild

// ModeNS exists on Linux only.
const ModeNS = "ns"

func runNS([]string) int { return 2 }
