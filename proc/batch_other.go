//go:build !windows

package proc

import "os/exec"

// batchCommandLine does nothing off Windows: only Windows runs a program
// (a .bat or .cmd file) through a shell behind the caller's back.
func batchCommandLine(string, *exec.Cmd) error { return nil }
