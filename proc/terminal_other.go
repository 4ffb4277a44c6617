//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package proc

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"runtime"
)

// maxTerminalSide: no limit beyond the type's.
const maxTerminalSide = math.MaxUint16

// terminalSupported refuses a terminal run: the other systems here have
// no pseudo-terminal tether can open.
func terminalSupported(c *Cmd) error {
	return unsupported(c.name, "a terminal (Terminal)", "tether opens no pseudo-terminal on "+runtime.GOOS)
}

var errNoTerminal = errors.New("proc: no pseudo-terminal on this system")

// terminal is never made here.
type terminal = os.File

// The functions below are never reached: validate refuses a terminal
// run first.

func (p *RunningProcess) wireTerminal(*exec.Cmd, *childFiles, bool) error { return errNoTerminal }
func setTerminalSize(*terminal, uint16, uint16) error                     { return errNoTerminal }
