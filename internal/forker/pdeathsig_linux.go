//go:build linux

package forker

import "syscall"

// threadBound: on Linux the parent-death signal follows the thread that
// forked the child.
func threadBound(attr *syscall.SysProcAttr) bool { return attr != nil && attr.Pdeathsig != 0 }

func pdeathsig(attr *syscall.SysProcAttr) syscall.Signal { return attr.Pdeathsig }

func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) bool {
	attr.Pdeathsig = sig
	return true
}

// Supported reports whether this system has a parent-death signal.
const Supported = true
