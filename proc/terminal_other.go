//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proc

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// terminalSupported refuses a terminal run: on Windows it would need a
// pseudo console (ConPTY), which tether does not implement yet; the
// other systems here have no pseudo-terminal tether can open.
func terminalSupported(program string) error {
	if runtime.GOOS == "windows" {
		return unsupported(program, "a terminal (Terminal)", "Windows pseudo consoles (ConPTY) are not implemented yet")
	}
	return unsupported(program, "a terminal (Terminal)", "tether opens no pseudo-terminal on "+runtime.GOOS)
}

var errNoTerminal = errors.New("proc: no pseudo-terminal on this system")

// The functions below are never reached: validate refuses a terminal
// run first.

func openTerminal(uint16, uint16) (master, slave *os.File, err error) { return nil, nil, errNoTerminal }
func dupNonblock(*os.File) (*os.File, error)                          { return nil, errNoTerminal }
func setTerminalSize(*os.File, uint16, uint16) error                  { return errNoTerminal }
func controlTerminal(*exec.Cmd)                                       {}
