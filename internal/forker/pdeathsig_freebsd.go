//go:build freebsd

package forker

import "syscall"

// threadBound is false: FreeBSD sends the parent-death signal when the
// parent process exits (procctl PROC_PDEATHSIG_CTL), whichever thread
// forked the child.
func threadBound(*syscall.SysProcAttr) bool { return false }

func pdeathsig(attr *syscall.SysProcAttr) syscall.Signal { return attr.Pdeathsig }

func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) bool {
	attr.Pdeathsig = sig
	return true
}

// Supported reports whether this system has a parent-death signal.
const Supported = true
