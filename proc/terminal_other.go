//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proc

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// terminalSupported refuses a terminal run. On Windows it would need a
// pseudo console (ConPTY: CreatePseudoConsole, which x/sys/windows has),
// attached at process creation through an attribute list
// (PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE) that os/exec's SysProcAttr
// cannot carry (it has only the parent process and the handle list): the
// child would have to be created by tether's own CreateProcess and
// adopted into its Job Object while suspended, outside the exec.Cmd every
// run is built on. Not implemented yet. The other systems here have no
// pseudo-terminal tether can open.
func terminalSupported(program string) error {
	if runtime.GOOS == "windows" {
		return unsupported(program, "a terminal (Terminal)", "Windows pseudo consoles (ConPTY) are not implemented yet: os/exec cannot attach one to a child")
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
