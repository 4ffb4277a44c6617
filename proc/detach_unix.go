//go:build unix

package proc

import (
	"os/exec"
)

// startDetached starts cmd in a session of its own.
func startDetached(cmd *exec.Cmd) error {
	// sysSpec.apply always sets a SysProcAttr on unix.
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setpgid = false
	return cmd.Start()
}
