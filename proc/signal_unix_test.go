//go:build unix

package proc_test

import (
	"os"
	"syscall"
)

func graceSignal() os.Signal { return syscall.SIGTERM }
