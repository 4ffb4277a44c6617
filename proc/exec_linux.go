//go:build linux

package proc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const pdeathsigSupported = true

func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }

// maxSignal is the highest signal number Linux has (real-time signals
// run up to 64).
const maxSignal = 64

const fionread = unix.TIOCINQ
