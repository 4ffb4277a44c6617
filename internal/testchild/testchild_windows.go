//go:build windows

package testchild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// EscapeRoles are the ways a grandchild tries to leave its parent's
// group here. On Windows a process cannot leave its job by itself; the
// nearest analogue of setsid is a grandchild started detached from the
// console in a new process group, which is what "detached" is.
var EscapeRoles = []string{"detached"}

// EscapeAtStart starts the "detached" grandchild with DETACHED_PROCESS and
// CREATE_NEW_PROCESS_GROUP.
func EscapeAtStart(cmd *exec.Cmd, role string) {
	if role == "detached" {
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP}
	}
}

// Escape checks role: the detachment is done at creation, by
// EscapeAtStart.
func Escape(how string) error {
	if how != "detached" {
		return fmt.Errorf("unknown escape %q", how)
	}
	return nil
}

// TermSignal is the nearest Windows has to a graceful stop request.
var TermSignal os.Signal = os.Interrupt

// escapeRole is the nearest Windows has to leaving a process group: being
// created detached in a new one. It happens at creation, so there is
// nothing for the grandchild to report.
const (
	escapeRole    = "detached"
	escapesItself = false
)

// ids reports -1 for what Windows does not have.
func ids() string { return fmt.Sprintf("-1 -1 -1 %d", os.Getpid()) }

// killGroup is unix only: Windows has no kill(0).
func killGroup(int) error { return errors.New("no process groups to signal on Windows") }

// isolate puts a helper in a console process group of its own.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}
