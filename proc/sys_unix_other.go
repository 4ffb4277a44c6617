//go:build unix && !linux

package proc

import "syscall"

const pdeathsigSupported = false

func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}

// maxSignal is the highest signal number accepted here: the classic
// signals every BSD and macOS has.
const maxSignal = 31
