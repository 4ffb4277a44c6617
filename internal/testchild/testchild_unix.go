//go:build unix

package testchild

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// EscapeRoles are the ways a grandchild tries to leave its parent's
// process group here: by calling setsid, or setpgid (Escape). A backend
// whose Availability says ContainsSetsid holds both; any other loses them.
var EscapeRoles = []string{"setsid", "setpgid"}

// Escape makes the calling process leave its process group as role says:
// "setsid" or "setpgid".
func Escape(how string) error {
	switch how {
	case "setsid":
		_, err := unix.Setsid()
		return err
	case "setpgid":
		return unix.Setpgid(0, 0)
	}
	return fmt.Errorf("unknown escape %q", how)
}

// EscapeAtStart does nothing on unix: the escapees leave the group
// themselves, by calling setsid or setpgid (Escape).
func EscapeAtStart(*exec.Cmd, string) {}

// TermSignal is what a graceful stop sends.
var TermSignal os.Signal = syscall.SIGTERM

// escapeRole is how a grandchild leaves its group here, and
// escapesItself says the grandchild does it (and can report it) rather
// than being created outside.
const (
	escapeRole    = "setsid"
	escapesItself = true
)

// ids reports the process's uid, gid, session id and pid.
func ids() string {
	sid, _ := unix.Getsid(0)
	return fmt.Sprintf("%d %d %d %d", os.Getuid(), os.Getgid(), sid, os.Getpid())
}

// killGroup sends sig to the caller's own process group (kill(0, sig)).
func killGroup(sig int) error { return unix.Kill(0, syscall.Signal(sig)) }

// isolate puts a helper in a process group of its own, so that nothing
// it sends to its group reaches the test process.
func isolate(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
