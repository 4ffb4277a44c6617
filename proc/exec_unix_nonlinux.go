//go:build unix && !linux

package proc

import "syscall"

const pdeathsigSupported = false

func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}

// maxSignal is the highest signal number accepted here: the classic
// signals every BSD and macOS has.
const maxSignal = 31

// fionread is FIONREAD, _IOR('f', 127, int), the same on macOS and the
// BSDs (x/sys/unix does not export it).
const fionread = 0x4004667f
