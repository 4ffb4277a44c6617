//go:build !linux && !freebsd

package forker

import "syscall"

// This system has no parent-death signal (macOS, the other BSDs,
// Windows): nothing to set, nothing bound to a thread.

func threadBound(*syscall.SysProcAttr) bool { return false }

func pdeathsig(*syscall.SysProcAttr) syscall.Signal { return 0 }

func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) bool { return false }

// Supported reports whether this system has a parent-death signal.
const Supported = false
