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
