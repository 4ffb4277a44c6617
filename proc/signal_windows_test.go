//go:build windows

package proc_test

import "os"

func graceSignal() os.Signal { return os.Interrupt }
