//go:build unix && !linux

package proc

import "syscall"

const pdeathsigSupported = false

func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}
