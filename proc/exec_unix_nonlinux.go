//go:build unix && !linux

package proc

// The unix set (exec_unix.go) on the systems other than Linux: macOS,
// the BSDs, and whatever else builds with the unix tag (Solaris, AIX).
// Cmd.ParentDeathSignal is Linux's PR_SET_PDEATHSIG, so it is refused
// here.

import "syscall"

// pdeathsigSupported: only Linux has PR_SET_PDEATHSIG.
const pdeathsigSupported = false

func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}

// maxSignal is the highest signal number accepted here: the classic
// signals every BSD and macOS has.
const maxSignal = 31

// fionread is FIONREAD, _IOR('f', 127, int), the same on macOS and the
// BSDs (x/sys/unix does not export it).
const fionread = 0x4004667f
