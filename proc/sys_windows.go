//go:build windows

package proc

import (
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// envAllowsLeadingEquals: cmd.exe keeps per-drive directories in
// variables named like "=C:".
const envAllowsLeadingEquals = true

// envKeyEqual: Windows environment names are case-insensitive.
func envKeyEqual(a, b string) bool { return strings.EqualFold(a, b) }

func (s sysSpec) apply(program string, cmd *exec.Cmd) error {
	switch {
	case s.setsid:
		return unsupported(program, "setsid", "Windows has no sessions in the POSIX sense")
	case s.cred != nil:
		return unsupported(program, "uid/gid credentials", "Windows has no uid or gid; run under another token instead")
	case s.foreground != nil:
		return unsupported(program, "a terminal's foreground", "Windows consoles have no foreground process group")
	case s.pdeathsig != 0:
		return unsupported(program, "parent-death signal", "only Linux has PR_SET_PDEATHSIG; the job object kills the tree when its owner dies")
	}
	attr := &syscall.SysProcAttr{CreationFlags: s.winFlags}
	if s.hideWindow {
		attr.HideWindow = true
		attr.CreationFlags |= windows.CREATE_NO_WINDOW
	}
	cmd.SysProcAttr = attr
	return nil
}

// checkGrace refuses a graceful signal: Windows has none to send.
func checkGrace(program string, sig os.Signal) error {
	if sig == os.Kill {
		return nil
	}
	return unsupported(program, "graceful termination with "+sig.String(), "Windows has no signals; the tree is killed at the deadline instead")
}

// signalName gives shell-style names, as on unix, so a Result reads the
// same on every OS ("SIGKILL" for a tree tether killed).
func signalName(sig os.Signal) string {
	switch sig {
	case os.Kill:
		return "SIGKILL"
	case os.Interrupt:
		return "SIGINT"
	}
	return sig.String()
}

func exitStatus(ps *os.ProcessState) (code int, signal string) { return ps.ExitCode(), "" }
