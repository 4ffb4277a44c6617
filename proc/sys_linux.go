//go:build linux

package proc

import "syscall"

const pdeathsigSupported = true

func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }
