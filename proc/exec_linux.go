//go:build linux

package proc

// Linux's refinements of the unix set (exec_unix.go): a parent-death
// signal, 64 signals, and TIOCINQ for the bytes queued in a pipe.

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pdeathsigSupported: Linux has PR_SET_PDEATHSIG.
const pdeathsigSupported = true

func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }

// maxSignal is the highest signal number Linux has (real-time signals
// run up to 64).
const maxSignal = 64

// fionread asks how many bytes a pipe holds (TIOCINQ is FIONREAD).
const fionread = unix.TIOCINQ
