//go:build unix

package testchild

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// treeRoles are the grandchildren ModeTree starts, besides the child.
var treeRoles = []string{"grandchild", "setsid", "setpgid"}

func escape(how string) error {
	switch how {
	case "setsid":
		_, err := unix.Setsid()
		return err
	case "setpgid":
		return unix.Setpgid(0, 0)
	}
	return fmt.Errorf("unknown escape %q", how)
}

// escapeAtStart does nothing on unix: the escapees leave the group
// themselves, by calling setsid or setpgid.
func escapeAtStart(*exec.Cmd, string) {}

// termSignal is what a graceful stop sends.
var termSignal os.Signal = syscall.SIGTERM

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
